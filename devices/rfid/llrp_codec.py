"""A small LLRP 1.0.1 binary codec: the part of the protocol a fixed reader's inventory needs.

Our own code (MIT), written from the EPCglobal LLRP 1.0.1 specification, so that ``storehub agent rfid
--source llrp`` works without sllurp (GPL-3.0). Pure functions: bytes in, bytes or dicts out; the socket
side is in :mod:`devices.rfid.llrp`.

Framing (spec §15.1): every message starts with a 10-byte header — 3 reserved bits, a 3-bit version (1 for
LLRP 1.0.1), a 10-bit message type, a 32-bit length that counts the whole message including the header, and
a 32-bit message id that the reader copies into its response. Parameters (§15.2) are either TLV — 6 reserved
bits, 10-bit type, 16-bit length including the 4-byte header — or TV — top bit set, 7-bit type, then a value
whose length the type fixes (no length field, so an unknown TV cannot be skipped: it is an error).

Decoded tag reports are dicts with sllurp's key names (``EPC-96`` or ``EPC`` as lowercase hex bytes,
``AntennaID``, ``PeakRSSI``, ``FirstSeenTimestampUTC``/``LastSeenTimestampUTC`` in µs, ``TagSeenCount``), so
:func:`hub.protocol.rfid_formats.parse_llrp` reads them exactly as it reads sllurp's callbacks.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VERSION = 1  # LLRP 1.0.1
HEADER = struct.Struct("!HII")  # rsvd(3) ver(3) type(10) | length | id
MAX_MESSAGE = 16 * 1024 * 1024  # a sane bound: a corrupt length must not make us allocate gigabytes

# message types (§16.1)
GET_READER_CAPABILITIES = 1
SET_READER_CONFIG = 3
CLOSE_CONNECTION_RESPONSE = 4
GET_READER_CAPABILITIES_RESPONSE = 11
SET_READER_CONFIG_RESPONSE = 13
CLOSE_CONNECTION = 14
ADD_ROSPEC = 20
DELETE_ROSPEC = 21
START_ROSPEC = 22
STOP_ROSPEC = 23
ENABLE_ROSPEC = 24
DISABLE_ROSPEC = 25
ADD_ROSPEC_RESPONSE = 30
DELETE_ROSPEC_RESPONSE = 31
START_ROSPEC_RESPONSE = 32
STOP_ROSPEC_RESPONSE = 33
ENABLE_ROSPEC_RESPONSE = 34
DISABLE_ROSPEC_RESPONSE = 35
RO_ACCESS_REPORT = 61
KEEPALIVE = 62
READER_EVENT_NOTIFICATION = 63
ENABLE_EVENTS_AND_REPORTS = 64
KEEPALIVE_ACK = 72
ERROR_MESSAGE = 100

RESPONSE_OF = {
    SET_READER_CONFIG: SET_READER_CONFIG_RESPONSE,
    CLOSE_CONNECTION: CLOSE_CONNECTION_RESPONSE,
    ADD_ROSPEC: ADD_ROSPEC_RESPONSE,
    DELETE_ROSPEC: DELETE_ROSPEC_RESPONSE,
    START_ROSPEC: START_ROSPEC_RESPONSE,
    STOP_ROSPEC: STOP_ROSPEC_RESPONSE,
    ENABLE_ROSPEC: ENABLE_ROSPEC_RESPONSE,
    DISABLE_ROSPEC: DISABLE_ROSPEC_RESPONSE,
    GET_READER_CAPABILITIES: GET_READER_CAPABILITIES_RESPONSE,
}

# TV parameters (§16.2.7.3.x): type -> value length in bytes
TV_ANTENNA_ID, TV_FIRST_SEEN_UTC, TV_FIRST_SEEN_UPTIME, TV_LAST_SEEN_UTC, TV_LAST_SEEN_UPTIME = 1, 2, 3, 4, 5
TV_PEAK_RSSI, TV_CHANNEL_INDEX, TV_TAG_SEEN_COUNT, TV_ROSPEC_ID, TV_INV_PARAM_SPEC_ID = 6, 7, 8, 9, 10
TV_C1G2_CRC, TV_C1G2_PC, TV_EPC_96, TV_SPEC_INDEX = 11, 12, 13, 14
TV_LENGTH = {
    1: 2,
    2: 8,
    3: 8,
    4: 8,
    5: 8,
    6: 1,
    7: 2,
    8: 2,
    9: 4,
    10: 2,
    11: 2,
    12: 2,
    13: 12,
    14: 2,
    15: 2,
    16: 4,
    17: 2,
    18: 4,
    19: 2,
    20: 2,
}

# TLV parameters
P_UTC_TIMESTAMP = 128
P_UPTIME = 129
P_ROSPEC = 177
P_RO_BOUNDARY_SPEC = 178
P_ROSPEC_START_TRIGGER = 179
P_ROSPEC_STOP_TRIGGER = 182
P_AISPEC = 183
P_AISPEC_STOP_TRIGGER = 184
P_INVENTORY_PARAMETER_SPEC = 186
P_KEEPALIVE_SPEC = 220
P_RO_REPORT_SPEC = 237
P_TAG_REPORT_CONTENT_SELECTOR = 238
P_TAG_REPORT_DATA = 240
P_EPC_DATA = 241
P_READER_EVENT_NOTIFICATION_DATA = 246
P_ANTENNA_EVENT = 255
P_CONNECTION_ATTEMPT_EVENT = 256
P_CONNECTION_CLOSE_EVENT = 257
P_LLRP_STATUS = 287
P_CUSTOM = 1023

CONNECTION_ATTEMPT_STATUS = {
    0: "Success",
    1: "Failed (a Reader initiated connection already exists)",
    2: "Failed (a Client initiated connection already exists)",
    3: "Failed (any reason other than a connection already exists)",
    4: "Another connection attempted",
}

# TagReportContentSelector flags, most significant bit first (§16.2.7.1)
CONTENT_FLAGS = (
    "EnableROSpecID",
    "EnableSpecIndex",
    "EnableInventoryParameterSpecID",
    "EnableAntennaID",
    "EnableChannelIndex",
    "EnablePeakRSSI",
    "EnableFirstSeenTimestamp",
    "EnableLastSeenTimestamp",
    "EnableTagSeenCount",
    "EnableAccessSpecID",
)


class LLRPError(ValueError):
    """A malformed frame or parameter, or a reader's non-success LLRPStatus."""


