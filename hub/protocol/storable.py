"""Text no store of ours can keep: NUL (U+0000) and unpaired surrogates — the one check of every entry.

SQLite keeps both, but PostgreSQL (the central) can hold neither in text or JSON, and strict UTF-8 encoders
refuse a lone surrogate; so one such value accepted anywhere could stop a store's sync at the central for good.
Every entry refuses it with where it is: the MQTT contract (:mod:`hub.protocol.contract`), the HTTP endpoint
framework (:mod:`hub.http.framework`, every route of hub and central), the catalog CSV import, and the
central's ingest, which refuses such an event on its own. ``json.loads`` combines a valid surrogate pair
(``\\ud83d\\ude00``) into one character, so any surrogate left in a decoded ``str`` is unpaired.

Pure and at the bottom of the layers (no import of the rest of the hub), so devices and the central use it too."""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE_RE = re.compile("[\x00\ud800-\udfff]")


def _escape(text: str) -> str:
    return _UNSTORABLE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _describe(ch: str) -> str:
    return "U+0000 (NUL)" if ch == "\x00" else f"an unpaired surrogate U+{ord(ch):04X}"


def unstorable_text(data: Any, path: str = "") -> str | None:
    """Where in ``data`` (a decoded JSON value) a string or key holds a character no store of ours can keep,
    and which — ``None`` when there is none."""
    if isinstance(data, str):
        m = _UNSTORABLE_RE.search(data)
        return f"{path or '/'}: contains {_describe(m.group())}, which cannot be stored" if m else None
    if isinstance(data, dict):
        for k, v in data.items():
            here = f"{path}/{_escape(k)}"
            m = _UNSTORABLE_RE.search(k)
            if m:
                return f"{here}: key contains {_describe(m.group())}, which cannot be stored"
            found = unstorable_text(v, here)
            if found:
                return found
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found = unstorable_text(v, f"{path}/{i}")
            if found:
                return found
    return None


def scrub_text(text: str) -> str:
    """``text`` with every unstorable character replaced by U+FFFD (for strings kept or forwarded rather than
    refused: a printer's error an agent reports, an event the central keeps in ``rejected_events``)."""
    return _UNSTORABLE_RE.sub("\ufffd", text)
