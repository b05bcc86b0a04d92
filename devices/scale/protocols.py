"""Scale protocols as data.

A protocol is one :class:`ScaleProtocol` value: serial settings, the exact bytes of each command, how a reply
ends, reply patterns (regular expressions with named groups) and a probe. Adding a scale family (CAS, Dibal,
Dialog 06 …) is a new table entry, not a new driver. Sources: ``/work/shared/reference/protocols.md`` §4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import serial


@dataclass(frozen=True)
class SerialSettings:
    baudrate: int = 9600
    bytesize: int = serial.EIGHTBITS
    parity: str = serial.PARITY_NONE
    stopbits: float = serial.STOPBITS_ONE

    def kwargs(self) -> dict:
        return {"baudrate": self.baudrate, "bytesize": self.bytesize, "parity": self.parity,
                "stopbits": self.stopbits}


@dataclass(frozen=True)
class Reply:
    """One reply shape. ``kind``: weight | status | ack | error. Named groups: value, unit, stability, net,
    status (a status letter/byte)."""
    pattern: re.Pattern
    kind: str
    stable: bool | None = None       # fixed stability for this shape (None: from the ``stability`` group)
    error: str | None = None         # fixed error text for error/status replies


@dataclass(frozen=True)
class ScaleProtocol:
    name: str
    serial: SerialSettings
    commands: dict[str, bytes]                    # weigh, weigh_now, zero, tare, clear
    reply_start: bytes                            # b"" or STX
    reply_end: bytes                              # CR LF / CR
    replies: tuple[Reply, ...]
    probe_command: bytes                          # with {nonce} for echo probes
    probe_reply: bytes                            # regex; {nonce} filled in (escaped)
    probe_end: bytes = b""                        # sent after a good probe (leave echo mode …)
    default_unit: str = "kg"
    stable_letters: dict[bytes, bool] = field(default_factory=dict)
    status_bits: tuple[tuple[int, str], ...] = ()  # (bit, meaning) for status-byte replies
    status_errors: dict[str, str] = field(default_factory=dict)  # meaning -> error text
    acknowledges: bool = True                     # zero/tare/clear get a direct reply
    identify_command: bytes = b""                 # asks the serial number (reply regex with group "serial")
    identify_reply: bytes = b""


MT_SICS = ScaleProtocol(
    name="mt-sics",
    serial=SerialSettings(9600, serial.EIGHTBITS, serial.PARITY_NONE, serial.STOPBITS_ONE),
    commands={"weigh": b"S\r\n", "weigh_now": b"SI\r\n", "zero": b"Z\r\n", "tare": b"T\r\n", "clear": b"TAC\r\n"},
    reply_start=b"",
    reply_end=b"\r\n",
    replies=(
        # S S     12.345 kg / S D     12.340 kg : command, status, value right-aligned in 10, unit
        Reply(re.compile(rb"^(?P<cmd>S|SI|SIR) (?P<stability>[SD]) +(?P<value>-?\d+(?:\.\d+)?) (?P<unit>[A-Za-z%]+)$"),
              "weight"),
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
        # STX weight [N] CR — e.g. \x0201.234\r ; N marks a net weight
        Reply(re.compile(rb"^\x02(?P<value>\d{1,3}\.\d{2,3}|\d{3,6})(?P<net>N)?\r$"), "weight", stable=True),
        # STX ? status CR — status byte bits below
        Reply(re.compile(rb"^\x02\?(?P<status>[\x40-\x7f])\r$"), "status"),
    ),
    probe_command=b"E{nonce}",
    probe_reply=rb"^\x02E\r{nonce}$",
    probe_end=b"F",
    status_bits=((0, "motion"), (1, "over capacity"), (2, "under zero"), (3, "outside zero capture range"),
                 (4, "centre of zero"), (5, "net weight")),
    status_errors={"over capacity": "overload", "under zero": "underload",
                   "outside zero capture range": "outside zero capture range"},
    acknowledges=False,
)

PROTOCOLS: dict[str, ScaleProtocol] = {p.name: p for p in (MT_SICS, TOLEDO_8217)}

UNIT_GRAMS = {"kg": 1000.0, "g": 1.0, "mg": 0.001, "lb": 453.59237, "oz": 28.349523125}


@dataclass(frozen=True)
class Reading:
    """A parsed reply."""
    kind: str                     # weight | tare | ack | status | error
    grams: int | None = None
    stable: bool | None = None
    net: bool | None = None
    error: str | None = None
    flags: tuple[str, ...] = ()
    raw: bytes = b""


def to_grams(value: bytes, unit: str) -> int:
    try:
        factor = UNIT_GRAMS[unit]
    except KeyError:
        raise ValueError(f"unknown weight unit {unit!r}") from None
    return int(round(float(value.decode("ascii")) * factor))


def decode_status_byte(protocol: ScaleProtocol, byte: int) -> tuple[str, ...]:
    return tuple(name for bit, name in protocol.status_bits if byte & (1 << bit))


def parse_reply(protocol: ScaleProtocol, raw: bytes, unit: str | None = None) -> Reading:
    """Parse one complete reply (including its start and end bytes)."""
    body = raw[:-len(protocol.reply_end)] if protocol.reply_end == b"\r\n" and raw.endswith(b"\r\n") else raw
    for reply in protocol.replies:
        target = body if protocol.reply_end == b"\r\n" else raw
        m = reply.pattern.match(target)
        if not m:
            continue
        g = m.groupdict()
        if reply.kind in ("weight", "tare"):
            u = (g.get("unit") or b"").decode("ascii") or unit or protocol.default_unit
            if reply.stable is not None:
                stable = reply.stable
            else:
                stable = protocol.stable_letters.get(g["stability"], g["stability"] == b"S")
            grams = to_grams(g["value"], u)
            return Reading(reply.kind, grams=grams, stable=stable, net=bool(g.get("net")) or None, raw=raw)
        if reply.kind == "status" and g.get("status") is not None:
            flags = decode_status_byte(protocol, g["status"][0])
            errors = [protocol.status_errors[f] for f in flags if f in protocol.status_errors]
            if "motion" in flags and not errors:
                return Reading("weight", stable=False, flags=flags, raw=raw)
            return Reading("status", error=", ".join(errors) or None, flags=flags,
                           stable=False if "motion" in flags else None, raw=raw)
        return Reading(reply.kind, error=reply.error, raw=raw)
    return Reading("error", error=f"unrecognised reply {raw!r}", raw=raw)
