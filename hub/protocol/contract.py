"""The MQTT topic contract between the hub and store devices.

This module is the single source of truth for topics and payload schemas; the
hub's bus and the device agents in ``devices/`` both import it, and
``docs/mqtt.md`` shows the same schemas (a test keeps them identical).

Topics (root ``storehub/<store_id>/``; device ids ``[a-z0-9-]{1,64}``)::

    storehub/<store>/dev/<device>/status        online|offline, QoS 1, retained (offline = Last Will)
    storehub/<store>/dev/<device>/info          retained JSON (kind, model, firmware, capabilities...)
    storehub/<store>/dev/<device>/evt/<type>    events, QoS 1, not retained, JSON with unique id + ts
    storehub/<store>/dev/<device>/cmd/<action>  commands from the hub, QoS 1, never retained, with request_id
    storehub/<store>/dev/<device>/result        {request_id, ok, error?} answers to commands
    storehub/<store>/dev/<device>/ack           from the hub, QoS 1: the event ids and results it has committed

Besides the JSON Schemas, every JSON payload is refused when any string or key holds a character no store of
ours can keep (NUL, an unpaired surrogate), and a device event when one of its times lies outside the
:data:`DEFAULT_TS_WINDOW` around now: such an event could never be synced to the central (PostgreSQL refuses
both) or would make the hub's batch fail, so it is dead-lettered at the entry with the reason instead.

Everything here is pure (no MQTT client, no database), so it is cheap to import
from a device agent.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.protocol import rfid_formats
from hub.protocol.storable import unstorable_text
from hub.protocol.timeutil import parse_iso

ROOT = "storehub"
DEVICE_ID_RE = re.compile(r"[a-z0-9-]{1,64}")
STORE_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
ACTION_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")

KINDS = ("scanner", "scale", "printer", "rfid", "shelf")
EVENT_TYPES = ("scan", "weight", "tags", "shelf", "state")
COMMAND_ACTIONS = ("print", "tare", "zero", "start_inventory", "stop_inventory", "beep", "calibrate")
STATUS_VALUES = ("online", "offline")

QOS = 1  # status, info, events, commands and results all use QoS 1
MAX_PAYLOAD_BYTES = 256 * 1024

# Channels a device publishes on (the hub reads them) and the hub publishes on.
DEVICE_CHANNELS = ("status", "info", "evt", "result")
HUB_CHANNELS = ("cmd", "ack")
MAX_ACK_IDS = 1000  # ids per ack message (an ack of a 2,000-event batch is two messages)


class ContractError(ValueError):
    """A topic or payload that breaks the contract; ``reason`` is recorded in the dead letters."""

    def __init__(self, reason: str, device_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.device_id = device_id


# ----------------------------------------------------------------------------- topics


def _check_store(store_id: str) -> str:
    if not STORE_ID_RE.fullmatch(store_id or ""):
        raise ContractError(f"bad store id {store_id!r}")
    return store_id


def _check_device(device_id: str) -> str:
    if not DEVICE_ID_RE.fullmatch(device_id or ""):
        raise ContractError(f"bad device id {device_id!r}: must match [a-z0-9-]{{1,64}}")
    return device_id


def device_root(store_id: str, device_id: str) -> str:
    return f"{ROOT}/{_check_store(store_id)}/dev/{_check_device(device_id)}"


def status_topic(store_id: str, device_id: str) -> str:
    return device_root(store_id, device_id) + "/status"


def info_topic(store_id: str, device_id: str) -> str:
    return device_root(store_id, device_id) + "/info"


def event_topic(store_id: str, device_id: str, event_type: str) -> str:
    if event_type not in EVENT_TYPES:
        raise ContractError(f"unknown event type {event_type!r}")
    return device_root(store_id, device_id) + f"/evt/{event_type}"


def command_topic(store_id: str, device_id: str, action: str) -> str:
    if not ACTION_RE.fullmatch(action or ""):
        raise ContractError(f"bad command action {action!r}")
    return device_root(store_id, device_id) + f"/cmd/{action}"


def result_topic(store_id: str, device_id: str) -> str:
    return device_root(store_id, device_id) + "/result"


def ack_topic(store_id: str, device_id: str) -> str:
    """Where the hub tells one device which of its events (and results) it has committed: only then may the
    device forget them (the ACL lets only the hub write it and only that device read it)."""
    return device_root(store_id, device_id) + "/ack"


def hub_subscription(store_id: str) -> str:
    """The one filter the hub subscribes to (wrong topics under it are dead-lettered)."""
    return f"{ROOT}/{_check_store(store_id)}/dev/#"


def device_command_subscription(store_id: str, device_id: str) -> str:
    return device_root(store_id, device_id) + "/cmd/+"


@dataclass(frozen=True)
class Topic:
    store_id: str
    device_id: str
    channel: str  # status | info | evt | cmd | result | ack
    name: str | None = None  # event type or command action


def parse_topic(topic: str, store_id: str | None = None) -> Topic:
    """Split a topic into its parts or raise ContractError with the reason."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != ROOT or parts[2] != "dev":
        raise ContractError(f"topic {topic!r} is not under {ROOT}/<store>/dev/<device>/")
    store, device, channel, rest = parts[1], parts[3], parts[4], parts[5:]
    _check_store(store)
    if store_id is not None and store != store_id:
        raise ContractError(f"topic {topic!r} belongs to store {store!r}, not {store_id!r}")
    dev_ok = bool(DEVICE_ID_RE.fullmatch(device))
    if not dev_ok:
        raise ContractError(f"bad device id {device!r} in topic: must match [a-z0-9-]{{1,64}}")
    if channel in ("status", "info", "result", "ack"):
        if rest:
            raise ContractError(f"unexpected sub-topic after {channel}: {topic!r}", device)
        return Topic(store, device, channel)
    if channel == "evt":
        if len(rest) != 1:
            raise ContractError(f"event topic must be .../evt/<type>: {topic!r}", device)
        if rest[0] not in EVENT_TYPES:
            raise ContractError(f"unknown event type {rest[0]!r}", device)
        return Topic(store, device, "evt", rest[0])
    if channel == "cmd":
        if len(rest) != 1 or not ACTION_RE.fullmatch(rest[0]):
            raise ContractError(f"command topic must be .../cmd/<action>: {topic!r}", device)
        return Topic(store, device, "cmd", rest[0])
    raise ContractError(f"unknown channel {channel!r} in {topic!r}", device)


