"""From the characters a scanner sent to an ``evt/scan`` payload.

The hub's barcode parser (``hub.identify.barcode.parse``) reads AIM identifiers itself, so ``code`` keeps the AIM
prefix exactly as scanned; ``symbology`` repeats the AIM id (ISO/IEC 15424, e.g. ``]E0``) for display.
FNC1 separators must reach the hub as GS (0x1D): a scanner set to send a printable substitute (``|``, ``^]``…,
because Ctrl+] is lost by many keyboard stacks) has it turned back into GS here — only in GS1 symbologies
(or when there is no AIM id), never in plain Code 128 / QR data where ``|`` is a real character.
"""

from __future__ import annotations

import re

GS = "\x1d"
AIM_RE = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
GS1_AIMS = {"]C1", "]e0", "]e1", "]e2", "]d2", "]Q3", "]J1"}


class ScanError(ValueError):
    pass


def to_scan_event(raw: str, *, gs_substitute: str | None = None, strip_chars: str = "\r\n") -> dict:
    code = raw.strip(strip_chars)
    if not code:
        raise ScanError("empty scan")
    if any(ord(c) < 0x20 and c != GS for c in code):
        raise ScanError(f"control characters in scan {code!r}")
    m = AIM_RE.match(code)
    aim = m.group(0) if m else None
    if gs_substitute and (aim is None or aim in GS1_AIMS):
        body = code[3:] if aim else code
        code = (aim or "") + body.replace(gs_substitute, GS)
    if aim and len(code) == 3:
        raise ScanError(f"scan {raw!r} holds an AIM id but no data")
    if len(code) > 512:
        raise ScanError(f"scan too long ({len(code)} characters)")
    out = {"code": code}
    if aim:
        out["symbology"] = aim
    return out
