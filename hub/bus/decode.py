"""``storehub devices decode``: what StoreHub makes of a raw reader or scale payload, for field technicians.

It runs the agents' own code — :mod:`hub.protocol.rfid_formats` (Zebra, Impinj, sllurp dicts), the LLRP codec
and report handling of :mod:`devices.rfid.llrp`, and :mod:`devices.scale.protocols` (framing and reply
parsing) — never a second parser, so what it shows is what the agent would publish:

* RFID → ``{"reads": [...], "heartbeat": {...} | null, "errors": [...]}``: ``reads`` are the ``evt/tags`` reads
  the agent would send (one per EPC × antenna), ``heartbeat`` the health a reader's heartbeats leave
  (``radio``, ``antennas``: port → ``connected``/``disconnected``, ``temperature_c``, ``ts``);
* scale → ``{"kind", "grams", "mg", "net", "stable", "error", "event"}`` of the first complete reply:
  ``grams`` at the resolution the scale reported, ``event`` the ``evt/weight`` fields the agent would publish
  for it (stable weights only).

:func:`decode` returns the result and an exit status: 0 a reading, 1 the device refused or reported an error
(the result says which), 2 input that is not a payload of that format (:class:`BadInput`).
"""

from __future__ import annotations

import binascii
import json
import string
import time
from decimal import Decimal

from devices.rfid import llrp, llrp_codec
from devices.scale import protocols as scale
from hub.protocol import rfid_formats

RFID_FORMATS = ("zebra", "impinj", "llrp")
SCALE_FORMATS = tuple(scale.PROTOCOLS)  # mt-sics, toledo-8217
FORMATS = RFID_FORMATS + SCALE_FORMATS


class BadInput(ValueError):
    """The file is not a payload of the format asked for."""


def decode(fmt: str, data: bytes, *, now_ms: int | None = None) -> tuple[dict, int]:
    """(result, exit status) of one captured payload; ``now_ms`` stamps reads a reader sent without a time
    (the agent stamps them on arrival)."""
    if fmt in SCALE_FORMATS:
        return _scale(scale.PROTOCOLS[fmt], data)
    if fmt in RFID_FORMATS:
        return _rfid(fmt, data, int(time.time() * 1000) if now_ms is None else now_ms)
    raise BadInput(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


# ---------------------------------------------------------------------------------------------------- scale


def _grams(mg: int | None) -> int | float | None:
    if mg is None:
        return None
    g = Decimal(mg) / 1000
    return int(g) if g == g.to_integral_value() else float(g)


def _scale(protocol: scale.ScaleProtocol, data: bytes) -> tuple[dict, int]:
    replies, rest = [], data
    while True:
        reply, rest = scale.frame(protocol, rest)
        if reply is None:
            break
        replies.append(reply)
    if not replies:
        raise BadInput(
            f"no complete {protocol.name} reply in the input (a reply ends with "
            f"{protocol.reply_end!r}{', after STX' if protocol.reply_start else ''}): {data[:60]!r}"
        )
    raw = replies[0]
    if scale.match_reply(protocol, raw) is None:
        raise BadInput(f"not a {protocol.name} reply: {raw!r}")
    r = scale.parse_reply(protocol, raw)
    out = {
        "kind": r.kind,
        "grams": _grams(r.mg),
        "mg": r.mg,
        "net": r.net,
        "stable": r.stable,
        "error": r.error,
        "flags": list(r.flags),
        "raw": raw.decode("latin-1"),
    }
    if r.kind == "weight" and r.mg is not None and r.stable:
        out["event"] = scale.weight_event(r)
    elif r.kind == "tare" and r.mg is not None:
        out["event"] = {"tare_grams": r.grams, "tare_mg": r.mg}  # the cmd/tare result's details
    if len(replies) > 1:
        out["more_replies"] = len(replies) - 1
    return out, 1 if r.error else 0


# ----------------------------------------------------------------------------------------------------- RFID


def _text(data: bytes, fmt: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"a {fmt} payload is UTF-8 JSON text") from None


def _parse_vendor(fmt: str, data: bytes) -> rfid_formats.Parsed:
    """A Zebra or Impinj capture: one payload (object, array, Impinj stream) or, for Zebra, one MQTT message
    per line — each line parsed as the agent parses one message."""
    text = _text(data, fmt)
    if not text.strip():
        raise BadInput(f"empty {fmt} payload")
    if fmt == "zebra":
        try:
            json.loads(text)
        except ValueError:
            lines = [ln for ln in text.splitlines() if ln.strip()]
            if len(lines) > 1:
                merged = rfid_formats.Parsed()
                for ln in lines:
                    p = rfid_formats.parse_zebra(ln)
                    merged.reads += p.reads
                    merged.heartbeats += p.heartbeats
                    merged.errors += p.errors
                    merged.other += p.other
                return merged
    return rfid_formats.parse(fmt, text)


def _parse_llrp(data: bytes, now_ms: int) -> rfid_formats.Parsed:
    """sllurp tag-report dicts as JSON, or LLRP binary frames (raw, or as hex text from a capture)."""
    stripped = data.strip()
    if stripped[:1] in (b"[", b"{"):
        try:
            return rfid_formats.parse_llrp(json.loads(stripped))
        except ValueError as exc:
            raise BadInput(f"llrp: malformed JSON: {exc}") from None
    text = stripped.decode("latin-1")
    if text and all(c in string.hexdigits or c.isspace() for c in text):
        try:
            data = binascii.unhexlify("".join(text.split()))
        except binascii.Error as exc:
            raise BadInput(f"llrp: hex text that is not whole bytes: {exc}") from None
    try:
        messages, rest = llrp_codec.split_messages(data)
    except llrp_codec.LLRPError as exc:
        raise BadInput(f"llrp: not LLRP frames: {exc}") from None
    if not messages:
        raise BadInput("llrp: no complete LLRP message in the input")
    out = rfid_formats.Parsed()
    if rest:
        out.errors.append(f"llrp: {len(rest)} trailing byte(s) are not a complete message")
    for msg_type, _id, body in messages:
        try:
            if msg_type == llrp_codec.RO_ACCESS_REPORT:
                reads, errors = llrp.report_reads(body, now_ms * 1000)
                out.reads += reads
                out.errors += errors
            elif msg_type == llrp_codec.READER_EVENT_NOTIFICATION:
                hb = llrp.event_heartbeat(body, now_ms)
                if hb is None:
                    out.other += 1
                else:
                    out.heartbeats.append(hb)
            else:
                out.other += 1
        except llrp_codec.LLRPError as exc:
            out.errors.append(f"llrp: message type {msg_type}: {exc}")
    return out


def _rfid(fmt: str, data: bytes, now_ms: int) -> tuple[dict, int]:
    parsed = _parse_llrp(data, now_ms) if fmt == "llrp" else _parse_vendor(fmt, data)
    if not parsed.reads and not parsed.heartbeats and not parsed.other and parsed.errors:
        raise BadInput("; ".join(parsed.errors[:3]))
    out = {
        "reads": rfid_formats.aggregate(parsed.reads),
        "heartbeat": rfid_formats.merge_heartbeats(parsed.heartbeats),
        "errors": parsed.errors,
        "raw_reads": len(parsed.reads),
        "other_events": parsed.other,
    }
    return out, 0
