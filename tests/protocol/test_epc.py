"""EPC decoding: published vectors, GIAI-96, every SGTIN-96 partition round trip, bad input, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from epcpy import get_gs1_key, hex_to_tag_encodable
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.cli import main
from hub.protocol import epc
from tests.support.common import VECTORS_FILE

SHARED = VECTORS_FILE

# The EPC section of the shared reference vectors (kept here so the tests run on any machine).
VECTORS = [
    {
        "hex": "3074257BF7194E4000001A85",
        "scheme": "sgtin-96",
        "filter": 3,
        "partition": 5,
        "uri": "urn:epc:id:sgtin:0614141.812345.6789",
        "gtin": "80614141123458",
        "serial": "6789",
    },
    {
        "hex": "3034257BF7194E4000001A85",
        "scheme": "sgtin-96",
        "filter": 1,
        "partition": 5,
        "uri": "urn:epc:id:sgtin:0614141.812345.6789",
        "gtin": "80614141123458",
        "serial": "6789",
    },
    {
        "hex": "30C579D5D4ADB60000000000",
        "scheme": "sgtin-96",
        "filter": 6,
        "partition": 1,
        "uri": "urn:epc:id:sgtin:50712192365.88.0",
        "gtin": "85071219236581",
        "serial": "0",
    },
    {
        "hex": "3034257BF7194E7FFFFFFFFF",
        "scheme": "sgtin-96",
        "filter": 1,
        "partition": 5,
        "uri": "urn:epc:id:sgtin:0614141.812345.274877906943",
        "gtin": "80614141123458",
        "serial": "274877906943",
    },
    {
        "hex": "3674257BF6B7A659B2C2BF100000000000000000000000000000",
        "scheme": "sgtin-198",
        "filter": 3,
        "partition": 5,
        "uri": "urn:epc:id:sgtin:0614141.712345.32a%2Fb",
        "gtin": "70614141123451",
        "serial": "32a/b",
    },
    {
        "hex": "3174257BF4499602D2000000",
        "scheme": "sscc-96",
        "filter": 3,
        "partition": 5,
        "uri": "urn:epc:id:sscc:0614141.1234567890",
        "sscc": "106141412345678908",
    },
]
INVALID = [
    {"hex": "303C257BF7194E4000001A85", "why": "partition 7 is invalid"},
    {"hex": "3074257BF7194E40000", "why": "76 bits: too short for SGTIN-96"},
]


def _all_vectors():
    vectors, invalid = list(VECTORS), list(INVALID)
    if SHARED.exists():
        data = json.loads(SHARED.read_text())
        vectors += [v for v in data.get("epc", []) if v["hex"] not in {x["hex"] for x in vectors}]
        invalid += [v for v in data.get("epc_invalid", []) if v["hex"] not in {x["hex"] for x in invalid}]
    return vectors, invalid


ALL_VALID, ALL_INVALID = _all_vectors()


@pytest.mark.parametrize("v", ALL_VALID, ids=lambda v: v["hex"])
def test_published_vectors(v):
    e = epc.decode(v["hex"])
    assert e.scheme == v["scheme"]
    assert e.filter == v["filter"]
    assert e.partition == v["partition"]
    assert e.uri == v["uri"]
    out = e.to_json()
    for k in ("gtin", "serial", "sscc", "giai"):
        if k in v:
            assert out[k] == v[k], k
    assert set(out) >= {"scheme", "filter", "uri", "gtin", "serial"}


@pytest.mark.parametrize("v", ALL_INVALID, ids=lambda v: v["why"])
def test_published_invalid_vectors(v):
    with pytest.raises(epc.EpcError):
        epc.decode(v["hex"])


def test_invalid_codes_say_why():
    with pytest.raises(epc.EpcError) as exc:
        epc.decode("303C257BF7194E4000001A85")
    assert exc.value.code == "invalid_epc_partition"
    with pytest.raises(epc.EpcError) as exc:
        epc.decode("3074257BF7194E40000")
    assert exc.value.code == "invalid_epc_length"
    for bad in ("", "   ", "30ZZ257BF7194E4000001A85", "g" * 24):
        with pytest.raises(epc.EpcError) as exc:
            epc.decode(bad)
        assert exc.value.code == "invalid_epc_hex"
    # the Zebra documentation's example tag is an unprogrammed chip (E2 = TID-style), not a GS1 EPC
    with pytest.raises(epc.EpcError) as exc:
        epc.decode("e28011700000020d2a412182")
    assert exc.value.code == "unsupported_epc_scheme"
    # GIAI-202 is recognised but not decoded
    with pytest.raises(epc.EpcError) as exc:
        epc.decode("38" + "0" * 48)
    assert exc.value.code == "unsupported_epc_scheme"
    # 96-bit schemes must be exactly 96 bits: a trailing extra word is not silently ignored
    with pytest.raises(epc.EpcError):
        epc.decode("3074257BF7194E4000001A850000")


def test_case_whitespace_and_prefix_are_tolerated():
    ref = epc.decode("3074257BF7194E4000001A85")
    for variant in (
        "3074257bf7194e4000001a85",
        "  3074257BF7194E4000001A85\n",
        "3074 257B F719 4E40 0000 1A85",
        "0x3074257BF7194E4000001A85",
        "\t3074257bF7194E4000001a85 ",
    ):
        assert epc.decode(variant) == ref
    assert ref.hex == "3074257BF7194E4000001A85"


def test_sgtin198_word_padding():
    full = "3674257BF6B7A659B2C2BF100000000000000000000000000000"
    assert len(full) == 52
    assert epc.decode(full).serial == "32a/b"
    assert epc.decode(full[:50]).serial == "32a/b"  # 200 bits: padded to bytes only
    assert epc.decode(full.lower()).uri.endswith("32a%2Fb")
    with pytest.raises(epc.EpcError) as exc:
        epc.decode(full[:-1] + "1")  # padding must be zero
    assert exc.value.code == "invalid_epc_length"
    with pytest.raises(epc.EpcError):
        epc.decode(full[:48])
    with pytest.raises(epc.EpcError):
        epc.decode(full + "0000")


def _sgtin198(prefix_digits: int, gtin: str, serial: str, filt: int = 1) -> str:
    partition = 12 - prefix_digits
    mbits, mdigits, nbits, _ = epc.SGTIN_PARTITIONS[partition]
    v = 0x36
    v = (v << 3) | filt
    v = (v << 3) | partition
    v = (v << mbits) | int(gtin[1 : 1 + mdigits])
    v = (v << nbits) | int(gtin[0] + gtin[1 + mdigits : 13])
    chars = 0
    for i in range(20):
        chars = (chars << 7) | (ord(serial[i]) if i < len(serial) else 0)
    v = (v << 140) | chars
    return f"{v << 10:052X}"


def test_sgtin198_alphanumeric_serials_match_epcpy():
    for serial in ("A", "ABC-123_x", "1234567890abcdefghij", "a&b<c>", "%25"):
        h = _sgtin198(7, "80614141123458", serial)
        e = epc.decode(h)
        assert e.serial == serial
        assert e.gtin == "80614141123458"
        assert hex_to_tag_encodable(h[:50]).epc_uri == e.uri  # independent implementation agrees


def test_giai96():
    # prefix 0614141 (partition 5, 24 bits), asset 12345 (58 bits)
    e = epc.decode("3474257BF400000000003039")
    assert (e.scheme, e.filter, e.partition) == ("giai-96", 3, 5)
    assert e.uri == "urn:epc:id:giai:0614141.12345"
    assert e.to_json() == {
        "scheme": "giai-96",
        "filter": 3,
        "uri": "urn:epc:id:giai:0614141.12345",
        "gtin": None,
        "serial": None,
        "giai": "061414112345",
    }
    assert not e.is_item
    # partition 0: 12-digit prefix, 42-bit asset ref
    v = (0x34 << 88) | (0 << 85) | (0 << 82) | (123456789012 << 42) | 98765
    e0 = epc.decode(f"{v:024X}")
    assert e0.uri == "urn:epc:id:giai:123456789012.98765"
    assert hex_to_tag_encodable(f"{v:024X}").epc_uri == e0.uri
    # a prefix that overflows its digits is rejected
    bad = (0x34 << 88) | (5 << 82) | ((10**7 + 5) << 58) | 1
    with pytest.raises(epc.EpcError) as exc:
        epc.decode(f"{bad:024X}")
    assert exc.value.code == "invalid_epc_field"


def test_sgtin_item_reference_overflow_rejected():
    # partition 5: item reference has 6 digits in 20 bits; 999999 < 2^20 = 1048576 so 1048575 overflows
    v = (0x30 << 88) | (1 << 85) | (5 << 82) | (614141 << 58) | (1048575 << 38) | 1
    with pytest.raises(epc.EpcError) as exc:
        epc.decode(f"{v:024X}")
    assert exc.value.code == "invalid_epc_field"


def _gtin(body13: str) -> str:
    return body13 + epc.check_digit(body13)


@settings(max_examples=300, deadline=None)
@given(
    prefix_digits=st.integers(6, 12),
    digits=st.text("0123456789", min_size=13, max_size=13),
    serial=st.integers(0, 2**38 - 1),
    filt=st.integers(0, 7),
)
def test_sgtin96_round_trip_every_partition(prefix_digits, digits, serial, filt):
    gtin = _gtin(digits)
    h = epc.encode_sgtin96(gtin, serial, filter=filt, company_prefix_digits=prefix_digits)
    e = epc.decode(h)
    assert (e.scheme, e.gtin, e.serial, e.filter, e.partition) == (
        "sgtin-96",
        gtin,
        str(serial),
        filt,
        12 - prefix_digits,
    )
    assert e.company_prefix == gtin[1 : 1 + prefix_digits]
    assert get_gs1_key(hex_to_tag_encodable(h).epc_uri) == gtin  # cross-check with epcpy
    assert epc.decode(h.lower()) == e


def test_item_filter_classification():
    assert epc.decode("3034257BF7194E4000001A85").is_item  # filter 1
    assert not epc.decode("3054257BF7194E4000001A85").is_item  # filter 2 = full case
    assert not epc.decode("3174257BF4499602D2000000").is_item  # SSCC


def test_cli_json_output_and_errors():
    r = CliRunner().invoke(main, ["epc", "decode", "3074257BF7194E4000001A85", "--json"])
    assert r.exit_code == 0
    assert json.loads(r.output) == {
        "scheme": "sgtin-96",
        "filter": 3,
        "uri": "urn:epc:id:sgtin:0614141.812345.6789",
        "gtin": "80614141123458",
        "serial": "6789",
    }
    r = CliRunner().invoke(main, ["epc", "decode", "3174257BF4499602D2000000", "--json"])
    assert json.loads(r.output)["sscc"] == "106141412345678908"
    assert json.loads(r.output)["gtin"] is None
    r = CliRunner().invoke(main, ["epc", "decode", "303C257BF7194E4000001A85", "--json"])
    assert r.exit_code != 0
    assert json.loads(r.output)["error"]["code"] == "invalid_epc_partition"
    r = CliRunner().invoke(main, ["epc", "decode", "3074257BF7194E4000001A85"])
    assert r.exit_code == 0 and "urn:epc:id:sgtin:0614141.812345.6789" in r.output


def test_cli_as_installed_program():
    exe = Path(sys.executable).with_name("storehub")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "hub.cli"]
    p = subprocess.run(
        cmd + ["epc", "decode", "3674257bf6b7a659b2c2bf100000000000000000000000000000", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["serial"] == "32a/b"
    p = subprocess.run(cmd + ["epc", "decode", "nothex", "--json"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert json.loads(p.stdout)["error"]["code"] == "invalid_epc_hex"
