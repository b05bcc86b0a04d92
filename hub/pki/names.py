"""The names the hub answers to on the store LAN: what its certificate must carry.

A handheld reaches the hub by whatever name or address it was given — the ``.local`` mDNS name the hub
advertises (``hub.bus.discovery``), the box's host name, one of its LAN addresses, or a name the store's router
hands out (``storehub init --tls-name hub.store.lan``) — and the browser accepts the certificate only if that
exact name is in it. Loopback names are always included so a browser on the hub box itself works too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import ifaddr

from hub.pki.rules import clean_name

LOOPBACK_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")


def lan_addresses() -> list[str]:
    """This box's addresses a handheld can use: every interface's IPv4 and IPv6 address, less loopback and
    link-local ones (an IPv6 link-local address needs a zone id that no URL carries). Read with ifaddr, the
    interface list the mDNS advertiser (zeroconf) uses too, so the two never disagree."""
    out: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            raw = ip.ip if isinstance(ip.ip, str) else ip.ip[0]  # IPv6 comes as (address, flowinfo, scope)
            addr = ipaddress.ip_address(raw.split("%")[0])
            if addr.is_loopback or addr.is_link_local or addr.is_unspecified:
                continue
            out.append(str(addr))
    return sorted(set(out), key=lambda a: (ipaddress.ip_address(a).version, ipaddress.ip_address(a)))


def host_names(hostname: str | None = None) -> list[str]:
    """The box's host name and the ``.local`` name it advertises over mDNS (``<short host name>.local``)."""
    full = (hostname or socket.gethostname() or "storehub").strip().rstrip(".").lower()
    short = full.split(".")[0]
    names = [short, f"{short}.local"]
    if full != short:
        names.append(full)
    return [clean_name(n) for n in names]


def wanted_names(
    *, extra: Iterable[str] = (), hostname: str | None = None, addresses: Iterable[str] | None = None
) -> list[str]:
    """Every name the hub certificate should carry, in a stable order (host names, extra names, addresses,
    loopback). ``hostname`` and ``addresses`` default to this box's; tests pass their own."""
    addrs = lan_addresses() if addresses is None else [clean_name(a) for a in addresses]
    out: list[str] = []
    for n in [*host_names(hostname), *(clean_name(e) for e in extra), *addrs, *LOOPBACK_NAMES]:
        if n not in out:
            out.append(n)
    return out
