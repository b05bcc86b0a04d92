"""Store certificates: pure decisions (no files, no clock of their own) — which names a certificate may carry,
when the hub's certificate must be renewed, which language the enrolment page speaks.

The store CA is installed as a trusted root on every handheld, so whoever holds its key could impersonate any
site to those phones. The CA is therefore name-constrained (RFC 5280 §4.2.1.10) to what a store LAN uses:
mDNS and private-use DNS suffixes and private address ranges. Browsers (Chromium, Safari, Android's Conscrypt)
enforce the constraints for user-installed roots too, so a stolen hub cannot be used to intercept a phone's
banking app. A name outside them is left out of the hub certificate and reported by ``storehub pki status``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from hub.kernel.errors import ValidationError

# Long-lived: replacing the CA means enrolling every handheld again.
CA_VALIDITY = timedelta(days=20 * 365)
# Apple refuses TLS server certificates valid for more than 825 days even under a user-installed root, and
# Chromium warns above 398; 397 days is accepted everywhere.
HUB_VALIDITY = timedelta(days=397)
# Renewed a month before it expires, so a hub that was off for a few weeks still renews before handhelds refuse it.
RENEW_BEFORE = timedelta(days=30)
# Issued a little in the past so a handheld whose clock runs a few minutes slow accepts a fresh certificate.
BACKDATE = timedelta(hours=1)

# DNS suffixes the CA may certify: mDNS, the common router suffixes and the RFC 8375 / ICANN private-use names.
PERMITTED_DNS_SUFFIXES: tuple[str, ...] = ("local", "lan", "internal", "home.arpa", "localhost")
# Address ranges the CA may certify: private (RFC 1918), shared (RFC 6598), loopback, IPv6 ULA, link-local, ::1.
PERMITTED_NETWORKS: tuple[str, ...] = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def clean_name(name: str) -> str:
    """A name as a certificate carries it: an IP address in its canonical form, or a lower-case DNS name."""
    text = name.strip().rstrip(".").lower()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    if not text or len(text) > 253 or not all(_LABEL.match(label) for label in text.split(".")):
        raise ValidationError(f"{name!r} is not a host name or IP address", code="invalid_name", details={"name": name})
    return text


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def permitted_dns(extra: Iterable[str] = ()) -> list[str]:
    """The DNS subtrees of a new CA: the LAN suffixes plus the names the store configured when it was created
    (a single-label host name or a corporate DNS name outside the suffixes is permitted exactly)."""
    out = list(PERMITTED_DNS_SUFFIXES)
    for name in extra:
        if not is_ip(name) and not covered_by(name, out):
            out.append(name)
    return out


def covered_by(name: str, dns_subtrees: Iterable[str], networks: Iterable[str] = PERMITTED_NETWORKS) -> bool:
    """Whether a name lies within a CA's constraints (a DNS subtree matches itself and every name below it)."""
    if is_ip(name):
        addr = ipaddress.ip_address(name)
        return any(addr in ipaddress.ip_network(n) for n in networks)
    return any(name == s or name.endswith("." + s) for s in dns_subtrees)


def split_by_constraints(names: Iterable[str], dns_subtrees: Iterable[str]) -> tuple[list[str], list[str]]:
    """(names the hub certificate will carry, names it cannot because the CA's constraints exclude them)."""
    subtrees = list(dns_subtrees)
    inside: list[str] = []
    outside: list[str] = []
    for n in names:
        (inside if covered_by(n, subtrees) else outside).append(n)
    return inside, outside


def renewal_reason(current: set[str] | None, not_after: datetime | None, wanted: set[str], now: datetime) -> str | None:
    """Why the hub certificate must be issued again now, or None when it is still good.

    ``missing``: there is none; ``expiring``: within :data:`RENEW_BEFORE` of its end; ``names``: the hub answers to
    a name or address the certificate does not carry, or the certificate still carries one the hub gave up (an
    address a DHCP server may hand to another box)."""
    if current is None or not_after is None:
        return "missing"
    if not_after - now <= RENEW_BEFORE:
        return "expiring"
    if current != wanted:
        return "names"
    return None


def pick_language(accept_language: str | None) -> str:
    """``zh-CN`` or ``en`` for the enrolment page, from the browser's Accept-Language (highest q first)."""
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        lang = "zh-CN" if tag == "zh" or tag.startswith("zh-") else "en" if tag == "en" or tag.startswith("en-") else ""
        if lang and q > 0 and (best is None or q > best[0]):
            best = (q, i, lang)
    return best[2] if best else "en"
