"""Event handlers: how domains act on device events.

The bus validates an event against the contract, records its id (so it is
applied once), and then calls every handler registered for its type inside the
same write transaction. A domain plugs in with::

    from hub.bus.handlers import register
    register("tags", my_tags_handler)        # handler(conn, event: DeviceEvent) -> None

and adds its module to ``HANDLER_MODULES`` so the bus process imports it at start.
A handler that finds an event semantically unacceptable raises ``Reject(reason)``:
that event's changes are rolled back and it goes to the dead letters instead.
Handlers take the connection and never commit.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
from dataclasses import dataclass
from typing import Any, Callable

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

# Modules imported by the bus process at start; each registers its handlers at import time.
HANDLER_MODULES: list[str] = ["hub.bus.builtin", "hub.stocktake.bus"]


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


def load_modules(modules: list[str] | None = None) -> list[str]:
    """Import the handler modules; a module that fails to import is logged, not fatal."""
    loaded = []
    for name in modules if modules is not None else HANDLER_MODULES:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception:
            log.exception("bus: handler module %s failed to import", name)
    return loaded


def dispatch(conn: sqlite3.Connection, event: DeviceEvent) -> None:
    for h in _HANDLERS.get(event.type, ()):
        h(conn, event)
