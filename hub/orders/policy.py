"""Configurable order policies, stored in the settings table under ``orders.*``.

Declared (default and schema) in ``hub/orders/__init__.py``; a store overrides any key with ``settings.put``."""

from __future__ import annotations

import sqlite3
from typing import Any

from hub.kernel import settings
from hub.orders import SETTINGS

# The declared defaults (hub/orders/__init__.py): a stored dict is merged over its default.
DEFAULTS: dict[str, Any] = {s.key: s.default for s in SETTINGS}


def get(conn: sqlite3.Connection, key: str) -> Any:
    value = settings.get(conn, key)
    default = DEFAULTS[key]
    if value is None:
        return default
    if isinstance(default, dict) and isinstance(value, dict):
        return {**default, **value}
    return value
