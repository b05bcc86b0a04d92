"""RFID sweeps into a count: one record per EPC, floors, cases and unknowns, zones, serialised EPCs."""

from __future__ import annotations

import pytest

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.protocol import epc
from hub.protocol.rfid_formats import TagRead
from hub.stocktake import approval, ingest, rfid_reports, sessions, sweeps, variance
from tests.support.common import key

READER = "fx9600-1"
T0 = 1_774_682_413_000
MILK14 = "05901234123457"
RICE14 = "00000096385074"


def sgtin(gtin14: str, serial: int, filt: int = 1) -> str:
    return epc.encode_sgtin96(gtin14, serial, filter=filt, company_prefix_digits=7)


def reads(e: str, n: int, rssi: float, ant: int = 1, t: int = T0) -> list[TagRead]:
    return [TagRead(e, ant, rssi, 1, t + i * 40, t + i * 40) for i in range(n)]


@pytest.fixture
def store(hubctx, sample):
    with hubctx.db.write() as conn:
        ledger.post(conn, MovementRequest("receive", sample["milk"]["id"], sample["bin1"]["id"], 10, "d", "t", key()))
        ledger.post(conn, MovementRequest("receive", sample["rice"]["id"], sample["bin1"]["id"], 4, "d", "t", key()))
        sweeps.set_antenna(conn, reader=READER, antenna=1, location_id=sample["bin1"]["id"], actor="t")
        sweeps.set_antenna(conn, reader=READER, antenna=2, location_id=sample["bin2"]["id"], actor="t")
    return sample


def open_sweep(hubctx, store, **kw):
    with hubctx.db.write() as conn:
        s, _ = sessions.create(conn, name="RFID count", actor="sup", **kw)
        sweeps.start_sweep(conn, s["id"], reader=READER, location_id=store["aisle"]["id"], actor="sup")
    return s["id"]


def test_sweep_records_floors_kinds_and_zones(hubctx, store):
    sid = open_sweep(hubctx, store)
    ing = ingest.TagIngest(hubctx.db)
    feed = []
    for serial in range(1, 9):
        feed += reads(sgtin(MILK14, serial), 5, -50.0)
    feed += reads(sgtin(MILK14, 9), 1, -40.0)  # one read only: below min_reads
    feed += reads(sgtin(MILK14, 10), 6, -80.0)  # stray from the next zone: below the floor
    feed += reads(sgtin(RICE14, 1), 3, -70.0, ant=1) + reads(sgtin(RICE14, 1), 3, -45.0, ant=2)
    feed += reads(sgtin(MILK14, 500, filt=2), 4, -50.0)  # a full case
    feed += reads("3174257BF4499602D2000000", 4, -50.0)  # SSCC pallet
    feed += reads(sgtin("80614141123458", 1), 4, -50.0)  # GTIN we do not sell
    feed += reads("E28011700000020D2A412182", 4, -50.0)  # not a GS1 EPC
    assert ing.feed(READER, feed) == len(feed)
    assert ing.feed("other-reader", reads(sgtin(MILK14, 1), 3, -50.0)) == 0
    assert ing.stats["unassigned"] == 3
    assert ing.flush() == 15
    conn = hubctx.db.read()
    recs = {r["epc"]: r for r in rfid_reports.tag_records(conn, sid, limit=100)[0]}
    milk1 = recs[sgtin(MILK14, 1)]
    assert (milk1["reads"], milk1["peak_rssi"], milk1["antennas"], milk1["kind"]) == (5, -50.0, [1], "item")
    assert milk1["first_seen"] == "2026-03-28T07:20:13.000Z" and milk1["last_seen"] == "2026-03-28T07:20:13.160Z"
    assert milk1["zone_location_id"] == store["bin1"]["id"] and milk1["serial"] == "1"
    rice = recs[sgtin(RICE14, 1)]
    assert rice["antennas"] == [1, 2] and rice["best_antenna"] == 2 and rice["zone_location_id"] == store["bin2"]["id"]
    assert recs[sgtin(MILK14, 500, filt=2)]["kind"] == "case"
    assert recs["3174257BF4499602D2000000"]["kind"] == "pallet"
    assert recs[sgtin("80614141123458", 1)]["kind"] == "unknown_gtin"
    assert recs["E28011700000020D2A412182"]["kind"] == "undecodable"

    s = sessions.get(conn, sid)
    summary = variance.rfid_summary(conn, s)
    assert summary == {
        "unique_tags": 15,
        "raw_reads": len(feed),
        "counted_tags": 9,
        "filtered_weak_or_few": 2,
        "cases_pallets": 2,
        "assets": 0,
        "unknown_gtin": 1,
        "undecodable": 1,
        "out_of_scope": 0,
    }
    rep = variance.report(conn, sid)
    by = {(x["sku"], x["location_id"]): x for x in rep["lines"]}
    milk = by[("MILK-1L", store["bin1"]["id"])]
    assert (milk["source"], milk["rfid_qty"], milk["expected"], milk["variance"]) == ("rfid", 8, 10, -2)
    assert by[("RICE-5KG", store["bin2"]["id"])]["variance"] == 1
    # the sweep view
    view = rfid_reports.sweep_status(conn, sid)
    assert view["unique_tags"] == 15 and view["counted_tags"] == 9 and view["raw_reads"] == len(feed)
    assert view["sweeps"][0]["raw_reads"] == len(feed)
    prog = {(i["sku"], i["location_code"]): (i["read"], i["expected"]) for i in view["items"]}
    assert prog[("MILK-1L", "A01-01")] == (8, 10) and prog[("RICE-5KG", "A01-02")] == (1, 0)


