"""Browser: count by scanning (offline included), RFID sweep view, variance review, recount and approval."""

from __future__ import annotations

import pytest

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest
from hub.protocol import epc
from hub.protocol.rfid_formats import TagRead
from hub.stocktake import ingest, sessions
from tests.support.common import key
from tests.support.ui import login, scan, shot

pytestmark = pytest.mark.browser
MILK = "5901234123457"


def _stock(hub_server, item, loc, qty):
    with hub_server.db.write() as conn:
        ledger.post(conn, MovementRequest("receive", item["id"], loc["id"], qty, "delivery", "test", key()))


def _open_count(hub_server, **kw):
    with hub_server.db.write() as conn:
        s, _ = sessions.create(conn, name="Aisle 1", actor="test", **kw)
    return s["id"]


def _line(hub_server, sid, item):
    r = (
        hub_server.db.read()
        .execute("SELECT scan_qty, scans FROM count_lines WHERE session_id=? AND item_id=?", (sid, item["id"]))
        .fetchone()
    )
    return tuple(r) if r else None


def _wait_seq(page, n):
    page.wait_for_selector(f"[data-testid='count-last'][data-seq='{n}'][data-state='done']")


def test_scan_loop_with_undo_and_offline_scans(phone, hub_server):
    s = hub_server.sample
    _stock(hub_server, s["milk"], s["bin1"], 10)
    sid = _open_count(hub_server)
    login(phone)
    phone.get_by_test_id("tile-stocktake").click()
    phone.get_by_test_id("count-join").click()
    phone.wait_for_selector("[data-screen='stocktake_count']")
    scan(phone, MILK)  # no bin yet: refused with a clear message
    phone.wait_for_selector("[data-testid='count-last'][data-state='failed']")
    assert "location" in phone.get_by_test_id("count-warning").inner_text().lower()
    assert phone.evaluate("document.documentElement.dataset.feedback") == "error"
    scan(phone, "SHL-A01-01")
    _wait_seq(phone, 2)
    assert phone.get_by_test_id("count-bin").inner_text() == "A01-01"
    for i in range(3):
        scan(phone, MILK)
        _wait_seq(phone, 3 + i)
    assert phone.get_by_test_id("count-last-name").inner_text() == "Milk 1L"
    assert phone.get_by_test_id("count-last-qty").inner_text() == "3"
    assert phone.get_by_test_id("count-scans").inner_text() == "3"
    assert "10" not in phone.get_by_test_id("count-last-qty").inner_text()  # blind: no book quantity
    phone.get_by_test_id("count-qty").fill("4")
    scan(phone, MILK)
    _wait_seq(phone, 6)
    assert phone.get_by_test_id("count-last-qty").inner_text() == "7"
    phone.get_by_test_id("count-undo").click()
    phone.wait_for_function("document.querySelector('[data-testid=count-scans]').textContent === '3'")
    assert _line(hub_server, sid, s["milk"]) == (3, 3)
    shot(phone, "st-01-count")

    hub_server.stop()
    phone.wait_for_selector("html[data-online='0']", timeout=8000)
    scan(phone, MILK)
    phone.wait_for_selector("[data-testid='count-last'][data-seq='7'][data-state='queued']")
    scan(phone, MILK)
    phone.wait_for_selector("[data-testid='count-last'][data-seq='8'][data-state='queued']")
    assert phone.get_by_test_id("count-queued").inner_text() == "2"
    phone.wait_for_selector("html[data-pending='2']")
    assert _line(hub_server, sid, s["milk"]) == (3, 3)
    shot(phone, "st-02-offline")
    hub_server.start()
    phone.wait_for_selector("html[data-online='1'][data-pending='0']", timeout=15000)
    assert _line(hub_server, sid, s["milk"]) == (5, 5)
    rows = (
        hub_server.db.read()
        .execute("SELECT COUNT(*), SUM(undone_at IS NOT NULL) FROM count_scans WHERE session_id=?", (sid,))
        .fetchone()
    )
    assert tuple(rows) == (6, 1)
    assert [
        e
        for e in phone.errors
        if "409" not in e and "422" not in e and "Failed to fetch" not in e and "ERR_CONNECTION" not in e
    ] == []


