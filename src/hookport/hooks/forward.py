"""``forward``: re-send a stored delivery to another URL, safely.

A forward runs as a handler of the stored event (one handler per destination), so it is
retried with the event's backoff, a destination that already took the event is not sent it
again, and a slow destination only ever holds a worker slot, never the answer to the sender.

Safety, because a forward is a request the *server* makes on a sender's behalf:

- destinations are ``http``/``https`` only; redirects are not followed (a 3xx is a failure);
- the host is resolved before each send and every address it resolves to must be public
  unless ``[hooks] forward_allow`` lists it (a CIDR, an address or the host name): loopback,
  private, link-local, shared, reserved and multicast ranges are refused. The request is then
  sent *to the address that was checked* (the name kept in ``Host`` and TLS SNI), so a DNS
  answer that changes between the check and the connection cannot redirect it;
- one timeout bounds the whole exchange, and at most ``_MAX_RESPONSE`` bytes of the answer are
  read; the environment's proxy settings are ignored (a proxy would bypass the address check).

Log lines and errors name the destination by scheme, host and path only: query strings and
``set-headers`` often carry tokens.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from hookport.errors import ConfigError, HookportError
from hookport.events import Event
from hookport.verify.standard import hmac_key, sign_headers

__all__ = ["DestinationPolicy", "ForwardError", "ForwardTarget", "send_forward"]

_MAX_RESPONSE = 64 * 1024
"""The most of a destination's answer that is read (for the error message when it fails)."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ForwardError(HookportError):
    """A forward did not reach its destination, or the destination refused it."""


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """Which destination addresses a forward may reach: public ones, plus ``allow``.

    ``allow`` entries are CIDRs (``10.0.0.0/8``), addresses (``127.0.0.1``) or host names
    (``internal.example``: every address that name resolves to is allowed).
    """

    networks: tuple[IPNetwork, ...] = ()
    names: frozenset[str] = frozenset()

    @classmethod
    def from_entries(
        cls, entries: Iterable[str], where: str = "[hooks] forward_allow"
    ) -> DestinationPolicy:
        """Parse an allow list; ``ConfigError`` naming ``where`` for an entry that is neither."""
        networks: list[IPNetwork] = []
        names: set[str] = set()
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                raise ConfigError(f"{where}: an empty entry")
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if "/" in entry or not _hostname_ok(entry):
                    raise ConfigError(
                        f"{where}: {raw!r} is not a CIDR, an address or a host name"
                    ) from None
                names.add(entry)
        return cls(tuple(networks), frozenset(names))

    def extended(self, other: DestinationPolicy) -> DestinationPolicy:
        """This policy allowing ``other``'s entries as well."""
        return DestinationPolicy((*self.networks, *other.networks), self.names | other.names)

    def refusal(self, host: str, address: IPAddress) -> str | None:
        """Why ``address`` (which ``host`` resolved to) may not be reached, or None."""
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if host.lower().rstrip(".") in self.names:
            return None
        if any(address in net for net in self.networks):
            return None
        if address.is_global and not address.is_multicast:
            return None
        literal = host.strip("[]") == str(address)
        what = f"{address} is" if literal else f"{host} resolves to {address},"
        return (
            f"{what} a non-public address; list it in the forward's allow (or [hooks] "
            "forward_allow) to forward there"
        )

    def literal_refusal(self, host: str) -> str | None:
        """What can be refused without resolving: an address literal, or ``localhost``."""
        bare = host.strip("[]")
        try:
            return self.refusal(host, ipaddress.ip_address(bare))
        except ValueError:
            pass
        name = host.lower().rstrip(".")
        if (name == "localhost" or name.endswith(".localhost")) and name not in self.names:
            loopback = ipaddress.ip_address("127.0.0.1")
            if not any(loopback in net for net in self.networks):
                return f"{host} is loopback; list it in the forward's allow to forward there"
        return None


def _hostname_ok(name: str) -> bool:
    labels = name.split(".")
    return all(label and len(label) < 64 for label in labels) and all(
        c.isalnum() or c in "-_." for c in name
    )