def test_incremental_flushes_and_two_ingesters_add_up(hubctx, store):
    sid = open_sweep(hubctx, store)
    a, b = ingest.TagIngest(hubctx.db), ingest.TagIngest(hubctx.db)
    e = sgtin(MILK14, 42)
    a.feed(READER, reads(e, 3, -60.0, t=T0))
    a.flush()
    b.feed(READER, reads(e, 4, -52.0, ant=2, t=T0 - 1000))
    a.feed(READER, reads(e, 2, -58.0, t=T0 + 5000))
    b.flush()
    a.flush()
    rec = rfid_reports.tag_records(hubctx.db.read(), sid)[0][0]
    assert rec["reads"] == 9 and rec["peak_rssi"] == -52.0 and rec["best_antenna"] == 2
    assert rec["zone_location_id"] == store["bin2"]["id"] and rec["antennas"] == [1, 2]
    assert rec["first_seen"] == "2026-03-28T07:20:12.000Z" and rec["last_seen"] == "2026-03-28T07:20:18.040Z"


def test_settings_scope_and_closed_sessions(hubctx, store):
    # a strict floor and more reads: fewer tags count
    sid = open_sweep(
        hubctx,
        store,
        rssi_floor_dbm=-55,
        min_reads=4,
        scope={"location_ids": [store["bin1"]["id"]], "item_ids": [store["milk"]["id"]]},
    )
    ing = ingest.TagIngest(hubctx.db)
    ing.feed(
        READER,
        reads(sgtin(MILK14, 1), 4, -50.0)
        + reads(sgtin(MILK14, 2), 3, -50.0)
        + reads(sgtin(MILK14, 3), 5, -60.0)
        + reads(sgtin(RICE14, 1), 5, -50.0)
        + reads(sgtin(MILK14, 4), 5, -40.0, ant=2),
    )
    ing.flush()
    conn = hubctx.db.read()
    rep = variance.report(conn, sid)
    assert [(x["sku"], x["rfid_qty"]) for x in rep["lines"] if x["rfid_qty"]] == [("MILK-1L", 1)]
    summary = variance.rfid_summary(conn, sessions.get(conn, sid))
    assert summary["out_of_scope"] == 2  # rice (item) and milk seen in bin2 (zone)
    with hubctx.db.write() as c:
        sessions.close(c, sid, actor="sup")
    before = ing.stats["unassigned"]
    ing.feed(READER, reads(sgtin(MILK14, 9), 5, -50.0))  # route still cached: buffered, dropped at flush
    ing.refresh()
    assert ing.feed(READER, reads(sgtin(MILK14, 9), 5, -50.0)) == 0  # sweep ended with the session
    ing.flush()
    assert ing.stats["unassigned"] == before + 10
    epcs = [r["epc"] for r in rfid_reports.tag_records(hubctx.db.read(), sid, kind="item")[0]]
    assert len(epcs) == 3 and sgtin(MILK14, 9) not in epcs


