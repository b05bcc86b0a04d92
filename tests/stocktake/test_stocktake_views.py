"""Viewer rules of a count at the domain level: blind masking, own scans only, my recounts, who assigns counters,
and what a scan means for counting (EPC, SKU, labels that are not counted)."""

from __future__ import annotations

import pytest

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.kernel.errors import Forbidden, NotFound, Unprocessable, ValidationError
from hub.protocol.epc import encode_sgtin96
from hub.stocktake import approval, scans, sessions, views
from tests.support.common import key


def _user(conn, username):
    return conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]


@pytest.fixture
def count(hubctx, sample):
    with hubctx.db.write() as conn:
        s, _ = sessions.create(
            conn,
            name="Aisle 1",
            mode="blind",
            scope={"location_ids": [sample["aisle"]["id"]]},
            actor="test",
            idempotency_key=key(),
        )
        ids = {u: _user(conn, u) for u in ("associate", "supervisor")}
    return {"session": s, **ids}


def _scan(db, session_id, counter, code):
    with db.write() as conn:
        return scans.record_scan(conn, session_id, counter=counter, client_key=key(), code=code)


def test_blind_count_hides_the_book_from_counters(hubctx, sample, count):
    sid, conn = count["session"]["id"], hubctx.db.read()
    with pytest.raises(Forbidden) as e:
        views.expected_for(conn, sid, sample["bin1"]["id"], role="associate")
    assert e.value.code == "blind_count"
    assert isinstance(views.expected_for(conn, sid, sample["bin1"]["id"], role="supervisor"), list)
    with hubctx.db.write() as w:
        w.execute("UPDATE count_sessions SET mode = 'guided' WHERE id = ?", (sid,))
    assert isinstance(views.expected_for(hubctx.db.read(), sid, sample["bin1"]["id"], role="associate"), list)


def test_blind_sweep_view_masks_expected(hubctx, sample, count):
    sid = count["session"]["id"]
    with hubctx.db.write() as conn:
        ledger.post(
            conn, MovementRequest("receive", sample["milk"]["id"], sample["bin1"]["id"], 4, "delivery", "test", key())
        )
    book = views.sweep_for(hubctx.db.read(), sid, role="supervisor")
    assert any(it["expected"] for it in book["items"]), book
    masked = views.sweep_for(hubctx.db.read(), sid, role="associate")
    assert masked["expected_missing"] == [] and [it["expected"] for it in masked["items"]] == [None] * len(
        book["items"]
    )
    assert [it["item_id"] for it in masked["items"]] == [it["item_id"] for it in book["items"]]


def test_an_associate_sees_only_their_own_scans(hubctx, sample, count):
    sid, me, boss = count["session"]["id"], count["associate"], count["supervisor"]
    for who in (me, boss):
        _scan(hubctx.db, sid, who, "SHL-A01-01")
        _scan(hubctx.db, sid, who, "5901234123457")
    conn = hubctx.db.read()
    mine = views.scans_for(conn, sid, viewer=me, role="associate", counter=boss)
    assert {r["counter"] for r in mine} == {me}
    assert {r["counter"] for r in views.scans_for(conn, sid, viewer=boss, role="supervisor")} == {me, boss}
    assert {r["counter"] for r in views.scans_for(conn, sid, viewer=boss, role="supervisor", counter=me)} == {me}
    with pytest.raises(NotFound):
        views.scans_for(conn, "nope", viewer=me, role="associate")
    s = views.session_for(conn, sid, viewer=me)
    assert s["me"]["user_id"] == me and s["my_totals"] == {"scans": 1, "items": 1}


def test_my_recounts_are_lines_i_did_not_count(hubctx, sample, count):
    sid, me, boss = count["session"]["id"], count["associate"], count["supervisor"]
    _scan(hubctx.db, sid, me, "SHL-A01-01")
    _scan(hubctx.db, sid, me, "5901234123457")
    with hubctx.db.write() as conn:
        sessions.close(conn, sid, actor=boss)
        approval.request_recount(
            conn,
            sid,
            [{"item_id": sample["milk"]["id"], "location_id": sample["bin1"]["id"]}],
            assigned_to=None,
            actor=boss,
        )
    conn = hubctx.db.read()
    assert views.recounts_for(conn, viewer=me) == []
    [line] = views.recounts_for(conn, viewer=boss)
    assert line["sku"] == "MILK-1L" and line["location_code"] == "A01-01" and line["session_name"] == "Aisle 1"


def test_only_a_supervisor_assigns_other_counters(hubctx, sample, count):
    sid, me, boss = count["session"]["id"], count["associate"], count["supervisor"]
    with pytest.raises(Forbidden) as e:
        with hubctx.db.write() as conn:
            scans.join_counter(conn, sid, user_id=boss, by=me, role="associate")
    assert e.value.code == "wrong_role"
    with hubctx.db.write() as conn:
        assert scans.join_counter(
            conn, sid, user_id=me, by=boss, role="supervisor", zone_location_id=sample["bin1"]["id"]
        )
        scans.join_counter(conn, sid, user_id=boss, by=boss, role="supervisor")
    assert sessions.counter_of(hubctx.db.read(), sid, me)["zone_location_id"] == sample["bin1"]["id"]


def test_counting_reads_epcs_and_skus_and_refuses_other_labels(hubctx, sample, count):
    conn = hubctx.db.read()
    res = scans.read_code(conn, encode_sgtin96("05901234123457", 7).lower())
    assert res.kind == "epc" and res.item["sku"] == "MILK-1L" and res.qty == 1
    assert scans.read_code(conn, "  RICE-5KG ").item["sku"] == "RICE-5KG"
    for code, err in (
        ("SHO-W-1", "not_countable"),
        ("SHB-BADGE-associate", "not_countable"),
        ("garbage!!", "unparseable"),
    ):
        with pytest.raises(Unprocessable) as e:
            scans.read_code(conn, code)
        assert e.value.code == err
    with pytest.raises(NotFound):
        scans.read_code(conn, "4006381333931")
    with pytest.raises(ValidationError):
        scans.read_code(conn, "  ")
    sid = count["session"]["id"]
    _scan(hubctx.db, sid, count["associate"], "SHL-A01-01")
    out = _scan(hubctx.db, sid, count["associate"], encode_sgtin96("05901234123457", 8))
    assert out["item"]["sku"] == "MILK-1L" and out["line_qty"] == 1