# --- encoding -------------------------------------------------------------------------------------------------


def message(msg_type: int, body: bytes = b"", msg_id: int = 0) -> bytes:
    return HEADER.pack((VERSION << 10) | (msg_type & 0x3FF), HEADER.size + len(body), msg_id & 0xFFFFFFFF) + body


def tlv(param_type: int, value: bytes = b"") -> bytes:
    return struct.pack("!HH", param_type & 0x3FF, 4 + len(value)) + value


def tag_report_content_selector(flags: dict[str, bool]) -> bytes:
    bits = 0
    for i, name in enumerate(CONTENT_FLAGS):
        if flags.get(name):
            bits |= 1 << (15 - i)
    return tlv(P_TAG_REPORT_CONTENT_SELECTOR, struct.pack("!H", bits))


def rospec(
    rospec_id: int, antennas: list[int], *, report_every_n_tags: int, report_ms: int, content: dict[str, bool]
) -> bytes:
    """A ROSpec that inventories until STOP_ROSPEC and reports every ``report_ms`` (each AISpec run lasts that
    long and the ROSpec loops over it) or after ``report_every_n_tags`` tags, whichever comes first."""
    start = tlv(P_ROSPEC_START_TRIGGER, struct.pack("!B", 0))  # Null: START_ROSPEC starts it
    stop = tlv(P_ROSPEC_STOP_TRIGGER, struct.pack("!BI", 0, 0))  # Null: runs until STOP_ROSPEC
    boundary = tlv(P_RO_BOUNDARY_SPEC, start + stop)
    ai_stop = tlv(P_AISPEC_STOP_TRIGGER, struct.pack("!BI", 1, report_ms))  # Duration
    inv = tlv(P_INVENTORY_PARAMETER_SPEC, struct.pack("!HB", 1, 1))  # spec id 1, EPCglobal C1G2
    ai = tlv(
        P_AISPEC, struct.pack("!H", len(antennas)) + b"".join(struct.pack("!H", a) for a in antennas) + ai_stop + inv
    )
    report = tlv(
        P_RO_REPORT_SPEC,
        struct.pack("!BH", 1, report_every_n_tags)  # N tags or end of AISpec
        + tag_report_content_selector(content),
    )
    return tlv(P_ROSPEC, struct.pack("!IBB", rospec_id, 0, 0) + boundary + ai + report)  # priority 0, Disabled