def test_mixed_scan_and_rfid_then_serialised_epcs_show_moves(hubctx, store):
    from hub.stocktake import scans

    sid = open_sweep(hubctx, store, uncounted="exclude")
    ing = ingest.TagIngest(hubctx.db)
    for serial in range(1, 9):
        ing.feed(READER, reads(sgtin(MILK14, serial), 3, -50.0))
    ing.flush()
    with hubctx.db.write() as conn:
        scans.record_scan(conn, sid, counter="u1", client_key=key(), code="SHL-A01-01")
        scans.record_scan(conn, sid, counter="u1", client_key=key(), code="5901234123457", qty=9)
    conn = hubctx.db.read()
    milk = [x for x in variance.report(conn, sid)["lines"] if x["sku"] == "MILK-1L"][0]
    assert (milk["source"], milk["scan_qty"], milk["rfid_qty"], milk["counted"]) == ("mixed", 9, 8, 9)
    with hubctx.db.write() as c:
        sessions.close(c, sid, actor="sup")
        approval.approve(c, sid, actor="sup", role="supervisor", idempotency_key=key())
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM rfid_epc_last_seen").fetchone()[0] == 8

    later = open_sweep(hubctx, store)
    view = rfid_reports.sweep_status(hubctx.db.read(), later)
    assert len(view["expected_missing"]) == 8  # nothing read yet: all eight known EPCs missing
    ing = ingest.TagIngest(hubctx.db)
    for serial in range(1, 7):
        ing.feed(READER, reads(sgtin(MILK14, serial), 3, -50.0))
    ing.feed(READER, reads(sgtin(MILK14, 8), 3, -50.0, ant=2))  # moved to bin2
    ing.flush()
    view = rfid_reports.sweep_status(hubctx.db.read(), later)
    assert [m["epc"] for m in view["expected_missing"]] == [sgtin(MILK14, 7)]
    diff = rfid_reports.compare_sessions(hubctx.db.read(), sid, later)
    assert [m["epc"] for m in diff["missing"]] == [sgtin(MILK14, 7)]
    assert [(m["epc"], m["now"]) for m in diff["moved"]] == [(sgtin(MILK14, 8), store["bin2"]["id"])]
    assert diff["new"] == []


def test_reader_busy_and_sweep_location_scope(hubctx, store):
    sid = open_sweep(hubctx, store)
    with hubctx.db.write() as conn:
        other, _ = sessions.create(conn, name="Other", actor="sup", scope={"location_ids": [store["bin1"]["id"]]})
    from hub.kernel.errors import Conflict, Unprocessable

    with pytest.raises(Conflict):
        with hubctx.db.write() as conn:
            sweeps.start_sweep(conn, other["id"], reader=READER, location_id=store["bin1"]["id"], actor="sup")
    with pytest.raises(Unprocessable):
        with hubctx.db.write() as conn:
            sweeps.start_sweep(conn, other["id"], reader="fx-2", location_id=store["bin2"]["id"], actor="sup")
    with hubctx.db.write() as conn:
        assert sweeps.stop_sweep(conn, sid, reader=READER, actor="sup")["ended_at"]
        sweeps.start_sweep(conn, other["id"], reader=READER, location_id=store["bin1"]["id"], actor="sup")


def test_http_upload_and_tag_list(client, auth, hubctx, store):
    sid = open_sweep(hubctx, store)
    import json as _json

    payload = [
        {
            "data": {"antenna": 1, "format": "epc", "idHex": sgtin(MILK14, s), "peakRssi": -50, "reads": 3},
            "timestamp": "2026-03-28T07:20:13.028+0000",
            "type": "CUSTOM",
        }
        for s in range(1, 4)
    ]
    r = client.post(
        "/api/v1/stocktake/rfid/reads", json={"reader": READER, "format": "zebra", "payload": payload}, headers=auth()
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["accepted"] == 3
    r = client.post(
        "/api/v1/stocktake/rfid/reads", json={"reader": "nobody", "format": "zebra", "payload": payload}, headers=auth()
    )
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "no_open_sweep"
    r = client.post(
        "/api/v1/stocktake/rfid/reads", json={"reader": READER, "format": "impinj", "payload": {"x": 1}}, headers=auth()
    )
    assert r.status_code == 200 and r.get_json()["accepted"] == 0
    r = client.post(
        "/api/v1/stocktake/rfid/reads", json={"reader": READER, "format": "zebra", "payload": "{bad"}, headers=auth()
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_reader_payload"
    hb = [{"type": "heartbeat", "timestamp": "2026-03-28T07:21:00.000+0000", "data": {"system": {"temperature": 40}}}]
    r = client.post(
        "/api/v1/stocktake/rfid/reads", json={"reader": "fx9600-9", "format": "zebra", "payload": hb}, headers=auth()
    )
    assert r.status_code == 200 and r.get_json()["heartbeats"] == 1 and r.get_json()["accepted"] == 0
    dev = hubctx.db.read().execute("SELECT kind, online, last_seen FROM devices WHERE id = 'fx9600-9'").fetchone()
    assert dev["kind"] == "rfid" and dev["online"] == 1 and dev["last_seen"]
    tags = client.get(f"/api/v1/stocktake/sessions/{sid}/rfid/tags?kind=item", headers=auth("supervisor")).get_json()
    assert tags["total"] == 3 and tags["items"][0]["reads"] == 3
    view = client.get(f"/api/v1/stocktake/sessions/{sid}/rfid", headers=auth()).get_json()
    assert view["counted_tags"] == 3
    assert all(i["expected"] is None for i in view["items"])  # blind count: no book quantities for counters
    _json.dumps(view)
