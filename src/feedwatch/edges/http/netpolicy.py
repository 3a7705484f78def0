"""Address policy against SSRF: which resolved IP addresses the fetcher may connect to.

`AddressPolicy` is pure. `PolicyNetworkBackend` is the I/O edge: an httpcore network backend that
resolves the host itself, checks every address against the policy right before connecting (so
redirects and DNS answers are covered, like Miniflux's dialer `Control` hook) and then connects to
the checked IP literal. `PolicyTransport` plugs that backend into httpx.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import anyio
import httpcore
import httpx

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver: TypeAlias = Callable[[str, int], Awaitable[Sequence[str]]]


_N = ipaddress.ip_network

# Non-public ranges, with the word used in the refusal message. Checked in order, first match
# wins, so the more telling name comes first. Listed explicitly instead of trusting only
# `is_global`, whose answers changed between Python patch releases (3.11.7 calls 224.0.0.1,
# fec0::1 and ::10.0.0.1 global).
_REFUSED: tuple[tuple[IPNetwork, str], ...] = (
    (_N("0.0.0.0/8"), "unspecified"),
    (_N("127.0.0.0/8"), "loopback"),
    (_N("10.0.0.0/8"), "private"),
    (_N("172.16.0.0/12"), "private"),
    (_N("192.168.0.0/16"), "private"),
    (_N("100.64.0.0/10"), "shared (carrier-grade NAT)"),
    (_N("169.254.0.0/16"), "link-local"),
    (_N("192.0.0.0/24"), "reserved"),
    (_N("192.0.2.0/24"), "documentation"),
    (_N("198.51.100.0/24"), "documentation"),
    (_N("203.0.113.0/24"), "documentation"),
    (_N("192.88.99.0/24"), "reserved"),
    (_N("198.18.0.0/15"), "benchmarking"),
    (_N("224.0.0.0/4"), "multicast"),
    (_N("240.0.0.0/4"), "reserved"),
    (_N("::/128"), "unspecified"),
    (_N("::1/128"), "loopback"),
    (_N("::/96"), "reserved"),  # IPv4-compatible, deprecated
    (_N("64:ff9b:1::/48"), "private"),  # local-use NAT64
    (_N("100::/64"), "reserved"),  # discard-only
    (_N("2001::/32"), "reserved"),  # Teredo
    (_N("2001:db8::/32"), "documentation"),
    (_N("2001:10::/28"), "reserved"),
    (_N("2001:20::/28"), "reserved"),
    (_N("3fff::/20"), "documentation"),
    (_N("5f00::/16"), "reserved"),  # SRv6 SIDs
    (_N("fc00::/7"), "private"),  # unique local
    (_N("fe80::/10"), "link-local"),
    (_N("fec0::/10"), "private"),  # site-local, deprecated
    (_N("ff00::/8"), "multicast"),
)
_NAT64 = _N("64:ff9b::/96")
_GLOBAL_UNICAST = _N("2000::/3")


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for or tunnels to, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def classify_address(ip: IPAddress) -> str | None:
    """Why an address is not public ("private", "loopback", ...), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "link-local"
        inner = _embedded_v4(ip)
        if inner is not None:
            reason = classify_address(inner)
            if reason is not None or ip.ipv4_mapped is not None or ip in _NAT64:
                return reason  # a public IPv4 address behind a mapping or NAT64 is public
    for network, reason in _REFUSED:
        if ip.version == network.version and ip in network:
            return reason
    if ip.version == 6 and ip not in _GLOBAL_UNICAST:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


def parse_ip(value: str | IPAddress) -> IPAddress:
    """An address from a string (an IPv6 scope like `%eth0` is kept); ValueError if malformed."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return value
    return ipaddress.ip_address(value.strip().strip("[]"))


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Public addresses are always allowed; the rest only with allow_private or an allow-list."""

    allow_private: bool = False
    allowed: tuple[IPNetwork, ...] = ()

    def refusal(self, ip: str | IPAddress) -> str | None:
        """Why `ip` is refused ("a private address"), or None when it may be connected to."""
        if self.allow_private:
            return None
        addr = parse_ip(ip)
        reason = classify_address(addr)
        if reason is None or self._listed(addr):
            return None
        article = "an" if reason[0] in "aeiou" else "a"
        return f"{article} {reason} address"

    def is_allowed(self, ip: str | IPAddress) -> bool:
        """True when the fetcher may connect to `ip`."""
        return self.refusal(ip) is None

    def _listed(self, addr: IPAddress) -> bool:
        if not self.allowed:
            return False
        candidates: list[IPAddress] = [addr]
        if isinstance(addr, ipaddress.IPv6Address):
            if addr.scope_id:
                candidates.append(ipaddress.IPv6Address(str(addr).split("%", 1)[0]))
            if addr.ipv4_mapped is not None:
                candidates.append(addr.ipv4_mapped)
        return any(
            c.version == net.version and c in net for c in candidates for net in self.allowed
        )

    @classmethod
    def from_setting(cls, value: bool | str | Iterable[str] | None) -> AddressPolicy:
        """From `network.allow_private`: a bool, or a list of addresses/networks to allow.

        Raises ValueError (with the offending entry) on anything else; a bare address means
        that one address (/32 or /128); host bits in a network are ignored ("10.1.2.3/24").
        """
        if value is None:
            return cls()
        if isinstance(value, bool):
            return cls(allow_private=value)
        if isinstance(value, str):
            value = [value]
        networks: list[IPNetwork] = []
        for entry in value:
            if not isinstance(entry, str):
                raise ValueError(f"expected an address or network string, got {entry!r}")
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry!r}") from None
        return cls(allowed=tuple(networks))