def test_wrong_zone_warning_and_guided_quantities(phone, hub_server):
    s = hub_server.sample
    _stock(hub_server, s["milk"], s["bin1"], 10)
    sid = _open_count(hub_server, mode="guided")
    with hub_server.db.write() as conn:
        uid = conn.execute("SELECT id FROM users WHERE username='associate'").fetchone()[0]
        sessions.join(conn, sid, user_id=uid, zone_location_id=s["bin2"]["id"], actor="test")
    login(phone)
    phone.goto(f"/#/stocktake_count?id={sid}")
    phone.wait_for_selector("[data-testid='count-bin']")
    scan(phone, "SHL-A01-01")
    _wait_seq(phone, 1)
    assert phone.get_by_test_id("count-warning").is_visible()
    assert "zone" in phone.get_by_test_id("count-warning").inner_text().lower()
    assert phone.evaluate("document.documentElement.dataset.feedback") == "warn"
    assert "Milk 1L" in phone.get_by_test_id("count-expected").inner_text()
    scan(phone, MILK)
    _wait_seq(phone, 2)
    assert phone.get_by_test_id("count-last-qty").inner_text() == "1 / 10"


def test_review_recount_and_approval(phone, hub_server):
    from hub.stocktake import scans

    s = hub_server.sample
    _stock(hub_server, s["milk"], s["bin1"], 10)
    _stock(hub_server, s["rice"], s["bin1"], 4)
    sid = _open_count(hub_server, uncounted="zero", role="manager")
    with hub_server.db.write() as conn:
        assoc = conn.execute("SELECT id FROM users WHERE username='associate'").fetchone()[0]
        scans.record_scan(conn, sid, counter=assoc, client_key=key(), code="SHL-A01-01")
        scans.record_scan(conn, sid, counter=assoc, client_key=key(), code=MILK, qty=7)
        scans.record_scan(conn, sid, counter=assoc, client_key=key(), code="96385074", qty=4)
    login(phone, "supervisor", "2222")
    phone.goto(f"/#/stocktake_review?id={sid}")
    phone.wait_for_selector("[data-testid='review-progress'] [data-testid='review-counter']")
    assert phone.get_by_test_id("review-counter-scans").inner_text() == "2"
    # live: another scan by the associate shows up without a reload
    with hub_server.db.write() as conn:
        scans.record_scan(conn, sid, counter=assoc, client_key=key(), code=MILK)
    phone.wait_for_function(
        "document.querySelector('[data-testid=review-counter-scans]')?.textContent === '3'", timeout=10000
    )
    phone.get_by_test_id("review-close").click()
    phone.wait_for_selector("[data-testid='review-status']:has-text('In review')")
    lines = phone.locator("[data-testid='review-line']")
    assert lines.count() == 2
    assert lines.nth(0).get_attribute("data-sku") == "MILK-1L" and lines.nth(0).get_attribute("data-variance") == "-2"
    assert phone.get_by_test_id("review-accuracy").inner_text() == "50%"  # 1 of 2 lines exact
    shot(phone, "st-03-review")
    lines.nth(0).get_by_test_id("review-select").check()
    phone.get_by_test_id("review-recount").click()
    phone.wait_for_selector("[data-testid='review-line'] >> text=recount asked")
    phone.get_by_test_id("review-approve").click()
    phone.get_by_test_id("review-approve").click()  # armed → approve: refused, a recount is open
    phone.wait_for_selector("[data-testid='review-status']:has-text('In review')")
    assert hub_server.db.read().execute("SELECT COUNT(*) FROM movements WHERE ref=?", (sid,)).fetchone()[0] == 0

    # the supervisor did not count milk, so they may recount it
    phone.goto("/#/stocktake")
    phone.get_by_test_id("count-recount").click()
    phone.wait_for_selector("[data-screen='stocktake_count']")
    phone.get_by_test_id("count-qty").fill("9")
    scan(phone, MILK)
    _wait_seq(phone, 1)
    phone.get_by_test_id("count-recount-done").click()
    phone.wait_for_selector("[data-screen='stocktake']")

    phone.goto(f"/#/stocktake_review?id={sid}")
    phone.wait_for_selector("[data-testid='review-line'] >> text=recounted")
    assert phone.locator("[data-testid='review-line'][data-sku='MILK-1L']").get_attribute("data-variance") == "-1"
    phone.get_by_test_id("review-approve").click()
    phone.get_by_test_id("review-approve").click()
    phone.wait_for_selector("[data-testid='review-status']:has-text('Approved')")
    shot(phone, "st-04-approved")
    conn = hub_server.db.read()
    assert [tuple(r) for r in conn.execute("SELECT kind, qty_delta FROM movements WHERE ref=?", (sid,))] == [
        ("count", -1)
    ]
    assert ledger.stock_of(conn, s["milk"]["id"], s["bin1"]["id"])["on_hand"] == 9