def set_reader_config_keepalive(period_ms: int) -> bytes:
    """SET_READER_CONFIG body: no factory reset, a periodic KeepaliveSpec."""
    return struct.pack("!B", 0) + tlv(P_KEEPALIVE_SPEC, struct.pack("!BI", 1, period_ms))


def u32(value: int) -> bytes:
    return struct.pack("!I", value)


# --- decoding -------------------------------------------------------------------------------------------------


def parse_header(head: bytes) -> tuple[int, int, int, int]:
    """(version, type, length, id) of a 10-byte header; LLRPError when it cannot be an LLRP frame."""
    if len(head) != HEADER.size:
        raise LLRPError("short header")
    word, length, msg_id = HEADER.unpack(head)
    version, msg_type = (word >> 10) & 0x7, word & 0x3FF
    if version not in (1, 2):
        raise LLRPError(f"LLRP version {version} (not an LLRP peer?)")
    if not HEADER.size <= length <= MAX_MESSAGE:
        raise LLRPError(f"message length {length} out of range")
    return version, msg_type, length, msg_id


def split_messages(buf: bytes) -> tuple[list[tuple[int, int, bytes]], bytes]:
    """Whole messages ``(type, id, body)`` at the front of ``buf`` and the incomplete rest."""
    out, pos = [], 0
    while len(buf) - pos >= HEADER.size:
        _v, msg_type, length, msg_id = parse_header(buf[pos : pos + HEADER.size])
        if len(buf) - pos < length:
            break
        out.append((msg_type, msg_id, buf[pos + HEADER.size : pos + length]))
        pos += length
    return out, buf[pos:]


def iter_params(data: bytes) -> Iterator[tuple[int, bool, bytes]]:
    """``(type, is_tv, value)`` for each parameter in ``data``."""
    pos, n = 0, len(data)
    while pos < n:
        first = data[pos]
        if first & 0x80:  # TV
            ptype = first & 0x7F
            size = TV_LENGTH.get(ptype)
            if size is None:
                raise LLRPError(f"unknown TV parameter {ptype}")
            if pos + 1 + size > n:
                raise LLRPError(f"TV parameter {ptype} truncated")
            yield ptype, True, data[pos + 1 : pos + 1 + size]
            pos += 1 + size
            continue
        if pos + 4 > n:
            raise LLRPError("TLV header truncated")
        ptype, length = struct.unpack_from("!HH", data, pos)
        ptype &= 0x3FF
        if length < 4 or pos + length > n:
            raise LLRPError(f"TLV parameter {ptype} length {length} out of range")
        yield ptype, False, data[pos + 4 : pos + length]
        pos += length


def status(body: bytes) -> tuple[int, str]:
    """(StatusCode, ErrorDescription) of the LLRPStatus in a response or ERROR_MESSAGE body."""
    for ptype, is_tv, value in iter_params(body):
        if ptype == P_LLRP_STATUS and not is_tv:
            if len(value) < 4:
                raise LLRPError("LLRPStatus truncated")
            code, dlen = struct.unpack_from("!HH", value)
            return code, value[4 : 4 + dlen].decode("utf-8", "replace")
    raise LLRPError("response without LLRPStatus")


