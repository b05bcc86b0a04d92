"""`storehub devices decode`: what StoreHub makes of a raw reader or scale payload, with the agents' own parsers
(public payloads from /work/shared/reference/protocols.md and tests/vectors/vectors.json)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest

from hub.bus.decode import decode
from tests.support.common import ROOT, VECTORS_FILE

VECTORS = json.loads(VECTORS_FILE.read_text())

ZEBRA_TAG = (
    '{"data":{"antenna":1,"channel":866.3,"eventNum":16511,"format":"epc",'
    '"idHex":"e28011700000020d2a412182","peakRssi":-60,"phase":-170.48,"reads":1},'
    '"timestamp":"2026-03-28T07:20:13.028+0000","type":"CUSTOM"}'
)
ZEBRA_HEARTBEAT = (
    '{"type":"heartbeat","timestamp":"2026-03-28T07:21:00.000+0000","data":'
    '{"radioConnection":"connected","antennas":{"1":"connected","2":"disconnected"},'
    '"system":{"temperature":41}}}'
)
IMPINJ_LINE = (
    '{"timestamp":"2021-07-09T23:35:59.278427551Z","hostname":"impinj-13-f8-f5","tagInventoryEvent":'
    '{"epcHex":"E2801190A5021F80055817CA","antennaPort":1,"peakRssiCdbm":-2650,"transmitPowerCdbm":3000}}'
)
# the RO_ACCESS_REPORT pinned in tests/devices/test_rfid_llrp.py: EPC-96, antenna 2, -52 dBm, 7 sightings
LLRP_REPORT = bytes.fromhex(
    "043D000000350000000000F0002B8D3034257BF7194E4000001A8581000286CC820004EC2EA8354C09840004EC2EA8391C99880007"
)


def _antenna_event(port: int, connected: bool) -> bytes:
    """READER_EVENT_NOTIFICATION with one AntennaEvent (LLRP 1.0.1 §16.2.7.6)."""

    def tlv(t, v):
        return struct.pack("!HH", t, 4 + len(v)) + v

    body = tlv(
        246, tlv(128, struct.pack("!Q", 1_774_682_460_000_000)) + tlv(255, struct.pack("!BH", int(connected), port))
    )
    return struct.pack("!HII", (1 << 10) | 63, 10 + len(body), 5) + body


def _cli(tmp_path, fmt: str, data: bytes, *extra: str) -> subprocess.CompletedProcess:
    f = tmp_path / "payload.bin"
    f.write_bytes(data)
    return subprocess.run(
        [sys.executable, "-P", "-m", "hub.cli", "devices", "decode", "--format", fmt, str(f), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_decodes_a_zebra_tag_event_and_heartbeat_as_json(tmp_path):
    r = _cli(tmp_path, "zebra", (ZEBRA_TAG + "\n" + ZEBRA_HEARTBEAT + "\n").encode(), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["reads"] == [
        {
            "epc": "E28011700000020D2A412182",
            "antenna": 1,
            "rssi_dbm": -60.0,
            "count": 1,
            "first_seen": "2026-03-28T07:20:13.028Z",
            "last_seen": "2026-03-28T07:20:13.028Z",
        }
    ]
    assert out["heartbeat"]["antennas"] == {"1": "connected", "2": "disconnected"}
    assert out["heartbeat"]["radio"] == "connected" and out["heartbeat"]["temperature_c"] == 41


def test_impinj_centi_dbm_and_base64_epc():
    out, status = decode("impinj", IMPINJ_LINE.encode())
    assert status == 0 and out["reads"][0]["epc"] == "E2801190A5021F80055817CA"
    assert out["reads"][0]["rssi_dbm"] == -26.5 and out["heartbeat"] is None
    b64 = json.dumps(
        {"timestamp": "2021-07-09T23:35:59.278Z", "tagInventoryEvent": {"epc": "MDQle/cZTkAAABqF", "antennaPort": 2}}
    )
    out, _ = decode("impinj", b64.encode())
    assert out["reads"][0]["epc"] == "3034257BF7194E4000001A85" and out["reads"][0]["rssi_dbm"] is None


def test_llrp_frames_raw_or_hex_give_the_reads_and_antenna_states():
    data = LLRP_REPORT + _antenna_event(2, False) + _antenna_event(1, True)
    for payload in (data, data.hex().encode()):
        out, status = decode("llrp", payload, now_ms=0)
        assert status == 0 and out["errors"] == []
        (read,) = out["reads"]
        assert (read["epc"], read["antenna"], read["rssi_dbm"], read["count"]) == (
            "3034257BF7194E4000001A85",
            2,
            -52.0,
            7,
        )
        assert read["last_seen"] > read["first_seen"]
        assert out["heartbeat"]["antennas"] == {"1": "connected", "2": "disconnected"}


@pytest.mark.parametrize("v", VECTORS["scale_mt_sics"], ids=lambda v: v["meaning"])
def test_mt_sics_vectors(tmp_path, v):
    r = _cli(tmp_path, "mt-sics", v["reply"].encode("latin-1"), "--json")
    out = json.loads(r.stdout)
    if v["reply"].startswith("S I"):
        assert r.returncode == 1 and out["kind"] == "status" and "not executable" in out["error"]
        assert "error:" in r.stderr
    else:
        assert r.returncode == 0 and out["error"] is None and out["kind"] == "weight"
        assert out["grams"] == (12345 if "12.345" in v["reply"] else 12340)
        assert out["stable"] is (v["reply"][2] == "S")


def test_toledo_vectors_and_padded_reply(tmp_path):
    weight, motion, _echo = VECTORS["scale_toledo_8217"]
    out, status = decode("toledo-8217", bytes.fromhex(weight["reply_hex"]))
    assert status == 0 and (out["kind"], out["grams"], out["stable"]) == ("weight", 1234, True)
    assert out["event"] == {"grams": 1234, "mg": 1234000, "stable": True}  # what the agent publishes
    out, status = decode("toledo-8217", bytes.fromhex(motion["reply_hex"]))
    assert status == 0 and out["stable"] is False and out["grams"] is None and out["flags"] == ["motion"]
    r = _cli(tmp_path, "toledo-8217", b"\x02  1.234\r", "--json")  # padded with spaces: a reading
    assert r.returncode == 0 and json.loads(r.stdout)["grams"] == 1234
    r = _cli(tmp_path, "toledo-8217", b"\x02?B\r", "--json")  # over capacity: a refusal
    assert r.returncode == 1 and json.loads(r.stdout)["error"] == "overload"


def test_a_tare_keeps_its_milligrams():
    out, status = decode("mt-sics", b"T S      2.486 g\r\n")
    assert status == 0 and out["kind"] == "tare" and out["grams"] == 2.486 and out["mg"] == 2486
    assert out["event"] == {"tare_grams": 2, "tare_mg": 2486}


@pytest.mark.parametrize(
    "fmt,data",
    [
        ("mt-sics", b"hello"),
        ("toledo-8217", b"\x02garbage\r"),
        ("zebra", b"{not json"),
        ("llrp", b"\x00\x01\x02"),
        ("impinj", b""),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, fmt, data):
    r = _cli(tmp_path, fmt, data, "--json")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "cannot decode" in json.loads(r.stdout)["error"] and "cannot decode" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_file_exits_2(tmp_path):
    r = subprocess.run(
        [sys.executable, "-P", "-m", "hub.cli", "devices", "decode", "--format", "zebra", str(tmp_path / "nope.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
