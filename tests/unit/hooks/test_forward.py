"""Forward safety: which addresses a forward may reach, that it connects to the address it
checked, that redirects are not followed, and that answers and waits are bounded."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from hookport.errors import ConfigError
from hookport.events import Event, EventStatus
from hookport.hooks.forward import (
    DestinationPolicy,
    ForwardError,
    ForwardTarget,
    pick_address,
    send_forward,
)

LOOPBACK = DestinationPolicy.from_entries(["127.0.0.0/8", "::1"])


def event(body: bytes = b'{"a": 1}') -> Event:
    return Event(
        id="evt1", kind="receiver", plugin="p", endpoint="hooks:x", type="t", delivery_id=None,
        received_at=0.0, method="POST", path="/hooks/x", query_string="",
        headers=[("Content-Type", "application/json"), ("Stripe-Signature", "t=1,v1=x")],
        body=body, params={}, sender=None, source_ip="203.0.113.9", status=EventStatus.PROCESSING,
    )  # fmt: skip


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.5.5", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    refusal = DestinationPolicy().refusal("target.example", ipaddress.ip_address(address))
    assert refusal is not None and "non-public address" in refusal


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert DestinationPolicy().refusal("target.example", ipaddress.ip_address(address)) is None


def test_listed_networks_and_names_are_allowed() -> None:
    policy = DestinationPolicy.from_entries(["10.0.0.0/8", "billing.internal", "::1"])
    assert policy.refusal("x", ipaddress.ip_address("10.2.3.4")) is None
    assert policy.refusal("x", ipaddress.ip_address("::1")) is None
    assert policy.refusal("Billing.Internal.", ipaddress.ip_address("192.168.0.9")) is None
    assert policy.refusal("x", ipaddress.ip_address("192.168.0.9")) is not None


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "", "bad host!", "a/b"])
def test_bad_allow_entries_are_config_errors(entry: str) -> None:
    with pytest.raises(ConfigError, match="forward_allow"):
        DestinationPolicy.from_entries([entry])


@pytest.mark.anyio
async def test_a_name_is_checked_by_what_it_resolves_to() -> None:
    # "localhost" is not an address literal: it is refused for the addresses it resolves to.
    with pytest.raises(ForwardError, match=r"localhost resolves to (127\.0\.0\.1|::1)"):
        await pick_address(httpx.URL("http://localhost:9/x"), DestinationPolicy())
    assert (await pick_address(httpx.URL("http://localhost:9/x"), LOOPBACK)).is_loopback


@pytest.mark.anyio
async def test_the_request_goes_to_the_checked_address_with_the_name_kept() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    target = ForwardTarget("http://localhost:8123/in?token=abc", headers=("Content-Type",))
    status = await send_forward(target, event(), LOOPBACK, transport=httpx.MockTransport(answer))
    assert status == 204
    (request,) = seen
    assert ipaddress.ip_address(request.url.host).is_loopback  # connected to the address
    assert request.url.port == 8123 and request.url.query == b"token=abc"
    assert request.headers["host"] == "localhost:8123"  # the name the destination expects
    assert request.headers["content-type"] == "application/json"
    assert "stripe-signature" not in request.headers  # only the listed headers are copied
    assert request.headers["x-hookport-event-id"] == "evt1"
    assert request.content == b'{"a": 1}'


@pytest.mark.anyio
async def test_https_keeps_the_name_for_tls() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    target = ForwardTarget("https://localhost/in")
    await send_forward(target, event(), LOOPBACK, transport=httpx.MockTransport(answer))
    assert seen[0].extensions["sni_hostname"] == "localhost"


@pytest.mark.anyio
async def test_errors_bound_the_answer_and_hide_the_query() -> None:
    chunks_read: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for i in range(10_000):  # 640 MB if it were all read
            chunks_read.append(i)
            yield b"x" * 65536

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=endless())

    target = ForwardTarget("http://127.0.0.1:9/in?token=secret-token")
    with pytest.raises(ForwardError) as caught:
        await send_forward(target, event(), LOOPBACK, transport=httpx.MockTransport(answer))
    assert str(caught.value).startswith("http://127.0.0.1:9/in: answered 503: xxx")
    assert "secret-token" not in str(caught.value)
    assert len(chunks_read) <= 2


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@pytest.mark.anyio
async def test_a_silent_destination_times_out(silent_server: int) -> None:
    target = ForwardTarget(f"http://127.0.0.1:{silent_server}/in", timeout=0.3)
    async with asyncio.timeout(10):
        with pytest.raises(ForwardError, match=r"no answer within 0.3s"):
            await send_forward(target, event(), LOOPBACK)


def test_literal_destinations_are_checked_at_start_up() -> None:
    with pytest.raises(ConfigError, match="refused: 192.168.0.1 is a non-public address"):
        ForwardTarget("http://192.168.0.1/x").check(DestinationPolicy())
    with pytest.raises(ConfigError, match="must be http:// or https://"):
        ForwardTarget("file:///etc/passwd").check(DestinationPolicy())
    ForwardTarget("http://127.0.0.1/x").check(LOOPBACK)
