"""Reader payload adapters, fed the exact JSON from the reference (protocols.md §2) plus variants."""

from __future__ import annotations

import base64
import calendar
import json

import pytest

from hub.protocol import contract
from hub.protocol import rfid_formats as rf

# --- exact documented payloads ------------------------------------------------------------------------------
ZEBRA_DOC = (
    '{"data":{"antenna":1,"channel":866.3,"eventNum":16511,"format":"epc","idHex":"e28011700000020d2a412182",'
    '"peakRssi":-60,"phase":-170.48,"reads":1},"timestamp":"2026-03-28T07:20:13.028+0000","type":"CUSTOM"}'
)
IMPINJ_DOC = (
    '{"timestamp":"2021-07-09T23:35:59.278427551Z","hostname":"impinj-13-f8-f5","tagInventoryEvent":'
    '{"epcHex":"E2801190A5021F80055817CA","antennaPort":1,"peakRssiCdbm":-2650,"transmitPowerCdbm":3000}}'
)
SLLURP_DOC = [
    {
        "AntennaID": 1,
        "EPC": b"3005fb63ac1f3841ec880467",
        "EPC-96": b"3005fb63ac1f3841ec880467",
        "FirstSeenTimestampUTC": 1385585041558537,
        "PeakRSSI": -50,
        "TagSeenCount": 1,
    }
]

SGTIN = "3034257BF7194E4000001A85"


def test_zebra_documented_single_object():
    p = rf.parse("zebra", ZEBRA_DOC.encode())
    assert p.errors == [] and p.heartbeats == []
    (r,) = p.reads
    t = calendar.timegm((2026, 3, 28, 7, 20, 13)) * 1000 + 28
    assert r == rf.TagRead("E28011700000020D2A412182", 1, -60.0, 1, t, t)


def test_zebra_batched_array_simple_mode_and_heartbeat():
    batch = [
        json.loads(ZEBRA_DOC),
        {
            "data": {"antenna": 2, "format": "epc", "idHex": SGTIN.lower(), "peakRssi": -48, "reads": 7},
            "timestamp": "2026-03-28T07:20:13.500+0000",
            "type": "PORTAL",
        },
        {
            "data": {"eventNum": 3, "format": "epc", "idHex": SGTIN},
            "timestamp": "2026-03-28T07:20:14.000+0000",
            "type": "SIMPLE",
        },
        {"data": {"format": "tid", "idHex": "E2003412"}, "timestamp": "2026-03-28T07:20:14.000+0000", "type": "SIMPLE"},
        {
            "type": "heartbeat",
            "timestamp": "2026-03-28T07:21:00.000+0000",
            "data": {"system": {"cpu": {"system": 12}, "ram": {"free": 1000}, "temperature": 41}},
        },
        {"data": {"antenna": 1, "idHex": "ABC"}, "timestamp": "2026-03-28T07:20:14.000+0000", "type": "CUSTOM"},
        {"data": {"antenna": 1, "idHex": SGTIN, "peakRssi": -48}, "timestamp": "not a time", "type": "CUSTOM"},
        "garbage",
    ]
    p = rf.parse_zebra(json.dumps(batch))
    assert [r.epc for r in p.reads] == ["E28011700000020D2A412182", SGTIN, SGTIN]
    assert p.reads[1].count == 7 and p.reads[1].antenna == 2
    assert p.reads[2].antenna == 0 and p.reads[2].rssi is None and p.reads[2].count == 1  # SIMPLE mode: idHex only
    assert p.other == 1  # the TID report
    assert len(p.heartbeats) == 1 and p.heartbeats[0].data["system"]["temperature"] == 41
    assert len(p.errors) == 3  # odd-length EPC, bad time, not an object


def test_zebra_malformed_json():
    p = rf.parse_zebra(b'{"data": {"idHex": ')
    assert p.reads == [] and p.errors and "malformed JSON" in p.errors[0]


def test_impinj_documented_and_base64_and_stream():
    p = rf.parse("impinj", IMPINJ_DOC)
    (r,) = p.reads
    assert (r.epc, r.antenna, r.rssi) == ("E2801190A5021F80055817CA", 1, -26.5)
    assert r.first_ms == calendar.timegm((2021, 7, 9, 23, 35, 59)) * 1000 + 278  # nanoseconds truncated to ms
    # epc as base64 (the default, epcHex off), older firmware without eventType
    b64 = base64.b64encode(bytes.fromhex(SGTIN)).decode()
    ev = {
        "timestamp": "2024-01-02T03:04:05.123456789Z",
        "hostname": "r700",
        "tagInventoryEvent": {"epc": b64, "antennaPort": 2, "peakRssiCdbm": -5525, "frequency": 920250},
    }
    stream = (
        "\n".join(
            [
                json.dumps(ev),
                "",
                json.dumps({"timestamp": "2024-01-02T03:04:06Z", "inventoryStatusEvent": {}}),
                "",
                IMPINJ_DOC,
                "{broken",
            ]
        )
        + "\n"
    )
    p = rf.parse_impinj(stream.encode())
    assert [r.epc for r in p.reads] == [SGTIN, "E2801190A5021F80055817CA"]
    assert p.reads[0].rssi == -55.25 and p.reads[0].first_ms == calendar.timegm((2024, 1, 2, 3, 4, 5)) * 1000 + 123
    assert p.other == 1 and len(p.errors) == 1
    # webhook: JSON array; keep-alive: blank
    assert len(rf.parse_impinj(json.dumps([ev, ev])).reads) == 2
    assert rf.parse_impinj(b"\n").reads == []
    bad = rf.parse_impinj(json.dumps({"timestamp": "2024-01-02T03:04:05Z", "tagInventoryEvent": {"epc": "!!notb64"}}))
    assert bad.reads == [] and "base64" in bad.errors[0]
    bad = rf.parse_impinj(
        json.dumps({"timestamp": "2024-01-02T03:04:05Z", "tagInventoryEvent": {"epcHex": SGTIN, "peakRssiCdbm": 99999}})
    )
    assert bad.reads == [] and "out of range" in bad.errors[0]