def reader_event(body: bytes) -> dict:
    """READER_EVENT_NOTIFICATION: ``{"timestamp_us", "connection_attempt"?, "connection_close"?, "antenna"?}``."""
    out: dict = {}
    for ptype, is_tv, value in iter_params(body):
        if ptype != P_READER_EVENT_NOTIFICATION_DATA or is_tv:
            continue
        for etype, e_tv, ev in iter_params(value):
            if e_tv:
                continue
            if etype in (P_UTC_TIMESTAMP, P_UPTIME) and len(ev) >= 8:
                out["timestamp_us" if etype == P_UTC_TIMESTAMP else "uptime_us"] = struct.unpack_from("!Q", ev)[0]
            elif etype == P_CONNECTION_ATTEMPT_EVENT and len(ev) >= 2:
                out["connection_attempt"] = struct.unpack_from("!H", ev)[0]
            elif etype == P_CONNECTION_CLOSE_EVENT:
                out["connection_close"] = True
            elif etype == P_ANTENNA_EVENT and len(ev) >= 3:
                kind, antenna = struct.unpack_from("!BH", ev)
                out.setdefault("antenna", []).append({"antenna": antenna, "connected": kind == 1})
    return out


def _epc_data(value: bytes) -> bytes:
    if len(value) < 2:
        raise LLRPError("EPCData truncated")
    bits = struct.unpack_from("!H", value)[0]
    nbytes = (bits + 7) // 8
    if len(value) - 2 < nbytes:
        raise LLRPError(f"EPCData says {bits} bits, has {8 * (len(value) - 2)}")
    return value[2 : 2 + nbytes]


def tag_report(value: bytes) -> dict:
    """One TagReportData parameter's value → a sllurp-style dict."""
    tag: dict = {}
    for ptype, is_tv, v in iter_params(value):
        if is_tv:
            if ptype == TV_EPC_96:
                tag["EPC-96"] = v.hex().encode()
            elif ptype == TV_ANTENNA_ID:
                tag["AntennaID"] = struct.unpack("!H", v)[0]
            elif ptype == TV_PEAK_RSSI:
                tag["PeakRSSI"] = struct.unpack("!b", v)[0]
            elif ptype == TV_FIRST_SEEN_UTC:
                tag["FirstSeenTimestampUTC"] = struct.unpack("!Q", v)[0]
            elif ptype == TV_LAST_SEEN_UTC:
                tag["LastSeenTimestampUTC"] = struct.unpack("!Q", v)[0]
            elif ptype == TV_TAG_SEEN_COUNT:
                tag["TagSeenCount"] = struct.unpack("!H", v)[0]
            elif ptype == TV_CHANNEL_INDEX:
                tag["ChannelIndex"] = struct.unpack("!H", v)[0]
            elif ptype == TV_ROSPEC_ID:
                tag["ROSpecID"] = struct.unpack("!I", v)[0]
        elif ptype == P_EPC_DATA:
            tag["EPC"] = _epc_data(v).hex().encode()
    if "EPC-96" not in tag and "EPC" not in tag:
        raise LLRPError("TagReportData without EPC-96 or EPCData")
    return tag


def ro_access_report(body: bytes) -> tuple[list[dict], list[str]]:
    """RO_ACCESS_REPORT body → (tag dicts, errors). A bad TagReportData costs only itself; a broken parameter
    length loses the rest of the report (no way to find the next parameter) and says so. RFSurvey and Custom
    parameters are skipped."""
    tags: list[dict] = []
    errors: list[str] = []
    try:
        for ptype, is_tv, value in iter_params(body):
            if ptype == P_TAG_REPORT_DATA and not is_tv:
                try:
                    tags.append(tag_report(value))
                except LLRPError as exc:
                    errors.append(f"TagReportData: {exc}")
    except LLRPError as exc:
        errors.append(f"RO_ACCESS_REPORT: {exc}")
    return tags, errors