# ----------------------------------------------------------------------------- schemas

_TS = {
    "type": "string",
    "format": "date-time",
    "maxLength": 40,
    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)$",
}
_EVENT_ID = {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,64}$"}
_REQUEST_ID = {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{1,64}$"}

STATUS_SCHEMA: dict[str, Any] = {
    "$id": "storehub/status",
    "title": "status (plain text, not JSON)",
    "type": "string",
    "enum": list(STATUS_VALUES),
}

_RADIO = {
    "type": "string",
    "maxLength": 40,
    "description": "a fixed reader's radio connection as its heartbeat says (connected, disconnected …)",
}
_ANTENNAS = {
    "type": "object",
    "maxProperties": 64,
    "propertyNames": {"pattern": r"^\d{1,3}$"},
    "additionalProperties": {"type": "string", "enum": ["connected", "disconnected"]},
    "description": 'a fixed reader\'s antenna ports: {"<port>": "connected"|"disconnected"}',
}

_CLOCK_SKEW = {
    "type": ["integer", "null"],
    "minimum": -(10**12),
    "maximum": 10**12,
    "description": "a reader's clock minus its agent's (ms) when beyond the tolerance; null when within",
}

INFO_SCHEMA: dict[str, Any] = {
    "$id": "storehub/info",
    "title": "info (retained)",
    "type": "object",
    "required": ["kind", "model", "firmware"],
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "model": {"type": "string", "maxLength": 120},
        "firmware": {"type": "string", "maxLength": 120},
        "capabilities": {"type": "array", "maxItems": 64, "items": {"type": "string", "maxLength": 64}},
        "battery_pct": {"type": "integer", "minimum": 0, "maximum": 100},
        "paper": {"type": "string", "enum": ["ok", "low", "out"]},
        "error": {"type": ["string", "null"], "maxLength": 500},
        "serial": {"type": "string", "maxLength": 120},
        "agent_version": {"type": "string", "maxLength": 60},
        "radio": _RADIO,
        "antennas": _ANTENNAS,
        "clock_skew_ms": _CLOCK_SKEW,
        "ts": _TS,
    },
}

