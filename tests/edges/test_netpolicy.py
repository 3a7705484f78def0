"""Tests of the address policy and of the policy-checking network backend."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence

import httpcore
import pytest

from feedwatch.edges.http import netpolicy
from feedwatch.edges.http.netpolicy import (
    AddressPolicy,
    AddressRefusedError,
    NameResolutionError,
    PolicyNetworkBackend,
    classify_address,
    resolve,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


REFUSED = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "10.0.0.1": "private",
    "10.255.255.255": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",  # cloud metadata
    "169.254.0.1": "link-local",
    "100.64.0.1": "shared (carrier-grade NAT)",
    "100.127.255.254": "shared (carrier-grade NAT)",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "255.255.255.255": "reserved",
    "240.0.0.1": "reserved",
    "192.0.2.10": "documentation",
    "198.18.0.1": "benchmarking",
    "::1": "loopback",
    "::": "unspecified",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "fe80::1": "link-local",
    "febf::1": "link-local",
    "fec0::1": "private",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:10.1.2.3": "private",
    "::ffff:169.254.169.254": "link-local",
    "::10.0.0.1": "reserved",  # IPv4-compatible (deprecated)
    "64:ff9b::a00:1": "private",  # NAT64 of 10.0.0.1
    "2002:a00:1::1": "private",  # 6to4 of 10.0.0.1
    "2002:7f00:1::1": "loopback",  # 6to4 of 127.0.0.1
    "2001:db8::1": "documentation",
    "2001::1": "reserved",  # Teredo
    "100::1": "reserved",
    "4000::1": "reserved",  # outside 2000::/3
}

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "145.97.39.155",
    "172.15.255.255",  # just below 172.16/12
    "172.32.0.1",  # just above it
    "100.63.255.255",  # just below 100.64/10
    "100.128.0.1",
    "11.0.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of a public address
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize(("address", "reason"), sorted(REFUSED.items()))
def test_non_public_addresses_are_refused_by_default(address: str, reason: str) -> None:
    assert classify_address(ipaddress.ip_address(address)) == reason
    policy = AddressPolicy()
    assert not policy.is_allowed(address)
    assert policy.refusal(address) in (f"a {reason} address", f"an {reason} address")


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert classify_address(ipaddress.ip_address(address)) is None
    assert AddressPolicy().is_allowed(address)
    assert AddressPolicy().is_allowed(ipaddress.ip_address(address))


def test_scoped_link_local_is_refused() -> None:
    assert not AddressPolicy().is_allowed("fe80::1%lo")


@pytest.mark.parametrize("address", sorted(REFUSED))
def test_allow_private_allows_everything(address: str) -> None:
    assert AddressPolicy(allow_private=True).is_allowed(address)


def test_allow_list_allows_only_its_networks() -> None:
    policy = AddressPolicy.from_setting(["127.0.0.1/32", "10.1.2.0/24", "fd00::/8"])
    assert policy.is_allowed("127.0.0.1")
    assert policy.is_allowed("::ffff:127.0.0.1")  # the mapped form of a listed address
    assert policy.is_allowed("10.1.2.200")
    assert policy.is_allowed("fd12::5")
    assert policy.is_allowed("8.8.8.8")  # public stays allowed
    for other in ("127.0.0.2", "10.1.3.1", "192.168.0.1", "169.254.169.254", "::1", "fc00::1"):
        assert not policy.is_allowed(other), other


def test_from_setting_forms() -> None:
    assert AddressPolicy.from_setting(True) == AddressPolicy(allow_private=True)
    assert AddressPolicy.from_setting(False) == AddressPolicy()
    assert AddressPolicy.from_setting(None) == AddressPolicy()
    bare = AddressPolicy.from_setting(["192.168.5.5", "::1"])
    assert bare.allowed == (
        ipaddress.ip_network("192.168.5.5/32"),
        ipaddress.ip_network("::1/128"),
    )
    assert AddressPolicy.from_setting("10.9.0.0/16").allowed == (
        ipaddress.ip_network("10.9.0.0/16"),
    )
    assert AddressPolicy.from_setting(["10.1.2.3/24"]).allowed == (
        ipaddress.ip_network("10.1.2.0/24"),
    )
    with pytest.raises(ValueError, match="not-an-address"):
        AddressPolicy.from_setting(["not-an-address"])
    with pytest.raises(ValueError, match="42"):
        AddressPolicy.from_setting([42])  # type: ignore[list-item]


def test_refusal_message_names_host_address_and_setting() -> None:
    err = AddressRefusedError("example.org", "10.0.0.1", "a private address")
    assert str(err) == (
        "refused: example.org resolves to 10.0.0.1, a private address "
        "(set network.allow_private to allow)"
    )
    literal = AddressRefusedError("127.0.0.1", "127.0.0.1", "a loopback address")
    assert str(literal).startswith("refused: 127.0.0.1 is a loopback address")


class _RecordingBackend(httpcore.AsyncNetworkBackend):
    """Records connect attempts and refuses them all, so nothing real is opened."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append(host)
        raise httpcore.ConnectError(f"test: no connection to {host}")


def _resolver(answer: Sequence[str]) -> netpolicy.Resolver:
    async def fake(host: str, port: int) -> Sequence[str]:
        return answer

    return fake


@pytest.mark.anyio
async def test_backend_refuses_before_connecting() -> None:
    inner = _RecordingBackend()
    backend = PolicyNetworkBackend(
        AddressPolicy(), inner=inner, resolver=_resolver(["10.0.0.1", "169.254.169.254"])
    )
    with pytest.raises(AddressRefusedError) as info:
        await backend.connect_tcp("feeds.example.test", 80, timeout=1)
    assert "feeds.example.test resolves to 10.0.0.1, a private address" in str(info.value)
    assert inner.attempts == []


@pytest.mark.anyio
async def test_backend_connects_only_to_allowed_addresses_in_order() -> None:
    inner = _RecordingBackend()
    policy = AddressPolicy.from_setting(["192.168.7.0/24"])
    backend = PolicyNetworkBackend(
        policy, inner=inner, resolver=_resolver(["10.0.0.1", "192.168.7.2", "8.8.8.8"])
    )
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("mixed.example.test", 80, timeout=1)
    assert inner.attempts == ["192.168.7.2", "8.8.8.8"]


@pytest.mark.anyio
async def test_backend_checks_ip_literals_without_resolving() -> None:
    async def no_dns(host: str, port: int) -> Sequence[str]:
        raise AssertionError("an IP literal must not be resolved")

    inner = _RecordingBackend()
    backend = PolicyNetworkBackend(AddressPolicy(), inner=inner, resolver=no_dns)
    with pytest.raises(AddressRefusedError, match="127.0.0.2 is a loopback address"):
        await backend.connect_tcp("127.0.0.2", 80)
    with pytest.raises(AddressRefusedError, match="::1 is a loopback address"):
        await backend.connect_tcp("::1", 80)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("8.8.4.4", 80)
    assert inner.attempts == ["8.8.4.4"]


@pytest.mark.anyio
async def test_resolve_reads_hosts_file_and_short_circuits_invalid() -> None:
    assert "127.0.0.1" in await resolve("localhost", 80)
    with pytest.raises(NameResolutionError, match="never resolves"):
        await resolve("feeds.example.invalid", 80)


@pytest.mark.anyio
async def test_resolve_turns_gaierror_into_name_resolution_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def failing(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(netpolicy.anyio, "getaddrinfo", failing)
    with pytest.raises(NameResolutionError) as info:
        await resolve("nowhere.example.test", 80)
    assert str(info.value) == "cannot resolve host nowhere.example.test: Name or service not known"
