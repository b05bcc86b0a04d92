"""EPC decoding (GS1 EPC Tag Data Standard) for the binary schemes stores meet.

Pure functions, no I/O. ``decode(hex)`` returns an :class:`Epc` for SGTIN-96,
SGTIN-198, SSCC-96 and GIAI-96, or raises ``EpcError`` (a ``hub.protocol.errors.ProtocolError``)
with a machine-readable code for anything else: bad hex, wrong length for the
header, reserved partition 7, a company prefix or item reference that does not
fit its digits, or a header we do not decode.

Layout (TDS §14): header (8 bits) · filter (3) · partition (3) · company prefix
(M bits) · second field (N bits) · serial/reserved. The partition value gives
M/N and the number of decimal digits of each, so no company-prefix table is
needed. Readers report whole 16-bit words: an SGTIN-198 arrives as 52 hex
characters whose last 10 bits are zero padding.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from hub.protocol.errors import ProtocolError

HEADER_SGTIN96 = 0x30
HEADER_SSCC96 = 0x31
HEADER_GIAI96 = 0x34
HEADER_SGTIN198 = 0x36
HEADER_GIAI202 = 0x38

# filter values (SGTIN; TDS table 10-2)
FILTER_NAMES = {
    0: "all_others",
    1: "pos_item",
    2: "full_case",
    3: "reserved",
    4: "inner_pack",
    5: "reserved",
    6: "unit_load",
    7: "component",
}
# Filters that denote one sellable unit: item-level counting counts only these.
ITEM_FILTERS = frozenset({0, 1})

# partition -> (prefix bits, prefix digits, second-field bits, second-field digits)
SGTIN_PARTITIONS = {
    0: (40, 12, 4, 1),
    1: (37, 11, 7, 2),
    2: (34, 10, 10, 3),
    3: (30, 9, 14, 4),
    4: (27, 8, 17, 5),
    5: (24, 7, 20, 6),
    6: (20, 6, 24, 7),
}
SSCC_PARTITIONS = {
    0: (40, 12, 18, 5),
    1: (37, 11, 21, 6),
    2: (34, 10, 24, 7),
    3: (30, 9, 28, 8),
    4: (27, 8, 31, 9),
    5: (24, 7, 34, 10),
    6: (20, 6, 38, 11),
}
GIAI96_PARTITIONS = {
    0: (40, 12, 42, 13),
    1: (37, 11, 45, 14),
    2: (34, 10, 48, 15),
    3: (30, 9, 52, 16),
    4: (27, 8, 55, 17),
    5: (24, 7, 58, 18),
    6: (20, 6, 62, 19),
}

SCHEME_BITS = {
    HEADER_SGTIN96: ("sgtin-96", 96),
    HEADER_SSCC96: ("sscc-96", 96),
    HEADER_GIAI96: ("giai-96", 96),
    HEADER_SGTIN198: ("sgtin-198", 198),
}

_HEX_RE = re.compile(r"^[0-9A-F]+$")
# Characters that must be %-escaped in an EPC pure-identity URI (TDS table I.3.1-1).
_URI_ESCAPE = set('"%&/<>?')


class EpcError(ProtocolError):
    code = "invalid_epc"


@dataclass(frozen=True)
class Epc:
    hex: str
    scheme: str
    filter: int
    partition: int
    uri: str
    gtin: str | None = None
    serial: str | None = None
    sscc: str | None = None
    giai: str | None = None
    company_prefix: str | None = None

    @property
    def is_item(self) -> bool:
        """A sellable unit (SGTIN with filter 0 or 1); cases, pallets and assets are not."""
        return self.scheme.startswith("sgtin") and self.filter in ITEM_FILTERS

    def to_json(self) -> dict[str, Any]:
        """The fixed shape of ``storehub epc decode --json``."""
        out = {"scheme": self.scheme, "filter": self.filter, "uri": self.uri, "gtin": self.gtin, "serial": self.serial}
        if self.scheme.startswith("sscc"):
            out["sscc"] = self.sscc
        if self.scheme.startswith("giai"):
            out["giai"] = self.giai
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_digit(digits: str) -> str:
    """GS1 mod-10 check digit over ``digits`` (weights 3,1,3… from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def normalize_hex(text: str) -> str:
    """Upper-case hex without whitespace or a ``0x`` prefix; raises on anything else."""
    if not isinstance(text, str):
        raise EpcError("EPC must be a hex string", code="invalid_epc_hex")
    s = "".join(text.split()).upper()
    if s.startswith("0X"):
        s = s[2:]
    if not s or not _HEX_RE.match(s):
        raise EpcError(f"not hexadecimal: {text!r}", code="invalid_epc_hex", details={"input": text[:80]})
    return s


def _field(value: int, bits_from_msb: int, width: int, total: int) -> int:
    return (value >> (total - bits_from_msb - width)) & ((1 << width) - 1)


def _digits(value: int, ndigits: int, what: str, hexs: str) -> str:
    s = str(value)
    if len(s) > ndigits:
        raise EpcError(
            f"{what} {value} does not fit {ndigits} digits",
            code="invalid_epc_field",
            details={"hex": hexs, "field": what},
        )
    return s.zfill(ndigits)


def _escape(s: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _URI_ESCAPE else c for c in s)


def _decode_7bit(value: int, nbits: int, hexs: str) -> str:
    chars = []
    for i in range(nbits // 7):
        code = (value >> (nbits - 7 * (i + 1))) & 0x7F
        if code == 0:
            if (value & ((1 << (nbits - 7 * (i + 1))) - 1)) != 0:
                raise EpcError(
                    "characters after the serial's terminating zero",
                    code="invalid_epc_field",
                    details={"hex": hexs, "field": "serial"},
                )
            break
        if code < 0x21 or code == 0x7F:
            raise EpcError(
                f"serial character 0x{code:02X} is not in the GS1 character set",
                code="invalid_epc_field",
                details={"hex": hexs, "field": "serial"},
            )
        chars.append(chr(code))
    if not chars:
        raise EpcError("empty alphanumeric serial", code="invalid_epc_field", details={"hex": hexs, "field": "serial"})
    return "".join(chars)


def decode(text: str) -> Epc:
    """Decode an EPC given as hex. Raises ``EpcError`` with a specific code on bad input."""
    hexs = normalize_hex(text)
    header = int(hexs[:2], 16) if len(hexs) >= 2 else -1
    if header not in SCHEME_BITS:
        known = header == HEADER_GIAI202
        raise EpcError(
            f"EPC header 0x{header:02X} is {'not decoded here' if known else 'not a supported EPC scheme'}",
            code="unsupported_epc_scheme",
            details={"hex": hexs, "header": f"{header:02X}"},
        )
    scheme, nbits = SCHEME_BITS[header]
    total_bits = len(hexs) * 4
    if scheme == "sgtin-198":
        # 198 bits padded to whole bytes (200) or whole 16-bit words (208); padding must be zero
        if total_bits not in (200, 208):
            raise EpcError(
                f"{len(hexs)} hex digits: SGTIN-198 needs 50 or 52",
                code="invalid_epc_length",
                details={"hex": hexs, "bits": total_bits, "scheme": scheme},
            )
        value = int(hexs, 16)
        if value & ((1 << (total_bits - nbits)) - 1):
            raise EpcError(
                "non-zero padding after the 198 bits of an SGTIN-198", code="invalid_epc_length", details={"hex": hexs}
            )
        value >>= total_bits - nbits
    else:
        if total_bits != nbits:
            raise EpcError(
                f"{total_bits} bits: {scheme.upper()} needs exactly {nbits}",
                code="invalid_epc_length",
                details={"hex": hexs, "bits": total_bits, "scheme": scheme},
            )
        value = int(hexs, 16)
    filt = _field(value, 8, 3, nbits)
    partition = _field(value, 11, 3, nbits)
    if partition == 7:
        raise EpcError(
            "partition 7 is reserved (invalid)", code="invalid_epc_partition", details={"hex": hexs, "partition": 7}
        )
    table = {
        "sgtin-96": SGTIN_PARTITIONS,
        "sgtin-198": SGTIN_PARTITIONS,
        "sscc-96": SSCC_PARTITIONS,
        "giai-96": GIAI96_PARTITIONS,
    }[scheme]
    mbits, mdigits, nbits2, ndigits = table[partition]
    prefix = _digits(_field(value, 14, mbits, nbits), mdigits, "company prefix", hexs)
    second = _field(value, 14 + mbits, nbits2, nbits)
    rest_bits = nbits - 14 - mbits - nbits2
    rest = value & ((1 << rest_bits) - 1)

    if scheme.startswith("sgtin"):
        item_ref = _digits(second, ndigits, "item reference", hexs)
        if scheme == "sgtin-96":
            serial = str(rest)
        else:
            serial = _decode_7bit(rest, rest_bits, hexs)
        body = item_ref[0] + prefix + item_ref[1:]
        gtin = body + check_digit(body)
        uri = f"urn:epc:id:sgtin:{prefix}.{item_ref}.{_escape(serial)}"
        return Epc(hexs, scheme, filt, partition, uri, gtin=gtin, serial=serial, company_prefix=prefix)
    if scheme == "sscc-96":
        serial_ref = _digits(second, ndigits, "serial reference", hexs)
        body = serial_ref[0] + prefix + serial_ref[1:]
        sscc = body + check_digit(body)
        return Epc(
            hexs, scheme, filt, partition, f"urn:epc:id:sscc:{prefix}.{serial_ref}", sscc=sscc, company_prefix=prefix
        )
    # giai-96: the individual asset reference is an integer (no leading zeros)
    asset = str(second)
    if len(asset) > ndigits:
        raise EpcError(
            f"asset reference {asset} does not fit {ndigits} digits",
            code="invalid_epc_field",
            details={"hex": hexs, "field": "asset reference"},
        )
    return Epc(
        hexs, scheme, filt, partition, f"urn:epc:id:giai:{prefix}.{asset}", giai=prefix + asset, company_prefix=prefix
    )


def try_decode(text: str) -> Epc | None:
    try:
        return decode(text)
    except EpcError:
        return None


# ---- encoding (used by the simulator and tests; mirrors decode) ------------------------------------------------


def encode_sgtin96(gtin: str, serial: int, *, filter: int = 1, company_prefix_digits: int = 7) -> str:
    """SGTIN-96 hex for a GTIN-14 and integer serial, given the company prefix length (6..12 digits)."""
    if not (isinstance(gtin, str) and len(gtin) == 14 and gtin.isdigit()):
        raise EpcError("gtin must be 14 digits", code="invalid_gtin")
    if check_digit(gtin[:13]) != gtin[13]:
        raise EpcError("bad GTIN check digit", code="invalid_gtin")
    if not 0 <= serial < 2**38:
        raise EpcError("SGTIN-96 serial must be < 2^38", code="invalid_epc_field")
    if not 0 <= filter <= 7:
        raise EpcError("filter is 0..7", code="invalid_epc_field")
    partition = {12: 0, 11: 1, 10: 2, 9: 3, 8: 4, 7: 5, 6: 6}.get(company_prefix_digits)
    if partition is None:
        raise EpcError("company prefix is 6 to 12 digits", code="invalid_epc_field")
    mbits, mdigits, nbits, _nd = SGTIN_PARTITIONS[partition]
    prefix = int(gtin[1 : 1 + mdigits])
    item_ref = int(gtin[0] + gtin[1 + mdigits : 13])
    v = HEADER_SGTIN96
    v = (v << 3) | filter
    v = (v << 3) | partition
    v = (v << mbits) | prefix
    v = (v << nbits) | item_ref
    v = (v << 38) | serial
    return f"{v:024X}"