_READ = {
    "type": "object",
    "required": ["epc", "antenna", "rssi_dbm", "count", "first_seen", "last_seen"],
    "properties": {
        "epc": {"type": "string", "pattern": r"^([0-9A-Fa-f]{4}){1,32}$"},
        "antenna": {"type": "integer", "minimum": 0, "maximum": 255},
        "rssi_dbm": {
            "type": ["number", "null"],
            "minimum": -128,
            "maximum": 20,
            "description": "peak RSSI; null when the reader does not report one",
        },
        "count": {"type": "integer", "minimum": 1, "maximum": 10**9},
        "first_seen": _TS,
        "last_seen": _TS,
    },
}

EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "scan": {
        "properties": {
            "code": {"type": "string", "minLength": 1, "maxLength": 512},
            "symbology": {"type": "string", "maxLength": 40},
        },
        "required": ["code"],
    },
    "weight": {
        "description": "grams: whole grams (rounded half away from zero); mg: the same weight at the resolution "
        "the scale reported (a 2.486 g reading is mg 2486), sent by agents since 0.2 — read mg "
        "when present, else grams × 1000",
        "properties": {
            "grams": {"type": "integer", "minimum": -(10**7), "maximum": 10**7},
            "mg": {"type": "integer", "minimum": -(10**10), "maximum": 10**10},
            "stable": {"type": "boolean"},
            "net": {"type": "boolean", "description": "true when a tare is applied (grams are net)"},
            "tare_grams": {"type": "integer", "minimum": 0, "maximum": 10**7},
            "tare_mg": {"type": "integer", "minimum": 0, "maximum": 10**10},
        },
        "required": ["grams", "stable"],
    },
    "tags": {
        "properties": {"reads": {"type": "array", "minItems": 1, "maxItems": 2000, "items": _READ}},
        "required": ["reads"],
    },
    "shelf": {
        "properties": {
            "grams": {"type": "number", "minimum": -(10**6), "maximum": 10**7},
            "raw": {"type": "number"},
        },
        "required": ["grams"],
    },
    "state": {
        "description": "health change: battery, paper, error, a reader's radio, antennas and clock skew (any subset)",
        "properties": {
            "battery_pct": {"type": "integer", "minimum": 0, "maximum": 100},
            "paper": {"type": "string", "enum": ["ok", "low", "out"]},
            "error": {"type": ["string", "null"], "maxLength": 500},
            "radio": _RADIO,
            "antennas": _ANTENNAS,
            "clock_skew_ms": _CLOCK_SKEW,
        },
        "minProperties": 3,
    },
}


def event_schema(event_type: str) -> dict[str, Any]:
    spec = EVENT_SCHEMAS[event_type]
    props = {"id": _EVENT_ID, "ts": _TS, **spec["properties"]}
    out: dict[str, Any] = {
        "$id": f"storehub/evt/{event_type}",
        "title": f"evt/{event_type}",
        "type": "object",
        "required": ["id", "ts", *spec.get("required", [])],
        "properties": props,
    }
    for k in ("minProperties", "description"):
        if k in spec:
            out[k] = spec[k]
    return out


_DOCUMENT = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": ["receipt", "shelf_label", "pick_label", "pack_label", "text"]},
        "copies": {"type": "integer", "minimum": 1, "maximum": 20},
    },
}

COMMAND_SCHEMAS: dict[str, dict[str, Any]] = {
    "print": {"properties": {"document": _DOCUMENT}, "required": ["document"]},
    "tare": {"properties": {}},
    "zero": {"properties": {}},
    "beep": {"properties": {"times": {"type": "integer", "minimum": 1, "maximum": 10}}},
    "start_inventory": {
        "properties": {
            "session_id": {"type": "string", "maxLength": 64},
            "antennas": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}, "maxItems": 32},
            "duration_ms": {"type": "integer", "minimum": 0, "maximum": 86_400_000},
        }
    },
    "stop_inventory": {"properties": {"session_id": {"type": "string", "maxLength": 64}}},
    "calibrate": {
        "properties": {"known_grams": {"type": "number", "exclusiveMinimum": 0, "maximum": 10**6}},
        "required": ["known_grams"],
    },
}


