"""Integrated bank-card terminals (ECR link) described as data, like the scale protocols of ``devices.scale``.

A terminal protocol is one :class:`TerminalProtocol` value: the framing (control bytes, how the check byte is
computed, how long to wait for the ACK and how often to send again after a NAK or silence), and a table of
fixed-width messages (``Message``: a type letter and its ``Field`` layout). Adding a terminal family that speaks
another layout is a new table entry, not a new driver. The hub's link (``hub.checkout.payments.terminal``) and
the simulator (``devices.sim.terminal``) read the same value, so both ends agree byte for byte.

``GENERIC_ECR`` is the common ECR framing most Chinese and European terminals offer at their lowest layer::

    STX(0x02) <message> ETX(0x03) LRC          LRC = XOR of every byte after STX up to and including ETX
    the receiver answers ACK(0x06) for a good frame, NAK(0x15) for a bad check byte; the sender sends the same
    frame again after a NAK or when no ACK came within ``ack_timeout_s``, at most ``max_resends`` times.

A request (sale, refund, void, last transaction) is acknowledged at once; the final result frame follows when
the customer is done (it is acknowledged the same way). Result codes are ISO 8583 response codes (field 39):
``00`` approved, ``05`` declined (do not honour), ``17`` customer cancellation, ``68`` response received too
late (no card presented in time), ``25`` unable to locate record (the terminal has no such transaction).

Stdlib only: the devices package imports this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Framing:
    stx: int = 0x02
    etx: int = 0x03
    ack: int = 0x06
    nak: int = 0x15
    ack_timeout_s: float = 2.0  # an unacknowledged frame is sent again after this long
    max_resends: int = 3  # after a NAK or a missing ACK; then the link is lost
    encoding: str = "ascii"

    def lrc(self, body_and_etx: bytes) -> int:
        """XOR of the bytes after STX up to and including ETX."""
        x = 0
        for b in body_and_etx:
            x ^= b
        return x

    def frame(self, body: bytes) -> bytes:
        if any(b in (self.stx, self.etx) for b in body):
            raise ValueError("STX/ETX inside a message body")
        tail = body + bytes([self.etx])
        return bytes([self.stx]) + tail + bytes([self.lrc(tail)])


@dataclass(frozen=True)
class Field:
    """A fixed-width field: ``n`` digits, zero-padded on the left; ``an`` text, space-padded on the right."""

    name: str
    width: int
    kind: str = "an"

    def encode(self, value: Any) -> str:
        text = "" if value is None else str(value)
        if self.kind == "n":
            if not text.isdigit() or len(text) > self.width:
                raise ValueError(f"{self.name}: {text!r} is not {self.width} digits")
            return text.zfill(self.width)
        if len(text) > self.width or not text.isascii():
            raise ValueError(f"{self.name}: {text!r} does not fit {self.width} ASCII characters")
        return text.ljust(self.width)

    def decode(self, text: str) -> Any:
        if self.kind == "n":
            if not text.isdigit():
                raise ValueError(f"{self.name}: {text!r} is not numeric")
            return int(text)
        return text.rstrip(" ")


@dataclass(frozen=True)
class Message:
    type: str  # one ASCII letter, the first byte of the body
    fields: tuple[Field, ...]

    @property
    def length(self) -> int:
        return 1 + sum(f.width for f in self.fields)


@dataclass(frozen=True)
class TerminalProtocol:
    name: str
    framing: Framing
    requests: dict[str, Message]  # sale, refund, void, last
    result: Message  # the terminal's final answer to any request
    results: dict[str, str]  # response code -> outcome (approved, declined, cancelled, timeout, not_found)
    answer_timeout_s: float = 90.0  # a customer has this long to present the card after the ACK
    currency: dict[str, int] = field(default_factory=lambda: {"CNY": 156})

    def encode(self, kind: str, values: dict[str, Any]) -> bytes:
        """The framed bytes of request ``kind`` (or ``result``)."""
        msg = self.result if kind == "result" else self.requests[kind]
        body = msg.type + "".join(f.encode(values.get(f.name)) for f in msg.fields)
        return self.framing.frame(body.encode(self.framing.encoding))

    def decode(self, body: bytes) -> tuple[str, dict[str, Any]]:
        """A message body (without STX/ETX/LRC) → (kind, values). ``ValueError`` for an unknown or short one."""
        text = body.decode(self.framing.encoding)
        kinds = {self.result.type: ("result", self.result)} | {m.type: (k, m) for k, m in self.requests.items()}
        if not text or text[0] not in kinds:
            raise ValueError(f"unknown message type {text[:1]!r}")
        kind, msg = kinds[text[0]]
        if len(text) != msg.length:
            raise ValueError(f"{kind}: {len(text)} characters, the layout has {msg.length}")
        out, pos = {}, 1
        for f in msg.fields:
            out[f.name] = f.decode(text[pos : pos + f.width])
            pos += f.width
        return kind, out


class FrameReader:
    """Bytes from the wire → events, whatever the chunks: ``("ack",)``, ``("nak",)``, ``("frame", body)`` for a
    frame whose LRC is right, ``("bad", raw)`` for one whose LRC is wrong (answer it with NAK). Bytes outside a
    frame other than ACK/NAK are line noise and dropped."""

    def __init__(self, framing: Framing):
        self.f = framing
        self.buf = bytearray()
        self.in_frame = False

    def feed(self, data: bytes) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for b in data:
            if not self.in_frame:
                if b == self.f.ack:
                    out.append(("ack",))
                elif b == self.f.nak:
                    out.append(("nak",))
                elif b == self.f.stx:
                    self.in_frame, self.buf = True, bytearray()
                continue
            if b == self.f.stx:  # a new frame starts before the last one ended: drop the partial one
                self.buf = bytearray()
                continue
            self.buf.append(b)
            if len(self.buf) >= 2 and self.buf[-2] == self.f.etx:
                tail, lrc = bytes(self.buf[:-1]), self.buf[-1]
                self.in_frame = False
                if self.f.lrc(tail) == lrc:
                    out.append(("frame", tail[:-1]))
                else:
                    out.append(("bad", bytes([self.f.stx]) + bytes(self.buf)))
        return out


_REF = Field("ecr_ref", 32)  # the hub's reference of the request: the tender's out_trade_no
_AMOUNT = Field("amount", 12, "n")  # minor units
_CURRENCY = Field("currency", 3, "n")  # ISO 4217 numeric

GENERIC_ECR = TerminalProtocol(
    name="generic-ecr",
    framing=Framing(),
    requests={
        "sale": Message("S", (_REF, _AMOUNT, _CURRENCY)),
        "refund": Message("R", (_REF, _AMOUNT, _CURRENCY, Field("orig_ref", 32))),
        "void": Message("V", (_REF, _AMOUNT, _CURRENCY, Field("orig_ref", 32))),
        "last": Message("L", (_REF,)),  # the last transaction with this ecr_ref (after a lost answer)
    },
    result=Message(
        "A",
        (
            _REF,
            Field("request", 1),  # the request type letter answered (S/R/V; L answers with the original's)
            Field("code", 2),  # ISO 8583 response code
            _AMOUNT,
            Field("approval_code", 6),
            Field("pan_last4", 4),
            Field("scheme", 10),  # UNIONPAY, VISA, MASTERCARD …
            Field("batch", 6, "n"),
            Field("reference", 12),  # the terminal's retrieval reference number
        ),
    ),
    results={"00": "approved", "05": "declined", "17": "cancelled", "68": "timeout", "25": "not_found"},
)

PROTOCOLS: dict[str, TerminalProtocol] = {p.name: p for p in (GENERIC_ECR,)}
