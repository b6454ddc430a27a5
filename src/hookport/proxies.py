"""The client address: the TCP peer, or the original client when the peer is a trusted proxy."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from hookport.errors import ConfigError
from hookport.types import MultiMapping


def resolve_client(
    peer: str | None, headers: MultiMapping, trusted: Sequence[IPv4Network | IPv6Network]
) -> str | None:
    """The client address: the peer, or, when the peer is a trusted proxy, the first address
    from the right of ``X-Forwarded-For`` (else ``Forwarded: for=``) that is not a trusted proxy.
    """
    if peer is None or not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = _forwarded_for(headers)
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _forwarded_for(headers: MultiMapping) -> list[str]:
    xff = headers.getlist("x-forwarded-for")
    if xff:
        return [h.strip() for line in xff for h in line.split(",") if h.strip()]
    hops: list[str] = []
    for line in headers.getlist("forwarded"):
        for element in line.split(","):
            for pair in element.split(";"):
                key, _, value = pair.strip().partition("=")
                if key.lower() == "for" and value:
                    hops.append(_strip_forwarded(value))
    return hops


def _strip_forwarded(value: str) -> str:
    value = value.strip().strip('"')
    if value.startswith("["):  # [2001:db8::1]:4711
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:  # 192.0.2.1:4711
        return value.split(":", 1)[0]
    return value


def is_trusted(address: str | None, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    """Whether ``address`` (a peer) is one of the ``trusted`` proxy networks."""
    return address is not None and _is_trusted(address, trusted)


def _is_trusted(address: str, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def parse_networks(cidrs: Sequence[str]) -> list[IPv4Network | IPv6Network]:
    """Parse CIDRs (``ConfigError`` on a bad one)."""
    out = []
    for cidr in cidrs:
        try:
            out.append(ip_network(cidr, strict=False))
        except ValueError:
            raise ConfigError(f"invalid network {cidr!r} in trusted_proxies") from None
    return out