def command_schema(action: str) -> dict[str, Any]:
    spec = COMMAND_SCHEMAS[action]
    return {
        "$id": f"storehub/cmd/{action}",
        "title": f"cmd/{action}",
        "type": "object",
        "required": ["request_id", "ts", *spec.get("required", [])],
        "properties": {"request_id": _REQUEST_ID, "ts": _TS, **spec["properties"]},
    }


RESULT_SCHEMA: dict[str, Any] = {
    "$id": "storehub/result",
    "title": "result",
    "type": "object",
    "required": ["request_id", "ok"],
    "properties": {
        "request_id": _REQUEST_ID,
        "ok": {"type": "boolean"},
        "error": {"type": ["string", "null"], "maxLength": 1000},
        "ts": _TS,
        "details": {"type": "object"},
    },
    "if": {"properties": {"ok": {"const": False}}},
    "then": {"required": ["request_id", "ok", "error"]},
}


ACK_SCHEMA: dict[str, Any] = {
    "$id": "storehub/ack",
    "title": "ack (hub to device, after commit)",
    "type": "object",
    "required": ["ids", "ts"],
    "properties": {
        "ids": {
            "type": "array",
            "maxItems": MAX_ACK_IDS,
            "items": _EVENT_ID,
            "description": "event ids the hub has committed (applied, duplicate or dead-lettered)",
        },
        "results": {
            "type": "array",
            "maxItems": MAX_ACK_IDS,
            "items": _REQUEST_ID,
            "description": "request ids of the device's results the hub has committed",
        },
        "ts": _TS,
    },
}


def all_schemas() -> dict[str, dict[str, Any]]:
    """Every schema by name, as shown in docs/mqtt.md."""
    out = {"status": STATUS_SCHEMA, "info": INFO_SCHEMA}
    out.update({f"evt/{t}": event_schema(t) for t in EVENT_TYPES})
    out.update({f"cmd/{a}": command_schema(a) for a in COMMAND_ACTIONS})
    out["result"] = RESULT_SCHEMA
    out["ack"] = ACK_SCHEMA
    return out


@functools.cache
def _validator(name: str) -> Any:
    """The ``jsonschema`` (Python) validator of one schema, built when first needed: to word why a message is
    refused, or to judge every message where jsonschema-rs is not installed. A process whose messages are all
    valid (an agent, the bus) never imports ``jsonschema`` and its referencing stack (~3.5 MB)."""
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(all_schemas()[name], format_checker=FormatChecker())


try:  # the Rust validator is ~20x faster on the bus's hot path; the Python one words the reasons
    import jsonschema_rs

    _FAST: dict[str, Any] = {
        name: jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
        for name, schema in all_schemas().items()
    }
except Exception:  # pragma: no cover - optional on device agents
    _FAST = {}


def _first_error(name: str, data: Any) -> str | None:
    fast = _FAST.get(name)
    if fast is not None and fast.is_valid(data):
        return None
    err = next(iter(_validator(name).iter_errors(data)), None)
    if err is None:
        if fast is None:
            return None
        rust_err = next(iter(fast.iter_errors(data)), None)
        return f"{name}: {getattr(rust_err, 'message', rust_err)}"[:500] if rust_err is not None else None
    path = "/" + "/".join(str(p) for p in err.absolute_path)
    return f"{name}: {path}: {err.message}"[:500]


def _load_json(payload: bytes | str, device_id: str | None) -> Any:
    if isinstance(payload, bytes):
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ContractError(f"payload too large ({len(payload)} bytes)", device_id)
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ContractError("payload is not UTF-8", device_id) from None
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise ContractError(f"malformed JSON: {exc}"[:300], device_id) from None


def validate(name: str, data: Any, device_id: str | None = None) -> Any:
    """Validate decoded ``data`` against the schema called ``name``, and refuse text no store can keep
    (:mod:`hub.protocol.storable`, the one check of every entry)."""
    reason = _first_error(name, data)
    if reason:
        raise ContractError(reason, device_id)
    bad = unstorable_text(data)
    if bad:
        raise ContractError(f"{name}: {bad}"[:500], device_id)
    return data