@dataclass(frozen=True, slots=True)
class ForwardTarget:
    """One destination of a hook's ``forward``.

    ``headers``: the original headers copied (by name); ``set_headers``: headers added (their
    ``${VAR}`` references already expanded); ``sign_secret``: a Standard Webhooks ``whsec_``
    secret to sign the forward with (the ``webhook-id`` is the event's, stable over retries).
    """

    url: str
    headers: tuple[str, ...] = ("content-type",)
    set_headers: Mapping[str, str] = field(default_factory=dict)
    sign_secret: str | None = None
    method: str | None = None
    timeout: float = 10.0

    @property
    def shown(self) -> str:
        """The destination for logs and errors: no query string, no credentials."""
        url = httpx.URL(self.url)
        port = f":{url.port}" if url.port else ""
        host = f"[{url.host}]" if ":" in url.host else url.host
        return f"{url.scheme}://{host}{port}{url.path}"

    def check(self, policy: DestinationPolicy) -> None:
        """What is wrong with the destination before any send: ``ConfigError``."""
        try:
            url = httpx.URL(self.url)
        except httpx.InvalidURL as exc:
            raise ConfigError(f"forward url is not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigError(f"forward url {self.shown!r} must be http:// or https:// with a host")
        refusal = policy.literal_refusal(url.host)
        if refusal:
            raise ConfigError(f"forward to {self.shown} refused: {refusal}")
        if self.sign_secret is not None:
            hmac_key(self.sign_secret)  # a secret that is not whsec_/base64 fails here


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ForwardError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    return list(dict.fromkeys(found))


async def pick_address(url: httpx.URL, policy: DestinationPolicy) -> IPAddress:
    """The address to connect to: every address the host resolves to must be allowed (one
    refused address refuses the destination: the resolver may return it next time)."""
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = await _resolve(url.host, port)
    if not addresses:
        raise ForwardError(f"{url.host} resolves to no address")
    for address in addresses:
        refusal = policy.refusal(url.host, address)
        if refusal:
            raise ForwardError(f"forward refused: {refusal}")
    return addresses[0]


def _outgoing_headers(target: ForwardTarget, event: Event, host: str) -> dict[str, str]:
    wanted = {name.lower() for name in target.headers}
    out: dict[str, str] = {}
    for name, value in event.headers:
        if name.lower() in wanted and name.lower() not in out:
            out[name.lower()] = value
    out.update({k.lower(): v for k, v in target.set_headers.items()})
    out["host"] = host
    out.setdefault("user-agent", "hookport-forward")
    out["x-hookport-event-id"] = event.id
    if target.sign_secret is not None:
        signed = sign_headers(
            event.body, time.time(), key=hmac_key(target.sign_secret), private=None,
            msg_id=f"msg_{event.id}",
        )  # fmt: skip
        out.update(signed)
    return out


async def send_forward(
    target: ForwardTarget,
    event: Event,
    policy: DestinationPolicy,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> int:
    """Send ``event`` to ``target``; its status when 2xx, else ``ForwardError`` saying why."""
    url = httpx.URL(target.url)
    address = await pick_address(url, policy)
    host = url.netloc.decode("ascii")
    headers = _outgoing_headers(target, event, host)
    extensions: dict[str, Any] = {}
    if url.scheme == "https":
        extensions["sni_hostname"] = url.host
    request_url = url.copy_with(host=str(address))
    method = target.method or event.method or "POST"
    try:
        async with asyncio.timeout(target.timeout):
            return await _exchange(
                target, method, request_url, headers, event.body, extensions, transport
            )
    except TimeoutError:
        raise ForwardError(f"{target.shown}: no answer within {target.timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise ForwardError(f"{target.shown}: {type(exc).__name__}: {exc}") from None


async def _exchange(
    target: ForwardTarget,
    method: str,
    url: httpx.URL,
    headers: dict[str, str],
    body: bytes,
    extensions: dict[str, Any],
    transport: httpx.AsyncBaseTransport | None,
) -> int:
    async with httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(target.timeout),
        transport=transport,
    ) as client:
        request = client.build_request(
            method, url, headers=headers, content=body, extensions=extensions
        )
        response = await client.send(request, stream=True)
        try:
            snippet = await _bounded_body(response)
        finally:
            await response.aclose()
    status = response.status_code
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise ForwardError(f"{target.shown}: answered {status}, a redirect (not followed)")
    text = snippet.decode("utf-8", "replace").strip()[:200]
    raise ForwardError(f"{target.shown}: answered {status}" + (f": {text}" if text else ""))


async def _bounded_body(response: httpx.Response) -> bytes:
    if response.is_stream_consumed:  # a response built from bytes (test transports)
        return response.content[:_MAX_RESPONSE]
    data = bytearray()
    async for chunk in response.aiter_raw():
        data.extend(chunk[: _MAX_RESPONSE - len(data)])
        if len(data) >= _MAX_RESPONSE:
            break
    return bytes(data)