class AddressRefusedError(Exception):
    """A host resolved only to addresses the policy refuses; nothing was connected to."""

    def __init__(self, host: str, address: str, reason: str):
        self.host = host
        self.address = address
        self.reason = reason
        if host == address:
            what = f"{address} is {reason}"
        else:
            what = f"{host} resolves to {address}, {reason}"
        super().__init__(f"refused: {what} (set network.allow_private to allow)")


class NameResolutionError(Exception):
    """The host name did not resolve."""

    def __init__(self, host: str, detail: str):
        self.host = host
        self.detail = detail
        super().__init__(f"cannot resolve host {host}: {detail}")


async def resolve(host: str, port: int) -> Sequence[str]:
    """The IP addresses of `host`, in the resolver's order, without duplicates.

    Names under `.invalid` fail at once without asking DNS (RFC 6761 section 6.4).
    """
    name = host.rstrip(".").lower()
    if name == "invalid" or name.endswith(".invalid"):
        raise NameResolutionError(host, "the .invalid domain never resolves")
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(host, exc.strerror or str(exc)) from exc
    except UnicodeError as exc:
        raise NameResolutionError(host, "not a valid host name") from exc
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise NameResolutionError(host, "no addresses")
    return addresses


class PolicyNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check against the policy, then connect to a checked IP literal.

    Addresses the policy refuses are skipped; when none is left, AddressRefusedError is raised
    before any socket is opened. The allowed addresses are tried in order. httpcore starts TLS
    afterwards with the request's host name, so SNI and certificate checks are unchanged.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        inner: httpcore.AsyncNetworkBackend | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.policy = policy
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()
        self._resolve = resolver if resolver is not None else resolve

    async def _addresses(self, host: str, port: int) -> Sequence[str]:
        try:
            parse_ip(host)
        except ValueError:
            return await self._resolve(host, port)
        return [host.strip("[]")]  # an IP literal: no lookup needed

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await self._addresses(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took over {timeout} s") from exc
        allowed: list[str] = []
        first_refusal: tuple[str, str] | None = None
        for address in addresses:
            reason = self.policy.refusal(address)
            if reason is None:
                allowed.append(address)
            elif first_refusal is None:
                first_refusal = (address, reason)
        if not allowed:
            assert first_refusal is not None
            raise AddressRefusedError(host, *first_refusal)
        last_error: Exception | None = None
        for address in allowed:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by feedwatch")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PolicyTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool built on PolicyNetworkBackend.

    httpx 0.28 does not pass a `network_backend` through to httpcore, and writing a transport
    from scratch would mean copying its private request/response and exception mapping. So this
    lets httpx build everything, then replaces the one pool it made (`_pool`, the only attribute
    its request and close methods use) with an identically configured
    `httpcore.AsyncConnectionPool` that also has our backend. The SSL context is made once and
    given to both. No proxy support: a proxy would be the only address checked. The type check
    below fails loudly should a future httpx keep its pool elsewhere.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | str | bool = True,
        http1: bool = True,
        http2: bool = False,
        resolver: Resolver | None = None,
    ) -> None:
        limits = limits if limits is not None else httpx.Limits()
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(
            verify=ssl_context, limits=limits, http1=http1, http2=http2, trust_env=False
        )
        if type(getattr(self, "_pool", None)) is not httpcore.AsyncConnectionPool:
            raise RuntimeError("unsupported httpx version: cannot install the address policy")
        self.backend = PolicyNetworkBackend(policy, resolver=resolver)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=http1,
            http2=http2,
            network_backend=self.backend,
        )
