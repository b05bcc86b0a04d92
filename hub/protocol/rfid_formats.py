"""Reader payload adapters: vendor JSON → uniform tag reads.

Every adapter turns what a reader sends into :class:`TagRead` tuples
``(epc, antenna, rssi_dbm, count, first_ms, last_ms)`` — EPC upper-case hex,
RSSI in dBm (``None`` when the reader does not report it), times in epoch
milliseconds — plus :class:`Heartbeat` records and a list of per-item errors.
A malformed item never sinks the rest of a batch; it is returned as an error.

Formats (``/work/shared/reference/protocols.md`` §2):

``zebra``   Zebra IoT Connector: one JSON object per MQTT message, JSON arrays over
            HTTP POST. ``data.idHex``, ``data.antenna``, ``data.peakRssi`` (dBm),
            ``data.reads``, ``timestamp`` with ``+0000``. ``type: heartbeat`` objects
            are heartbeats (management events).
``impinj``  Impinj R700 IoT interface: one object per line (HTTP stream, blank
            keep-alives), arrays (webhook) or one object (MQTT).
            ``tagInventoryEvent.epcHex`` or base64 ``epc``, ``antennaPort``,
            ``peakRssiCdbm`` (centi-dBm), nanosecond timestamps.
``storehub`` our own ``evt/tags`` batches (``hub.protocol.contract``).
``llrp``    sllurp tag-report dicts: ``EPC-96``/``EPC`` bytes, ``AntennaID``,
            ``PeakRSSI``, ``TagSeenCount``, µs timestamps.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

FORMATS = ("zebra", "impinj", "storehub", "llrp")
MAX_ANTENNA = 255


# The functional form on purpose: the field ``count`` shadows ``tuple.count``, which mypy refuses in the class
# form ("base class tuple defined the type as Callable") and ruff's UP014 would bring back; same tuple at runtime.
TagRead = NamedTuple(  # noqa: UP014
    "TagRead",
    [
        ("epc", str),
        ("antenna", int),
        ("rssi", float | None),
        ("count", int),
        ("first_ms", int),
        ("last_ms", int),
    ],
)


class Heartbeat(NamedTuple):
    reader: str | None
    ts_ms: int
    data: dict[str, Any]


@dataclass(slots=True)
class Parsed:
    reads: list[TagRead] = field(default_factory=list)
    heartbeats: list[Heartbeat] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    other: int = 0  # well-formed events that are not tag reads (ignored)


class FormatError(ValueError):
    pass


_TS_CACHE: dict[str, int] = {}
_HEX = set("0123456789ABCDEF")


_SEC_CACHE: dict[str, int] = {}
_ISO_SEC: dict[int, str] = {}


def ts_ms(text: str) -> int:
    """ISO-8601 with Z / +00:00 / +0000 and up to 9 fractional digits → epoch ms."""
    # fast path for the shapes readers send: "YYYY-MM-DDTHH:MM:SS.fff…" + "Z" / "+0000" / "+00:00"
    if isinstance(text, str) and len(text) > 20 and text[19] == "." and text[10] == "T":
        tail = text[20:]
        i = 0
        while i < len(tail) and "0" <= tail[i] <= "9":
            i += 1
        zone = tail[i:]
        if i and zone in ("Z", "+0000", "+00:00", "z"):
            base = _SEC_CACHE.get(text[:19])
            if base is None:
                base = ts_ms(text[:19] + "Z") // 1000
                if len(_SEC_CACHE) > 100_000:
                    _SEC_CACHE.clear()
                _SEC_CACHE[text[:19]] = base
            return base * 1000 + int((tail[: min(i, 3)] + "00")[:3])
    v = _TS_CACHE.get(text)
    if v is not None:
        return v
    if not isinstance(text, str) or len(text) < 19:
        raise FormatError(f"bad timestamp {text!r}")
    s = text.strip()
    if s[-1] in "Zz":
        s = s[:-1] + "+00:00"
    elif len(s) >= 5 and s[-5] in "+-" and s[-4:].isdigit():
        s = s[:-2] + ":" + s[-2:]
    dot = s.find(".", 19)
    if dot != -1:
        end = dot + 1
        while end < len(s) and s[end].isdigit():
            end += 1
        frac = s[dot + 1 : end][:6]
        s = s[:dot] + ("." + frac if frac else "") + s[end:]
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise FormatError(f"bad timestamp {text!r}") from None
    if dt.tzinfo is None:
        raise FormatError(f"timestamp without offset {text!r}")
    v = int(dt.timestamp() * 1000)
    if len(_TS_CACHE) > 50_000:
        _TS_CACHE.clear()
    _TS_CACHE[text] = v
    return v


def ms_iso(ms: int) -> str:
    """Epoch ms → ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (the hub's time format); the second's prefix is cached."""
    sec, frac = divmod(ms, 1000)
    head = _ISO_SEC.get(sec)
    if head is None:
        head = datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        if len(_ISO_SEC) > 100_000:
            _ISO_SEC.clear()
        _ISO_SEC[sec] = head
    return f"{head}.{frac:03d}Z"


def _epc_hex(value: Any) -> str:
    if not isinstance(value, str):
        raise FormatError("EPC is not a string")
    e = value.strip().upper()
    if not e or len(e) % 4 or len(e) > 128 or not _HEX.issuperset(e):
        raise FormatError(f"EPC {value[:40]!r} is not whole 16-bit words of hex")  # Gen2 EPCs are word-aligned
    return e


def _antenna(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ANTENNA:
        raise FormatError(f"antenna {value!r} is not 0..{MAX_ANTENNA}")
    return value


def _rssi(value: Any, scale: float = 1.0) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FormatError(f"RSSI {value!r} is not a number")
    v = value / scale
    if not -128 <= v <= 20:
        raise FormatError(f"RSSI {v} dBm out of range")
    return float(v)


def _count(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise FormatError(f"read count {value!r} is not a positive integer")
    return value


def _load(payload: bytes | str | Any) -> Any:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        payload = bytes(payload).decode("utf-8")
    if isinstance(payload, str):
        return json.loads(payload)
    return payload


# ------------------------------------------------------------------------------------------------ Zebra


def _zebra_one(obj: Any, out: Parsed, reader: str | None) -> None:
    if not isinstance(obj, dict):
        out.errors.append("zebra: event is not an object")
        return
    typ = obj.get("type")
    if isinstance(typ, str) and typ.lower() == "heartbeat":
        try:
            t = ts_ms(obj["timestamp"]) if "timestamp" in obj else 0
        except FormatError as exc:
            out.errors.append(f"zebra heartbeat: {exc}")
            return
        hb_data = obj.get("data")
        out.heartbeats.append(Heartbeat(reader, t, hb_data if isinstance(hb_data, dict) else {}))
        return
    data = obj.get("data")
    if not isinstance(data, dict) or "idHex" not in data:
        out.errors.append("zebra: no data.idHex")
        return
    try:
        fmt = data.get("format")
        if fmt not in (None, "epc"):
            out.other += 1  # a TID or user-memory report, not an EPC
            return
        epc = _epc_hex(data["idHex"])
        seen = ts_ms(obj["timestamp"]) if "timestamp" in obj else None
        if seen is None:
            raise FormatError("no timestamp")
        out.reads.append(
            TagRead(
                epc,
                _antenna(data.get("antenna"), 0),
                _rssi(data.get("peakRssi")),
                _count(data.get("reads")),
                seen,
                seen,
            )
        )
    except (FormatError, KeyError) as exc:
        out.errors.append(f"zebra: {exc}")


def parse_zebra(payload: Any, reader: str | None = None) -> Parsed:
    out = Parsed()
    try:
        data = json.loads(payload) if isinstance(payload, (bytes, str)) else _load(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        out.errors.append(f"zebra: malformed JSON: {exc}"[:200])
        return out
    items = data if isinstance(data, list) else [data]
    append = out.reads.append
    for obj in items:
        # fast path: a well-formed EPC tag event (the overwhelming majority); anything else takes the
        # checked path in _zebra_one, which says what is wrong
        try:
            d = obj["data"]
            epc = d["idHex"].upper()
            ant = d.get("antenna", 0)
            rssi = d.get("peakRssi")
            cnt = d.get("reads", 1)
            fmt = d.get("format")
            if (
                fmt in (None, "epc")
                and len(epc) == 24
                and _HEX.issuperset(epc)
                and type(ant) is int
                and 0 <= ant <= MAX_ANTENNA
                and type(cnt) is int
                and cnt >= 1
                and (rssi is None or (type(rssi) in (int, float) and -128 <= rssi <= 20))
            ):
                t = ts_ms(obj["timestamp"])
                append(TagRead(epc, ant, None if rssi is None else float(rssi), cnt, t, t))
                continue
        except (TypeError, KeyError, AttributeError, FormatError):
            pass
        _zebra_one(obj, out, reader)
    return out


# ------------------------------------------------------------------------------------------------ Impinj


def _impinj_one(obj: Any, out: Parsed) -> None:
    if not isinstance(obj, dict):
        out.errors.append("impinj: event is not an object")
        return
    ev = obj.get("tagInventoryEvent")
    if ev is None:
        out.other += 1  # inventoryStatusEvent, diagnosticEvent, ... not tag reads
        return
    try:
        if not isinstance(ev, dict):
            raise FormatError("tagInventoryEvent is not an object")
        if "epcHex" in ev:
            epc = _epc_hex(ev["epcHex"])
        elif "epc" in ev:
            try:
                raw = base64.b64decode(ev["epc"], validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise FormatError("epc is not base64") from None
            if not raw:
                raise FormatError("empty epc")
            epc = raw.hex().upper()
        else:
            raise FormatError("no epcHex or epc")
        t = ts_ms(obj["timestamp"])
        out.reads.append(
            TagRead(epc, _antenna(ev.get("antennaPort"), 0), _rssi(ev.get("peakRssiCdbm"), 100.0), 1, t, t)
        )
    except (FormatError, KeyError) as exc:
        out.errors.append(f"impinj: {exc}")


def parse_impinj(payload: Any, reader: str | None = None) -> Parsed:
    out = Parsed()
    if isinstance(payload, (bytes, bytearray, str)):
        text = payload.decode("utf-8", "replace") if isinstance(payload, (bytes, bytearray)) else payload
        stripped = text.strip()
        if not stripped:
            return out  # keep-alive
        if stripped[0] == "[" or "\n" not in stripped:
            try:
                data = json.loads(stripped)
            except ValueError as exc:
                out.errors.append(f"impinj: malformed JSON: {exc}"[:200])
                return out
            items = data if isinstance(data, list) else [data]
        else:  # HTTP stream: one object per line
            items = []
            for line in stripped.splitlines():
                if not line.strip():
                    continue
                try:
                    items.append(json.loads(line))
                except ValueError as exc:
                    out.errors.append(f"impinj: malformed JSON line: {exc}"[:200])
    else:
        items = payload if isinstance(payload, list) else [payload]
    for obj in items:
        _impinj_one(obj, out)
    return out


# ------------------------------------------------------------------------------------------------ StoreHub evt/tags


def parse_storehub(payload: Any, reader: str | None = None) -> Parsed:
    """Our ``evt/tags`` event → reads. ``hub.protocol.contract.decode_event`` calls it once, on the payload it has
    just validated (so the bus's ``tags`` handler gets the reads with the event); a read that still cannot be
    used is skipped with its reason in ``errors``."""
    out = Parsed()
    try:
        data = _load(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        out.errors.append(f"storehub: malformed JSON: {exc}"[:200])
        return out
    reads = data.get("reads") if isinstance(data, dict) else None
    if not isinstance(reads, list):
        out.errors.append("storehub: no reads list")
        return out
    for r in reads:
        try:
            if not isinstance(r, dict):
                raise FormatError("read is not an object")
            first = ts_ms(r["first_seen"])
            last = ts_ms(r["last_seen"])
            out.reads.append(
                TagRead(
                    _epc_hex(r["epc"]),
                    _antenna(r.get("antenna"), 0),
                    _rssi(r.get("rssi_dbm")),
                    _count(r.get("count")),
                    min(first, last),
                    max(first, last),
                )
            )
        except (FormatError, KeyError) as exc:
            out.errors.append(f"storehub: {exc}")
    return out


# ------------------------------------------------------------------------------------------------ LLRP (sllurp)


def _llrp_epc(d: dict[str, Any]) -> str:
    raw = d.get("EPC-96", d.get("EPC"))
    if raw is None:
        raise FormatError("no EPC")
    if isinstance(raw, (bytes, bytearray)):
        raw = raw.decode("ascii", "replace")
    return _epc_hex(raw)


def parse_llrp(tags: Iterable[dict[str, Any]], reader: str | None = None) -> Parsed:
    """sllurp's tag report list (``reader.add_tag_report_callback``)."""
    out = Parsed()
    if isinstance(tags, dict):
        tags = [tags]
    if not isinstance(tags, (list, tuple)):
        out.errors.append("llrp: a tag report is a list of dicts")
        return out
    for d in tags:
        try:
            if not isinstance(d, dict):
                raise FormatError("tag report is not a dict")
            first_us = d.get("FirstSeenTimestampUTC")
            last_us = d.get("LastSeenTimestampUTC", first_us)
            if first_us is None:
                raise FormatError("no FirstSeenTimestampUTC (set tag_content_selector)")
            if isinstance(first_us, bool) or not isinstance(first_us, int) or not isinstance(last_us, int):
                raise FormatError("timestamps must be integers (µs)")
            out.reads.append(
                TagRead(
                    _llrp_epc(d),
                    _antenna(d.get("AntennaID"), 0),
                    _rssi(d.get("PeakRSSI")),
                    _count(d.get("TagSeenCount")),
                    first_us // 1000,
                    last_us // 1000,
                )
            )
        except FormatError as exc:
            out.errors.append(f"llrp: {exc}")
    return out


PARSERS = {"zebra": parse_zebra, "impinj": parse_impinj, "storehub": parse_storehub, "llrp": parse_llrp}


def parse(fmt: str, payload: Any, reader: str | None = None) -> Parsed:
    if fmt not in PARSERS:
        raise FormatError(f"unknown reader format {fmt!r}; one of {', '.join(FORMATS)}")
    return PARSERS[fmt](payload, reader)


def detect(obj: Any) -> str | None:
    """Guess the format of one decoded payload (for a bridge listening to mixed topics)."""
    first = obj[0] if isinstance(obj, list) and obj else obj
    if not isinstance(first, dict):
        return None
    if "tagInventoryEvent" in first or ("hostname" in first and "timestamp" in first):
        return "impinj"
    if "reads" in first and isinstance(first.get("reads"), list):
        return "storehub"
    if "EPC-96" in first or "EPC" in first:
        return "llrp"
    if "data" in first or first.get("type"):
        return "zebra"
    return None


# ------------------------------------------------------------------------------------------------ heartbeats

ANTENNA_STATES = ("connected", "disconnected")
_CONNECTED_WORDS = {
    "connected": "connected",
    "true": "connected",
    "1": "connected",
    "on": "connected",
    "disconnected": "disconnected",
    "false": "disconnected",
    "0": "disconnected",
    "off": "disconnected",
    "not connected": "disconnected",
    "notconnected": "disconnected",
}


def _connection_word(value: Any) -> str | None:
    if isinstance(value, bool):
        return "connected" if value else "disconnected"
    if isinstance(value, (str, int)):
        return _CONNECTED_WORDS.get(str(value).strip().lower())
    return None


def heartbeat_health(hb: Heartbeat) -> dict[str, Any]:
    """What a reader's heartbeat says about its health, in the registry's terms: ``radio`` (the reader's radio
    connection, e.g. ``connected``/``disconnected``), ``antennas`` ``{"<port>": "connected"|"disconnected"}``,
    ``temperature_c``, and ``ts`` (the reader's own time, ISO). Fields the heartbeat does not carry are absent.

    Zebra's IoT Connector heartbeat reports ``radioConnection`` and ``antennas`` (port → state) in ``data``
    with ``temperature`` there or under ``system``; an LLRP reader's AntennaEvents arrive as ``antennas``
    (:mod:`devices.rfid.llrp`). An antenna state that is not a connection word is left out rather than
    guessed."""
    d = hb.data if isinstance(hb.data, dict) else {}
    out: dict[str, Any] = {}
    if hb.ts_ms:
        out["ts"] = ms_iso(hb.ts_ms)
    radio = d.get("radioConnection", d.get("radio"))
    if isinstance(radio, (str, bool)):
        word = _connection_word(radio)
        out["radio"] = word or str(radio)[:40]
    ants = d.get("antennas")
    if isinstance(ants, dict):
        states = {}
        for port, state in ants.items():
            word = _connection_word(state)
            if word is not None and str(port).strip().isdigit() and 0 <= int(port) <= MAX_ANTENNA:
                states[str(int(port))] = word
        if states:
            out["antennas"] = dict(sorted(states.items(), key=lambda kv: int(kv[0])))
    system_ = d.get("system")
    system: dict[str, Any] = system_ if isinstance(system_, dict) else {}
    temp = system.get("temperature", d.get("temperature"))
    if isinstance(temp, (int, float)) and not isinstance(temp, bool):
        out["temperature_c"] = temp
    return out


def merge_heartbeats(heartbeats: Iterable[Heartbeat]) -> dict[str, Any] | None:
    """The health a run of heartbeats leaves behind (later ones win; antenna maps merge port by port)."""
    out: dict[str, Any] | None = None
    for hb in heartbeats:
        h = heartbeat_health(hb)
        out = out or {}
        ants = {**out.get("antennas", {}), **h.pop("antennas", {})}
        out.update(h)
        if ants:
            out["antennas"] = dict(sorted(ants.items(), key=lambda kv: int(kv[0])))
    return out


# How far a reader's tag times may be from the clock of the host that receives them before the reader is
# flagged: reports reach the agent within a second or two (an LLRP report every N tags or report_ms).
CLOCK_SKEW_TOLERANCE_MS = 30_000


def clock_skew_ms(reads: Iterable[TagRead], arrived_ms: int, tolerance_ms: int = CLOCK_SKEW_TOLERANCE_MS) -> int | None:
    """Reader clock minus receiving clock (ms) for reads that arrived at ``arrived_ms``; None within tolerance.

    The newest read of a report was seen just before the reader sent it, so its ``last_ms`` far from the
    arrival time is the reader's clock being off — ahead (positive) or behind (negative)."""
    newest = max((r.last_ms for r in reads), default=None)
    if newest is None:
        return None
    skew = newest - arrived_ms
    return skew if abs(skew) > tolerance_ms else None


# ------------------------------------------------------------------------------------------------ aggregation


def aggregate(reads: Iterable[TagRead]) -> list[dict[str, Any]]:
    """Collapse raw reads into one ``evt/tags`` read per EPC × antenna (what a bridge publishes)."""
    acc: dict[tuple[str, int], list[Any]] = {}  # [rssi, count, first_ms, last_ms]
    for r in reads:
        k = (r.epc, r.antenna)
        a = acc.get(k)
        if a is None:
            acc[k] = [r.rssi, r.count, r.first_ms, r.last_ms]
        else:
            if r.rssi is not None and (a[0] is None or r.rssi > a[0]):
                a[0] = r.rssi
            a[1] += r.count
            if r.first_ms < a[2]:
                a[2] = r.first_ms
            if r.last_ms > a[3]:
                a[3] = r.last_ms
    out: list[dict[str, Any]] = []
    for (epc, ant), (rssi, cnt, first, last) in acc.items():
        # an unknown RSSI stays null: 0 would be the strongest possible read, passing every floor and
        # winning the zone by strongest antenna
        out.append(
            {
                "epc": epc,
                "antenna": ant,
                "count": cnt,
                "first_seen": ms_iso(first),
                "last_seen": ms_iso(last),
                "rssi_dbm": rssi,
            }
        )
    return out
