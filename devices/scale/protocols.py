"""Scale protocols as data.

A protocol is one :class:`ScaleProtocol` value: serial settings, the exact bytes of each command, how a reply
ends, reply patterns (regular expressions with named groups) and a probe. Adding a scale family (CAS, Dibal,
Dialog 06 …) is a new table entry, not a new driver. Sources: ``/work/shared/reference/protocols.md`` §4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import serial


@dataclass(frozen=True)
class SerialSettings:
    baudrate: int = 9600
    bytesize: int = serial.EIGHTBITS
    parity: str = serial.PARITY_NONE
    stopbits: float = serial.STOPBITS_ONE

    def kwargs(self) -> dict:
        return {"baudrate": self.baudrate, "bytesize": self.bytesize, "parity": self.parity, "stopbits": self.stopbits}


@dataclass(frozen=True)
class Reply:
    """One reply shape. ``kind``: weight | status | ack | error. Named groups: value, unit, stability, net,
    status (a status letter/byte)."""

    pattern: re.Pattern
    kind: str
    stable: bool | None = None  # fixed stability for this shape (None: from the ``stability`` group)
    error: str | None = None  # fixed error text for error/status replies


@dataclass(frozen=True)
class ScaleProtocol:
    name: str
    serial: SerialSettings
    commands: dict[str, bytes]  # weigh, weigh_now, zero, tare, clear
    reply_start: bytes  # b"" or STX
    reply_end: bytes  # CR LF / CR
    replies: tuple[Reply, ...]
    probe_command: bytes  # with {nonce} for echo probes
    probe_reply: bytes  # regex; {nonce} filled in (escaped)
    probe_end: bytes = b""  # sent after a good probe (leave echo mode …)
    default_unit: str = "kg"
    stable_letters: dict[bytes, bool] = field(default_factory=dict)
    status_bits: tuple[tuple[int, str], ...] = ()  # (bit, meaning) for status-byte replies
    status_errors: dict[str, str] = field(default_factory=dict)  # meaning -> error text
    acknowledges: bool = True  # zero/tare/clear get a direct reply
    identify_command: bytes = b""  # asks the serial number (reply regex with group "serial")
    identify_reply: bytes = b""


MT_SICS = ScaleProtocol(
    name="mt-sics",
    serial=SerialSettings(9600, serial.EIGHTBITS, serial.PARITY_NONE, serial.STOPBITS_ONE),
    commands={"weigh": b"S\r\n", "weigh_now": b"SI\r\n", "zero": b"Z\r\n", "tare": b"T\r\n", "clear": b"TAC\r\n"},
    reply_start=b"",
    reply_end=b"\r\n",
    replies=(
        # S S     12.345 kg / S D     12.340 kg : command, status, value right-aligned in 10, unit
        Reply(
            re.compile(rb"^(?P<cmd>S|SI|SIR) (?P<stability>[SD]) +(?P<value>-?\d+(?:\.\d+)?) (?P<unit>[A-Za-z%]+)$"),
            "weight",
        ),
        Reply(re.compile(rb"^(?P<cmd>T) S +(?P<value>-?\d+(?:\.\d+)?) (?P<unit>[A-Za-z%]+)$"), "tare", stable=True),
        Reply(re.compile(rb"^(?P<cmd>Z|TAC) A$"), "ack"),
        Reply(re.compile(rb"^(?P<cmd>S|SI|SIR|Z|T|TAC) I$"), "status", error="not executable now (busy or in motion)"),
        Reply(re.compile(rb"^(?P<cmd>S|SI|SIR|Z|T|TAC) \+$"), "status", error="overload"),
        Reply(re.compile(rb"^(?P<cmd>S|SI|SIR|Z|T|TAC) -$"), "status", error="underload"),
        Reply(re.compile(rb"^(?P<cmd>T|TAC) L$"), "status", error="tare not allowed (logical error)"),
        Reply(re.compile(rb"^ES$"), "error", error="syntax error: command not understood"),
        Reply(re.compile(rb"^ET$"), "error", error="transmission error"),
        Reply(re.compile(rb"^EL$"), "error", error="logical error: command cannot be executed"),
    ),
    # I4: serial number, answered as I4 A "<serial>"; an echoing device sends back "I4" and fails the probe
    probe_command=b"I4\r\n",
    probe_reply=rb'^I4 A "[^"\r\n]{1,32}"\r\n$',
    identify_command=b"I4\r\n",
    identify_reply=rb'^I4 A "(?P<serial>[^"\r\n]{1,32})"\r\n$',
)

TOLEDO_8217 = ScaleProtocol(
    name="toledo-8217",
    serial=SerialSettings(9600, serial.SEVENBITS, serial.PARITY_EVEN, serial.STOPBITS_ONE),
    commands={"weigh": b"W", "weigh_now": b"W", "zero": b"Z", "tare": b"T", "clear": b"C"},
    reply_start=b"\x02",
    reply_end=b"\r",
    replies=(
        # STX weight [N] CR — e.g. \x0201.234\r ; N marks a net weight. The weight field is fixed width and
        # scales pad it with spaces (leading, or trailing before N/CR) as the protocol allows: still a weight
        Reply(re.compile(rb"^\x02 *(?P<value>\d{1,3}\.\d{2,3}|\d{3,6}) *(?P<net>N)? *\r$"), "weight", stable=True),
        # STX ? status CR — status byte bits below
        Reply(re.compile(rb"^\x02\?(?P<status>[\x40-\x7f])\r$"), "status"),
    ),
    probe_command=b"E{nonce}",
    probe_reply=rb"^\x02E\r{nonce}$",
    probe_end=b"F",
    status_bits=(
        (0, "motion"),
        (1, "over capacity"),
        (2, "under zero"),
        (3, "outside zero capture range"),
        (4, "centre of zero"),
        (5, "net weight"),
    ),
    status_errors={
        "over capacity": "overload",
        "under zero": "underload",
        "outside zero capture range": "outside zero capture range",
    },
    acknowledges=False,
)

PROTOCOLS: dict[str, ScaleProtocol] = {p.name: p for p in (MT_SICS, TOLEDO_8217)}

# exact factors (Decimal): a weight is carried in milligrams, so the scale's own resolution survives
UNIT_MG = {
    "kg": Decimal(1_000_000),
    "g": Decimal(1000),
    "mg": Decimal(1),
    "lb": Decimal("453592.37"),
    "oz": Decimal("28349.523125"),
}


def whole_grams(mg: int) -> int:
    """Milligrams → whole grams, half away from zero: for the consumers that count in whole grams (the
    contract's ``grams``, a kg item's stock). Rounding happens there, once, not where the scale is read."""
    return int((Decimal(mg) / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Reading:
    """A parsed reply. ``mg`` is the weight exactly as the scale reported it (a 2.486 g tare is 2486 mg);
    ``grams`` the same in whole grams."""

    kind: str  # weight | tare | ack | status | error
    mg: int | None = None
    stable: bool | None = None
    net: bool | None = None
    error: str | None = None
    flags: tuple[str, ...] = ()
    raw: bytes = b""

    @property
    def grams(self) -> int | None:
        return None if self.mg is None else whole_grams(self.mg)


def weight_event(r: Reading) -> dict:
    """The ``evt/weight`` fields the scale agent publishes for a stable reading (``storehub devices decode``
    shows the same)."""
    data = {"grams": r.grams, "mg": r.mg, "stable": bool(r.stable)}
    if r.net:
        data["net"] = True
    return data


def to_mg(value: bytes, unit: str) -> int:
    """A reported value in ``unit`` → milligrams, exactly (decimal arithmetic, never a binary float)."""
    try:
        factor = UNIT_MG[unit]
    except KeyError:
        raise ValueError(f"unknown weight unit {unit!r}") from None
    try:
        amount = Decimal(value.decode("ascii").strip())
    except (InvalidOperation, UnicodeDecodeError):
        raise ValueError(f"weight {value!r} is not a number") from None
    return int((amount * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def frame(protocol: ScaleProtocol, buf: bytes) -> tuple[bytes | None, bytes]:
    """(first complete reply in ``buf`` or None, what is left to keep reading into).

    Bytes before ``reply_start`` are line noise and dropped; a reply ends at ``reply_end``. The driver calls
    this as bytes arrive and ``storehub devices decode`` on a captured file: both see the same replies."""
    start, end = protocol.reply_start, protocol.reply_end
    if start and not buf.startswith(start):
        idx = buf.find(start)
        buf = buf[idx:] if idx >= 0 else b""
    pos = buf.find(end, len(start))
    if pos < 0:
        return None, buf
    return buf[: pos + len(end)], buf[pos + len(end) :]


def decode_status_byte(protocol: ScaleProtocol, byte: int) -> tuple[str, ...]:
    return tuple(name for bit, name in protocol.status_bits if byte & (1 << bit))


def match_reply(protocol: ScaleProtocol, raw: bytes) -> tuple[Reply, re.Match] | None:
    """The reply shape of ``protocol`` that one complete reply has, or None when it has none of them."""
    body = raw[: -len(protocol.reply_end)] if protocol.reply_end == b"\r\n" and raw.endswith(b"\r\n") else raw
    target = body if protocol.reply_end == b"\r\n" else raw
    for reply in protocol.replies:
        m = reply.pattern.match(target)
        if m:
            return reply, m
    return None


def parse_reply(protocol: ScaleProtocol, raw: bytes, unit: str | None = None) -> Reading:
    """Parse one complete reply (including its start and end bytes)."""
    found = match_reply(protocol, raw)
    if found is not None:
        reply, m = found
        g = m.groupdict()
        if reply.kind in ("weight", "tare"):
            u = (g.get("unit") or b"").decode("ascii") or unit or protocol.default_unit
            if reply.stable is not None:
                stable = reply.stable
            else:
                stable = protocol.stable_letters.get(g["stability"], g["stability"] == b"S")
            try:
                mg = to_mg(g["value"], u)
            except ValueError as exc:
                return Reading("error", error=str(exc), raw=raw)
            return Reading(reply.kind, mg=mg, stable=stable, net=bool(g.get("net")) or None, raw=raw)
        if reply.kind == "status" and g.get("status") is not None:
            flags = decode_status_byte(protocol, g["status"][0])
            errors = [protocol.status_errors[f] for f in flags if f in protocol.status_errors]
            if "motion" in flags and not errors:
                return Reading("weight", stable=False, flags=flags, raw=raw)
            return Reading(
                "status",
                error=", ".join(errors) or None,
                flags=flags,
                stable=False if "motion" in flags else None,
                raw=raw,
            )
        return Reading(reply.kind, error=reply.error, raw=raw)
    return Reading("error", error=f"unrecognised reply {raw!r}", raw=raw)