def test_storehub_evt_tags_round_trip_through_contract():
    reads = [
        rf.TagRead(SGTIN, 1, -50.0, 3, 1_700_000_000_000, 1_700_000_000_900),
        rf.TagRead(SGTIN, 1, -44.0, 2, 1_700_000_000_100, 1_700_000_001_000),
        rf.TagRead(SGTIN, 2, -70.0, 1, 1_700_000_000_500, 1_700_000_000_500),
    ]
    agg = rf.aggregate(reads)
    assert len(agg) == 2
    ev = contract.make_event("tags", reads=agg)  # valid against the bus contract
    p = rf.parse("storehub", contract.encode(ev))
    by_ant = {r.antenna: r for r in p.reads}
    assert by_ant[1] == rf.TagRead(SGTIN, 1, -44.0, 5, 1_700_000_000_000, 1_700_000_001_000)
    assert by_ant[2].count == 1
    p = rf.parse_storehub({"id": "x", "ts": "2024-01-01T00:00:00Z", "reads": [{"epc": SGTIN}]})
    assert p.reads == [] and p.errors


def test_sllurp_documented_dicts():
    p = rf.parse("llrp", SLLURP_DOC)
    (r,) = p.reads
    assert r == rf.TagRead("3005FB63AC1F3841EC880467", 1, -50.0, 1, 1385585041558, 1385585041558)  # µs -> ms
    p = rf.parse_llrp([{"EPC-96": b"3005fb63ac1f3841ec880467"}, {"EPC": "3000", "FirstSeenTimestampUTC": 1}])
    assert len(p.errors) == 1 and "tag_content_selector" in p.errors[0] and len(p.reads) == 1


def test_timestamps_and_detection():
    assert rf.ts_ms("2026-03-28T07:20:13.028+0000") == rf.ts_ms("2026-03-28T07:20:13.028Z")
    assert rf.ts_ms("2021-07-09T23:35:59.278427551Z") == calendar.timegm((2021, 7, 9, 23, 35, 59)) * 1000 + 278
    assert rf.ms_iso(1774682413028) == "2026-03-28T07:20:13.028Z"
    with pytest.raises(rf.FormatError):
        rf.ts_ms("2026-03-28T07:20:13")
    assert rf.detect(json.loads(ZEBRA_DOC)) == "zebra"
    assert rf.detect(json.loads(IMPINJ_DOC)) == "impinj"
    assert rf.detect(SLLURP_DOC) == "llrp"
    assert rf.detect({"id": "1", "ts": "x", "reads": []}) == "storehub"
    with pytest.raises(rf.FormatError):
        rf.parse("alien", b"{}")


def test_timestamp_fast_path_matches_general_parser():
    from datetime import datetime

    for t in (
        "2026-03-28T07:20:13.5Z",
        "2026-03-28T07:20:13.05+0000",
        "2026-03-28T07:20:13.999999999+00:00",
        "2026-03-28T07:20:13Z",
        "2026-03-28T07:20:13.123-0500",
        "2021-07-09T23:35:59.278427551Z",
    ):
        iso = t.replace("Z", "+00:00")
        if iso[-5] in "+-" and iso[-3] != ":":
            iso = iso[:-2] + ":" + iso[-2:]
        head, _, rest = iso.partition(".")
        if rest:
            digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
            iso = head + "." + (digits + "000000")[:6] + rest[len(digits) :]
        expected = int(datetime.fromisoformat(iso).timestamp() * 1000)
        assert rf.ts_ms(t) == expected, t


def test_unknown_rssi_stays_null_through_the_bridge_and_odd_epcs_are_refused():
    """Zebra SIMPLE mode sends no peakRssi: the folded evt/tags read says null (not 0 dBm, which would pass
    every RSSI floor and win the zone), the contract accepts it and the hub reads it back as unknown."""
    simple = {
        "data": {"eventNum": 1, "format": "epc", "idHex": "3034257bf7194e4000001a85"},
        "timestamp": "2026-03-28T07:20:13.028+0000",
        "type": "SIMPLE",
    }
    reads = rf.parse_zebra(simple).reads
    assert [r.rssi for r in reads] == [None]
    folded = rf.aggregate(reads + [reads[0]._replace(antenna=2, rssi=-70.0)])
    assert sorted((r["antenna"], r["rssi_dbm"]) for r in folded) == [(0, None), (2, -70.0)]
    ev = contract.make_event("tags", reads=folded)
    back = rf.parse_storehub(json.dumps(ev))
    assert back.errors == [] and sorted((r.antenna, r.rssi) for r in back.reads) == [(0, None), (2, -70.0)]
    # EPCs are whole 16-bit words (Gen2): 3 bytes is a broken read, refused here rather than by the contract
    odd = rf.parse_zebra({**simple, "data": {**simple["data"], "idHex": "3034ab"}})
    assert odd.reads == [] and "16-bit words" in odd.errors[0]