@dataclass(frozen=True)
class TimeWindow:
    """How far from the hub's clock a device time may be. Outside it, a time is a broken device clock (an
    ESP32 before SNTP sends 1970; year 1 or 9999 overflow a UTC conversion and made the bus redo its whole
    batch one message at a time), and a far-future one would make every later shelf reading look older."""

    past: timedelta = timedelta(days=366)
    future: timedelta = timedelta(days=1)

    def contains(self, t: datetime, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return now - self.past <= t <= now + self.future


DEFAULT_TS_WINDOW = TimeWindow()


def _event_times(data: dict[str, Any]) -> list[tuple[str, str]]:
    out = [("/ts", data["ts"])]
    for i, r in enumerate(data.get("reads") or ()):  # evt/tags: each read's first and last sighting
        out += [(f"/reads/{i}/first_seen", r["first_seen"]), (f"/reads/{i}/last_seen", r["last_seen"])]
    return out


def check_event_times(
    name: str,
    data: dict[str, Any],
    device_id: str | None = None,
    *,
    window: TimeWindow = DEFAULT_TS_WINDOW,
    now: datetime | None = None,
) -> None:
    """Refuse an event (already schema-valid) whose times lie outside ``window`` around ``now``."""
    now = now or datetime.now(UTC)
    for path, text in _event_times(data):
        try:
            ok = window.contains(parse_iso(text), now)
        except (ValueError, OverflowError):  # e.g. 0001-01-01T00:00:00+08:00 is before year 1 in UTC
            ok = False
        if not ok:
            raise ContractError(
                f"{name}: {path}: device time {text!r} is outside the accepted window "
                f"({_span(window.past)} before to {_span(window.future)} after the hub's clock); "
                "check the device's clock",
                device_id,
            )


def _span(d: timedelta) -> str:
    return f"{d.days} days" if d.days and not d.seconds else f"{int(d.total_seconds())} s"


def decode_status(payload: bytes | str, device_id: str | None = None) -> str:
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    text = text.strip()
    if text not in STATUS_VALUES:
        raise ContractError(f"status must be 'online' or 'offline', got {text[:40]!r}", device_id)
    return text


def decode_info(payload: bytes | str, device_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = validate("info", _load_json(payload, device_id), device_id)
    return data


class TagsEvent(dict[str, Any]):
    """A validated ``evt/tags`` payload: the JSON object itself, plus ``parsed``, its reads parsed once when it
    was validated (a :class:`hub.protocol.rfid_formats.Parsed`: the reads, and why any read was skipped)."""

    __slots__ = ("parsed",)

    def __init__(self, data: dict[str, Any], parsed: rfid_formats.Parsed) -> None:
        super().__init__(data)
        self.parsed = parsed


def decode_event(
    event_type: str,
    payload: bytes | str,
    device_id: str | None = None,
    *,
    ts_window: TimeWindow = DEFAULT_TS_WINDOW,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A device event, validated (schema, storable text, times within ``ts_window`` around ``now``); an
    ``evt/tags`` event comes back as a :class:`TagsEvent`."""
    if event_type not in EVENT_TYPES:
        raise ContractError(f"unknown event type {event_type!r}", device_id)
    data: dict[str, Any] = validate(f"evt/{event_type}", _load_json(payload, device_id), device_id)
    check_event_times(f"evt/{event_type}", data, device_id, window=ts_window, now=now)
    if event_type == "tags":
        return TagsEvent(data, rfid_formats.parse_storehub(data))
    return data


def decode_command(action: str, payload: bytes | str, device_id: str | None = None) -> dict[str, Any]:
    if action not in COMMAND_ACTIONS:
        raise ContractError(f"unknown command action {action!r}", device_id)
    data: dict[str, Any] = validate(f"cmd/{action}", _load_json(payload, device_id), device_id)
    return data


def decode_result(payload: bytes | str, device_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = validate("result", _load_json(payload, device_id), device_id)
    return data


def decode_ack(payload: bytes | str, device_id: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = validate("ack", _load_json(payload, device_id), device_id)
    return data


_ID_RE = re.compile(_EVENT_ID["pattern"].strip("^$"))  # event and request ids share one pattern


def ack_key(channel: str, payload: bytes | str) -> str | None:
    """The key under which the hub acknowledges a device message it has committed — the event ``id`` of an
    ``evt``, ``result:<request_id>`` of a ``result`` — read without trusting the rest of the payload, so a
    dead-lettered event is acknowledged too (the hub keeps it; resending it would change nothing)."""
    if channel not in ("evt", "result"):
        return None
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    field_, prefix = ("id", "") if channel == "evt" else ("request_id", "result:")
    value = data.get(field_)
    return prefix + value if isinstance(value, str) and _ID_RE.fullmatch(value) else None


def make_ack(keys: list[str]) -> dict[str, Any]:
    """The ack payload for committed keys (see :func:`ack_key`); at most :data:`MAX_ACK_IDS` of each kind."""
    ids = [k for k in keys if not k.startswith("result:")]
    results = [k[len("result:") :] for k in keys if k.startswith("result:")]
    data: dict[str, Any] = {"ids": ids, "ts": utc_ts()}
    if results:
        data["results"] = results
    return data


def ack_keys(ack: dict[str, Any]) -> list[str]:
    """The keys an ack payload confirms (the inverse of :func:`make_ack`)."""
    return [*ack.get("ids", ()), *("result:" + r for r in ack.get("results", ()))]


# ----------------------------------------------------------------------------- building payloads


def utc_ts() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_event_id() -> str:
    return str(uuid.uuid4())


def encode(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def make_event(event_type: str, *, event_id: str | None = None, ts: str | None = None, **fields: Any) -> dict[str, Any]:
    """An event payload (validated) with a fresh id and timestamp unless given."""
    data: dict[str, Any] = {"id": event_id or new_event_id(), "ts": ts or utc_ts(), **fields}
    event: dict[str, Any] = validate(f"evt/{event_type}", data)
    return event


def make_command(action: str, request_id: str, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"request_id": request_id, "ts": utc_ts(), **fields}
    command: dict[str, Any] = validate(f"cmd/{action}", data)
    return command


def make_result(request_id: str, ok: bool, error: str | None = None, **details: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"request_id": request_id, "ok": ok, "ts": utc_ts()}
    if error is not None or not ok:
        data["error"] = error or "failed"
    if details:
        data["details"] = details
    result: dict[str, Any] = validate("result", data)
    return result


def make_info(
    kind: str, model: str, firmware: str, capabilities: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": kind,
        "model": model,
        "firmware": firmware,
        "capabilities": capabilities or [],
        **extra,
    }
    info: dict[str, Any] = validate("info", data)
    return info


# ----------------------------------------------------------------------------- device configuration


def device_config(
    *,
    store_id: str,
    device_id: str,
    kind: str,
    broker_url: str,
    username: str,
    password: str,
    ca_file: str | None = None,
) -> dict[str, Any]:
    """What ``storehub devices provision`` writes for a device agent (``<device>.json``). The client id is the
    username: the shipped broker binds client ids to usernames, so that is the session the device gets anyway."""
    if kind not in KINDS:
        raise ContractError(f"unknown device kind {kind!r}")
    return {
        "store_id": store_id,
        "device_id": _check_device(device_id),
        "kind": kind,
        "mqtt": {
            "url": broker_url,
            "username": username,
            "password": password,
            "client_id": username,
            "ca_file": ca_file,
            "qos": QOS,
        },
        "topics": {
            "status": status_topic(store_id, device_id),
            "info": info_topic(store_id, device_id),
            "events": device_root(store_id, device_id) + "/evt/{type}",
            "commands": device_command_subscription(store_id, device_id),
            "result": result_topic(store_id, device_id),
            "ack": ack_topic(store_id, device_id),
        },
    }


# ----------------------------------------------------------------------------- docs

DOC_BEGIN = "<!-- schemas:begin (generated by `python -m hub.protocol.contract`; do not edit) -->"
DOC_END = "<!-- schemas:end -->"


def schemas_markdown() -> str:
    """The schema section of docs/mqtt.md, generated from this module."""
    parts = [DOC_BEGIN, ""]
    for name, schema in all_schemas().items():
        parts += [f"#### `{name}`", "", "```json", json.dumps(schema, indent=2, ensure_ascii=False), "```", ""]
    parts.append(DOC_END)
    return "\n".join(parts)


def _update_doc(path: str) -> None:
    from pathlib import Path

    p = Path(path)
    text = p.read_text(encoding="utf-8")
    start, end = text.index(DOC_BEGIN), text.index(DOC_END) + len(DOC_END)
    p.write_text(text[:start] + schemas_markdown() + text[end:], encoding="utf-8")


if __name__ == "__main__":  # python -m hub.protocol.contract [docs/mqtt.md]
    import sys

    _update_doc(sys.argv[1] if len(sys.argv) > 1 else "docs/mqtt.md")