def test_rfid_sweep_view(phone, hub_server):
    s = hub_server.sample
    _stock(hub_server, s["milk"], s["bin1"], 5)
    sid = _open_count(hub_server)
    login(phone, "supervisor", "2222")
    phone.goto(f"/#/stocktake_sweep?id={sid}")
    phone.wait_for_selector("[data-testid='sweep-reader']")
    phone.get_by_test_id("sweep-reader").fill("fx9600-7")
    scan(phone, "SHL-A01-01")
    phone.wait_for_function("document.querySelector('[data-testid=sweep-location]').textContent === 'A01-01'")
    phone.get_by_test_id("sweep-start").click()
    phone.wait_for_selector("[data-testid='sweep-stop']:visible")
    ing = ingest.TagIngest(hub_server.db)
    t0 = 1_774_682_413_000
    reads = []
    for serial in range(1, 4):
        e = epc.encode_sgtin96("05901234123457", serial, company_prefix_digits=7)
        reads += [TagRead(e, 1, -50.0, 1, t0 + i, t0 + i) for i in range(4)]
    assert ing.feed("fx9600-7", reads) == 12
    ing.flush()
    phone.wait_for_function("document.querySelector('[data-testid=sweep-counted]').textContent === '3'", timeout=10000)
    assert phone.get_by_test_id("sweep-unique").inner_text() == "3"
    item = phone.locator("[data-testid='sweep-item'][data-sku='MILK-1L']")
    assert "3 / 5" in item.inner_text()
    shot(phone, "st-05-sweep")
    phone.get_by_test_id("sweep-stop").click()
    phone.wait_for_selector("[data-testid='sweep-start']:visible")
    assert (
        hub_server.db.read()
        .execute("SELECT ended_at IS NOT NULL FROM rfid_sweeps WHERE reader='fx9600-7'")
        .fetchone()[0]
        == 1
    )


def test_supervisor_starts_a_count_from_the_handheld(phone, hub_server):
    login(phone, "supervisor", "2222")
    phone.get_by_test_id("tile-stocktake").click()
    phone.wait_for_selector("[data-testid='count-none']")
    phone.get_by_test_id("count-name").fill("Night count")
    phone.get_by_test_id("count-scope").select_option("store")
    phone.wait_for_selector("[data-testid='count-whole-store']")
    phone.get_by_test_id("count-mode").select_option("guided")
    # a supervisor cannot choose zeroing: left out is the only choice, and it is what the form shows
    assert phone.get_by_test_id("count-uncounted").input_value() == "exclude"
    assert phone.locator("[data-testid='count-uncounted'] option[value='zero']").is_disabled()
    phone.get_by_test_id("count-create").click()
    phone.wait_for_selector("[data-screen='stocktake_count']")
    assert phone.get_by_test_id("count-title").inner_text() == "Night count"
    row = hub_server.db.read().execute("SELECT mode, uncounted, status, scope FROM count_sessions").fetchone()
    assert (
        tuple(row)[:3] == ("guided", "exclude", "open")
        and row[3] == '{"location_ids": [], "categories": [], "item_ids": []}'
    )
    phone.goto("/#/stocktake")
    phone.wait_for_selector("[data-testid='count-session']")
    assert "Counting" in phone.get_by_test_id("count-session").inner_text()
    assert "Whole store" in phone.get_by_test_id("count-session-scope").inner_text()
    assert phone.get_by_test_id("count-review").is_visible()


def test_scan_in_flight_when_the_hub_goes_away_is_queued_and_counted_once(phone, hub_server):
    s = hub_server.sample
    sid = _open_count(hub_server)
    login(phone)
    phone.goto(f"/#/stocktake_count?id={sid}")
    phone.wait_for_selector("[data-testid='count-bin']")
    scan(phone, "SHL-A01-01")
    _wait_seq(phone, 1)
    hub_server.stop()  # the page has not noticed yet: the direct post fails, then queues
    scan(phone, MILK)
    scan(phone, MILK)
    phone.wait_for_selector("[data-testid='count-last'][data-seq='3'][data-state='queued']", timeout=15000)
    assert _line(hub_server, sid, s["milk"]) is None
    hub_server.start()
    phone.wait_for_selector("html[data-online='1'][data-pending='0']", timeout=20000)
    assert _line(hub_server, sid, s["milk"]) == (2, 2)
    keys = (
        hub_server.db.read()
        .execute("SELECT COUNT(DISTINCT client_key) FROM count_scans WHERE session_id=?", (sid,))
        .fetchone()[0]
    )
    assert keys == 2
