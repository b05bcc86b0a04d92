"""Event handlers: how domains act on device events.

The bus validates an event against the contract, records its id (so it is
applied once), and then calls every handler registered for its type inside the
same write transaction. A domain plugs in by declaring ``handlers=(("tags", "hub.stocktake.bus:on_tags"),)`` in its
``Domain`` record (``handler(conn, event: DeviceEvent) -> None``); the table is built from ``hub.domains``.
``register``/``unregister`` add a handler at run time (tests use them to inject a failing handler).
A handler that finds an event semantically unacceptable raises ``Reject(reason)``:
that event's changes are rolled back and it goes to the dead letters instead.
Handlers take the connection and never commit.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub import domains
from hub.protocol.contract import EVENT_TYPES

log = logging.getLogger("storehub.bus")


@dataclass(frozen=True)
class DeviceEvent:
    store_id: str
    device_id: str
    type: str
    id: str
    ts: str
    payload: dict[str, Any]
    topic: str
    received_at: str


class Reject(Exception):
    """Raised by a handler: the event breaks a domain rule; it is dead-lettered with this reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


Handler = Callable[[sqlite3.Connection, DeviceEvent], None]

_HANDLERS: dict[str, list[Handler]] = {t: [] for t in EVENT_TYPES}
_LOADED: list[bool] = []


def register(event_type: str, handler: Handler) -> Handler:
    if event_type not in _HANDLERS:
        raise ValueError(f"unknown event type {event_type!r}; the contract has {EVENT_TYPES}")
    if handler not in _HANDLERS[event_type]:
        _HANDLERS[event_type].append(handler)
    return handler


def unregister(event_type: str, handler: Handler) -> None:
    if handler in _HANDLERS.get(event_type, []):
        _HANDLERS[event_type].remove(handler)


def handlers_for(event_type: str) -> list[Handler]:
    return list(_HANDLERS.get(event_type, ()))


def load_declared() -> list[str]:
    """Put every domain's declared handlers in the table (once); returns "type: module.function" lines."""
    if not _LOADED:
        for event_type, fns in domains.handlers().items():
            for fn in fns:
                register(event_type, fn)
        _LOADED.append(True)
    return [f"{t}: {h.__module__}.{h.__name__}" for t, hs in _HANDLERS.items() for h in hs]


def dispatch(conn: sqlite3.Connection, event: DeviceEvent) -> None:
    load_declared()
    for h in _HANDLERS.get(event.type, ()):
        h(conn, event)
