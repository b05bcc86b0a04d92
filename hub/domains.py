"""The hub's domains, in order. Adding a domain is one line here (after ``scripts/new-domain NAME``).

The order is the order of migrations within a number, of routes in the OpenAPI document, of command groups in
``storehub --help``, of handlers for one device event type, of stock-in hooks and of screens on the handheld.
Everything else in the hub reads its domains from :data:`DOMAINS` through the functions below; nothing is
discovered. Importing this module imports each domain package's ``__init__`` (plain data: no Flask, no MQTT), so a
device agent host and the CLI can read it cheaply.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hub.domain import Domain, Fact, Setting, load
from hub.kernel import settings as _store_settings

# One line per domain: the package whose ``__init__`` holds its ``DOMAIN`` declaration.
DOMAIN_PACKAGES: tuple[str, ...] = (
    "hub.kernel",
    "hub.auth",
    "hub.inventory",
    "hub.identify",
    "hub.bus",
    "hub.orders",
    "hub.stocktake",
    "hub.synclink",
    "hub.pki",
    "hub.promotions",
    "hub.checkout",
    "hub.purchasing",
    "hub.members",
    "hub.staff",
    "hub.finance",
)

DOMAINS: tuple[Domain, ...] = tuple(importlib.import_module(p).DOMAIN for p in DOMAIN_PACKAGES)


def _check(domains: tuple[Domain, ...]) -> None:
    """Refuse a list that would make two domains claim one name, fact kind, setting, command or screen."""
    seen: dict[str, dict[str, str]] = {"domain": {}, "fact": {}, "setting": {}, "command": {}, "screen": {}}

    def claim(what: str, key: str, owner: str) -> None:
        if key in seen[what]:
            raise RuntimeError(f"{what} {key!r} is declared by both {seen[what][key]} and {owner}")
        seen[what][key] = owner

    for d in domains:
        claim("domain", d.name, d.package)
        if d.name != d.package.rpartition(".")[2]:
            raise RuntimeError(f"domain {d.name!r} must be declared by the package hub.{d.name}, not {d.package}")
        for f in d.facts:
            claim("fact", f.kind, d.name)
        for s in d.settings:
            claim("setting", s.key, d.name)
        for name, _ref in d.cli:
            claim("command", name, d.name)
        for screen in d.screens:
            claim("screen", screen, d.name)


_check(DOMAINS)


def by_name(name: str) -> Domain:
    for d in DOMAINS:
        if d.name == name:
            return d
    raise KeyError(name)


def route_refs() -> list[str]:
    return [ref for d in DOMAINS for ref in d.routes]


def commands() -> dict[str, str]:
    """``storehub`` command name → ``"module:attribute"`` of the click command."""
    return {name: ref for d in DOMAINS for name, ref in d.cli}


@functools.cache
def handlers() -> dict[str, tuple[Callable[..., None], ...]]:
    """Device event type → the handlers of every domain, in domain order (imported once)."""
    out: dict[str, list[Callable[..., None]]] = {}
    for d in DOMAINS:
        for event_type, ref in d.handlers:
            out.setdefault(event_type, []).append(load(ref))
    return {k: tuple(v) for k, v in out.items()}


@functools.cache
def stock_in_hooks() -> tuple[Callable[..., None], ...]:
    """``hook(conn, movement)`` of every domain, run by the ledger inside the transaction that added stock."""
    return tuple(load(ref) for d in DOMAINS for ref in d.stock_in)


@functools.cache
def stock_out_hooks() -> tuple[Callable[..., None], ...]:
    """``hook(conn, movement)`` of every domain, run by the ledger inside the transaction that took stock off hand."""
    return tuple(load(ref) for d in DOMAINS for ref in d.stock_out)


@functools.cache
def facts() -> dict[str, Fact]:
    return {f.kind: f for d in DOMAINS for f in d.facts}


@functools.cache
def live_kinds() -> frozenset[str]:
    """Fact kinds the handheld's live stream sends (declared ``live=True``)."""
    return frozenset(f.kind for f in facts().values() if f.live)


@functools.cache
def settings() -> dict[str, Setting]:
    return {s.key: s for d in DOMAINS for s in d.settings}


def validate_setting(key: str, value: Any) -> None:
    """Check a setting against its declaration (for a process that validates for hubs, like the central)."""
    _store_settings.validate(key, value)


def migration_dirs() -> list[Path]:
    return [p for d in DOMAINS if (p := d.migrations_dir) is not None]


def demo_refs() -> list[str]:
    return [d.demo for d in DOMAINS if d.demo]


def screens() -> list[str]:
    return [s for d in DOMAINS for s in d.screens]


def describe() -> list[dict[str, Any]]:
    """A summary of every declaration (``storehub domains``, docs)."""
    return [
        {
            "name": d.name,
            "summary": d.summary,
            "package": d.package,
            "routes": list(d.routes),
            "commands": [n for n, _ in d.cli],
            "handlers": [t for t, _ in d.handlers],
            "stock_in": list(d.stock_in),
            "stock_out": list(d.stock_out),
            "facts": [f.kind for f in d.facts],
            "settings": [s.key for s in d.settings],
            "demo": d.demo,
            "migrations": str(d.migrations_dir) if d.migrations else None,
            "screens": list(d.screens),
        }
        for d in DOMAINS
    ]


# Hand every domain's settings to the kernel, which validates each write against them.
_store_settings.declare(settings().values())
