"""Browser: a count started on the handheld covers what the counter chose and cannot write off the rest of the
store — scope and guided mode at the start, uncounted lines left out unless a manager says zero, the book list
following the count live, zone sign-off, cancel with a reason, paged review with bulk recount, and approval
above the threshold only with the figures confirmed. Every screen touched fits 360×640 in English and Chinese."""

from __future__ import annotations

import pytest

from hub.inventory import catalog, ledger, locations
from hub.inventory.ledger import MovementRequest
from hub.kernel import settings
from hub.stocktake import scans, sessions
from tests.support.common import key
from tests.support.ui import PHONE, login, scan, shot

pytestmark = pytest.mark.browser
MILK = "5901234123457"
RICE = "96385074"

# Sideways overflow, CJK wrapped one character per line and button labels on more than two lines (the
# handheld's layout rules), for the screen on show.
FITS_JS = r"""
() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > vw + 1) out.push(`page ${document.documentElement.scrollWidth} > ${vw}`);
  const shown = (el) => { const cs = getComputedStyle(el); const r = el.getBoundingClientRect();
    return cs.display !== 'none' && cs.visibility !== 'hidden' && r.width > 0 && r.height > 0; };
  const inScroller = (el) => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
  for (const el of document.querySelectorAll('#main *')) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    if ((r.right > vw + 1 || r.left < -1) && !inScroller(el)) out.push(`wide: ${el.tagName} ${(el.innerText || '').slice(0, 30)}`);
    if (el.matches('button, .btn, .chip, .pill') && (el.innerText || '').trim()) {
      const cs = getComputedStyle(el);
      const lh = cs.lineHeight === 'normal' ? parseFloat(cs.fontSize) * 1.3 : parseFloat(cs.lineHeight);
      const textH = el.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
      if (textH > lh * 2 + 2) out.push(`button on ${Math.round(textH / lh)} lines: ${el.innerText.slice(0, 30)}`);
    }
  }
  const walker = document.createTreeWalker(document.getElementById('main'), NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const cjk = n.textContent.match(/[\u3400-\u9fff]/g);
    if (!cjk || cjk.length < 2 || !shown(n.parentElement)) continue;
    const range = document.createRange(); range.selectNodeContents(n);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0);
    const fs = parseFloat(getComputedStyle(n.parentElement).fontSize);
    if (rects.length >= 2 && rects.every((r) => r.width < fs * 1.6)) out.push(`one char per line: ${n.textContent.slice(0, 20)}`);
  }
  const bad = document.getElementById('main').innerText.split('\n').find((l) => /\b(null|undefined|NaN)\b/.test(l));
  if (bad) out.push(`null/undefined/NaN shown: ${bad.slice(0, 60)}`);
  return out;
}
"""


def _stock(hub_server, item, loc, qty):
    with hub_server.db.write() as conn:
        ledger.post(conn, MovementRequest("receive", item["id"], loc["id"], qty, "delivery", "test", key()))


def _uid(hub_server, username):
    return hub_server.db.read().execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()[0]


def _second_aisle(hub_server):
    """Aisle A02 with rice on its shelf: stock outside the aisle being counted."""
    s = hub_server.sample
    with hub_server.db.write() as conn:
        a2 = locations.create(
            conn, code="A02", name="Aisle 2", kind="aisle", parent_id=s["area"]["id"], walk_seq=20, actor="test"
        )
        b = locations.create(
            conn, code="A02-01", name="Aisle 2 bin 1", kind="bin", parent_id=a2["id"], walk_seq=21, actor="test"
        )
    _stock(hub_server, s["rice"], b, 7)
    return b


def _page(ui_browser, hub_server, user, pin, size=(360, 740)):
    context = ui_browser.new_context(
        base_url=hub_server.url, **{**PHONE, "viewport": {"width": size[0], "height": size[1]}}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    login(page, user, pin)
    return page


def _fits(page, name):
    problems = page.evaluate(FITS_JS)
    if problems:
        shot(page, f"st-fit-{name}")
    assert not problems, f"{name}: {problems}"


def test_associate_counts_one_shelf_of_an_aisle_and_the_review_writes_off_nothing_else(phone, hub_server, ui_browser):
    s = hub_server.sample
    _stock(hub_server, s["milk"], s["bin1"], 10)
    _stock(hub_server, s["rice"], s["bin1"], 4)
    _stock(hub_server, s["rice"], s["bin2"], 3)
    _stock(hub_server, s["apples"], s["bin2"], 5000)
    a2_bin = _second_aisle(hub_server)

    login(phone)  # an associate
    phone.get_by_test_id("tile-stocktake").click()
    phone.wait_for_selector("[data-testid='count-loc'][data-code='A01']")
    assert phone.get_by_test_id("count-scope").input_value() == "locations"
    phone.get_by_test_id("count-create").click()  # nothing chosen: refused on the device, no count
    phone.wait_for_function("document.documentElement.dataset.feedback === 'error'")
    assert hub_server.db.read().execute("SELECT COUNT(*) FROM count_sessions").fetchone()[0] == 0
    phone.get_by_test_id("count-loc-filter").fill("A01")
    phone.locator("[data-testid='count-loc'][data-code='A01']").check()
    assert "A01" in phone.get_by_test_id("count-loc-chosen").inner_text()
    phone.get_by_test_id("count-mode").select_option("guided")
    assert phone.get_by_test_id("count-uncounted").input_value() == "exclude"  # the default, untouched
    phone.get_by_test_id("count-name").fill("Aisle 1 shelf check")
    phone.get_by_test_id("count-create").click()
    phone.wait_for_selector("[data-screen='stocktake_count']")
    sid, uncounted, scope = hub_server.db.read().execute("SELECT id, uncounted, scope FROM count_sessions").fetchone()
    assert uncounted == "exclude" and s["aisle"]["id"] in scope

    scan(phone, "SHL-A01-01")
    phone.wait_for_selector("[data-testid='count-expected-row'][data-sku='RICE-5KG']")
    milk_row = phone.locator("[data-testid='count-expected-row'][data-sku='MILK-1L']")
    assert milk_row.get_by_test_id("count-expected-qty").inner_text() == "0 / 10"
    phone.get_by_test_id("count-qty").fill("10")
    scan(phone, MILK)
    phone.wait_for_function(
        "document.querySelector(\"[data-testid='count-expected-row'][data-sku='MILK-1L']"
        " [data-testid='count-expected-qty']\")?.textContent === '10 / 10'"
    )
    # someone else counts rice on the same shelf: the book list follows without a tap
    with hub_server.db.write() as conn:
        sup = _uid(hub_server, "supervisor")
        scans.record_scan(conn, sid, counter=sup, client_key=key(), code=RICE, location_id=s["bin1"]["id"])
    phone.wait_for_function(
        "document.querySelector(\"[data-testid='count-expected-row'][data-sku='RICE-5KG']"
        " [data-testid='count-expected-qty']\")?.textContent === '1 / 4'",
        timeout=10_000,
    )
    phone.get_by_test_id("count-zone-done").click()
    phone.wait_for_selector("[data-testid='count-zone-state']:has-text('A01-01')")
    shot(phone, "st-10-guided-aisle")

    sup_page = _page(ui_browser, hub_server, "supervisor", "2222")
    sup_page.goto(f"/#/stocktake_review?id={sid}")
    sup_page.wait_for_selector("[data-testid='review-zone-done'][data-location='A01-01']")
    sup_page.get_by_test_id("review-close").click()
    sup_page.wait_for_selector("[data-testid='review-status']:has-text('In review')")
    got = sorted(
        (el.get_attribute("data-sku"), el.get_attribute("data-location"), el.get_attribute("data-variance"))
        for el in sup_page.locator("[data-testid='review-line']").all()
    )
    assert got == [("MILK-1L", "A01-01", "0"), ("RICE-5KG", "A01-01", "-3")]
    assert sup_page.get_by_test_id("review-lines").inner_text() == "1 / 2"  # lines off / lines approved
    assert sup_page.get_by_test_id("review-excluded-n").inner_text() == "2"  # A01-02 left out, not lost
    net = sup_page.get_by_test_id("review-net").inner_text()
    assert net.startswith("-") and net.endswith("¥105.00")  # rice 3 × 35.00, nothing else
    sup_page.get_by_test_id("review-filter-excluded").click()
    sup_page.wait_for_selector("[data-testid='review-filter-excluded'][aria-pressed='true']")
    sup_page.wait_for_function("document.querySelector('[data-testid=review-page]')?.dataset.total === '2'")
    assert {el.get_attribute("data-location") for el in sup_page.locator("[data-testid='review-line']").all()} == {
        "A01-02"
    }
    shot(sup_page, "st-11-review-scoped")
    sup_page.get_by_test_id("review-approve").click()
    sup_page.get_by_test_id("review-approve").click()
    sup_page.wait_for_selector("[data-testid='review-status']:has-text('Approved')")
    conn = hub_server.db.read()
    assert [tuple(r) for r in conn.execute("SELECT item_id, qty_delta FROM movements WHERE ref = ?", (sid,))] == [
        (s["rice"]["id"], -3)
    ]
    assert ledger.stock_of(conn, s["rice"]["id"], s["bin2"]["id"])["on_hand"] == 3
    assert ledger.stock_of(conn, s["apples"]["id"], s["bin2"]["id"])["on_hand"] == 5000
    assert ledger.stock_of(conn, s["rice"]["id"], a2_bin["id"])["on_hand"] == 7
    assert phone.errors == [] and sup_page.errors == []
    sup_page.context.close()


def test_only_a_manager_can_choose_to_zero_what_nobody_counted(phone, hub_server, ui_browser):
    login(phone, "supervisor", "2222")
    phone.goto("/#/stocktake")
    phone.wait_for_selector("[data-testid='count-loc']")
    phone.get_by_test_id("count-scope").select_option("store")
    assert phone.get_by_test_id("count-uncounted").input_value() == "exclude"
    assert phone.locator("[data-testid='count-uncounted'] option[value='zero']").is_disabled()
    # forced past the form, the hub still refuses it — and says so in words
    phone.evaluate("""() => { const s = document.querySelector('[data-testid=count-uncounted]');
        s.querySelector('option[value=zero]').disabled = false; s.value = 'zero'; s.dispatchEvent(new Event('change')); }""")
    phone.get_by_test_id("count-create").click()
    phone.wait_for_selector(".toast >> text=Only a manager can count uncounted items as zero")
    assert hub_server.db.read().execute("SELECT COUNT(*) FROM count_sessions").fetchone()[0] == 0

    mgr = _page(ui_browser, hub_server, "manager", "9999")
    mgr.goto("/#/stocktake")
    mgr.wait_for_selector("[data-testid='count-loc']")
    mgr.get_by_test_id("count-scope").select_option("store")
    assert mgr.get_by_test_id("count-uncounted").input_value() == "zero"  # whole store: shown, chosen
    assert "loss" in mgr.get_by_test_id("count-uncounted-note").inner_text()
    mgr.get_by_test_id("count-scope").select_option("locations")
    assert mgr.get_by_test_id("count-uncounted").input_value() == "exclude"  # anything else: left out
    mgr.get_by_test_id("count-scope").select_option("store")
    mgr.get_by_test_id("count-create").click()
    mgr.wait_for_selector("[data-screen='stocktake_count']")
    assert hub_server.db.read().execute("SELECT uncounted FROM count_sessions").fetchone()[0] == "zero"
    mgr.context.close()


def test_a_supervisor_cancels_a_count_with_a_reason(phone, hub_server, ui_browser):
    s = hub_server.sample
    _stock(hub_server, s["milk"], s["bin1"], 10)
    with hub_server.db.write() as conn:
        sess, _ = sessions.create(conn, name="Wrong aisle", scope={"location_ids": [s["aisle"]["id"]]}, actor="test")
        assoc = _uid(hub_server, "associate")
        scans.record_scan(conn, sess["id"], counter=assoc, client_key=key(), code="SHL-A01-01")
        scans.record_scan(conn, sess["id"], counter=assoc, client_key=key(), code=MILK, qty=2)
    sid = sess["id"]
    login(phone, "supervisor", "2222")
    phone.goto(f"/#/stocktake_review?id={sid}")
    phone.wait_for_selector("[data-testid='review-progress']")
    phone.get_by_test_id("review-cancel").click()
    phone.get_by_test_id("review-cancel-confirm").click()  # no reason: not sent
    phone.wait_for_function("document.documentElement.dataset.feedback === 'error'")
    assert hub_server.db.read().execute("SELECT status FROM count_sessions").fetchone()[0] == "open"
    phone.get_by_test_id("review-cancel-reason").fill("Counted aisle 2 by mistake")
    # a scan arriving meanwhile redraws the screen but keeps the half-done form
    with hub_server.db.write() as conn:
        scans.record_scan(conn, sid, counter=assoc, client_key=key(), code=MILK)
    phone.wait_for_function("document.querySelector('[data-testid=review-counter-scans]')?.textContent === '2'")
    assert phone.get_by_test_id("review-cancel-reason").input_value() == "Counted aisle 2 by mistake"
    shot(phone, "st-12-cancel")
    phone.get_by_test_id("review-cancel-confirm").click()
    phone.wait_for_selector("[data-testid='review-status']:has-text('Cancelled')")
    assert "Counted aisle 2 by mistake" in phone.get_by_test_id("review-cancel-reason-shown").inner_text()
    conn = hub_server.db.read()
    assert tuple(conn.execute("SELECT status, cancel_reason FROM count_sessions").fetchone()) == (
        "cancelled",
        "Counted aisle 2 by mistake",
    )
    assert (
        "Counted aisle 2 by mistake"
        in conn.execute("SELECT details FROM audit_log WHERE action = 'count.cancel'").fetchone()[0]
    )
    assert conn.execute("SELECT COUNT(*) FROM movements WHERE ref = ?", (sid,)).fetchone()[0] == 0

    # whoever started a count may call it off from the list, too
    with hub_server.db.write() as conn:
        mine, _ = sessions.create(conn, name="My shelf", scope={"location_ids": [s["bin2"]["id"]]}, actor=assoc)
        sessions.create(conn, name="Their shelf", scope={"location_ids": [s["bin1"]["id"]]}, actor="someone-else")
    page = _page(ui_browser, hub_server, "associate", "1111")
    page.goto("/#/stocktake")
    row = page.locator(f"[data-testid='count-session'][data-id='{mine['id']}']")
    row.get_by_test_id("count-cancel").click()
    row.get_by_test_id("count-cancel-reason").fill("started by mistake")
    row.get_by_test_id("count-cancel-confirm").click()
    page.wait_for_selector(f"[data-testid='count-session'][data-id='{mine['id']}']", state="detached")
    assert page.locator("[data-testid='count-session'] [data-testid='count-cancel']").count() == 0  # not theirs
    page.context.close()
    assert (
        hub_server.db.read().execute("SELECT status FROM count_sessions WHERE id = ?", (mine["id"],)).fetchone()[0]
        == "cancelled"
    )


def test_approval_above_the_threshold_needs_the_figures_confirmed(phone, hub_server):
    s = hub_server.sample
    _stock(hub_server, s["milk"], s["bin1"], 10)
    with hub_server.db.write() as conn:
        settings.put(conn, "stocktake_confirm_above_minor", 2000)
        sess, _ = sessions.create(conn, name="Bin 1", scope={"location_ids": [s["bin1"]["id"]]}, actor="test")
        assoc = _uid(hub_server, "associate")
        scans.record_scan(conn, sess["id"], counter=assoc, client_key=key(), code="SHL-A01-01")
        scans.record_scan(conn, sess["id"], counter=assoc, client_key=key(), code=MILK, qty=6)  # 4 lost: 32.00
        sessions.close(conn, sess["id"], actor="test")
    sid = sess["id"]
    login(phone, "supervisor", "2222")
    phone.goto(f"/#/stocktake_review?id={sid}")
    phone.wait_for_selector("[data-testid='review-stake'][data-confirm='1']")
    text = phone.get_by_test_id("review-stake-text").inner_text()
    assert "1 lines" in text and "net -CN¥32.00" in text and "absolute CN¥32.00 at cost" in text  # store currency
    assert phone.get_by_test_id("review-abs").inner_text() == "CN¥32.00"
    assert phone.get_by_test_id("review-approve").is_disabled()
    shot(phone, "st-13-confirm")
    phone.get_by_test_id("review-confirm").check()
    phone.get_by_test_id("review-approve").click()  # confirmed: one tap posts
    phone.wait_for_selector("[data-testid='review-status']:has-text('Approved')")
    conn = hub_server.db.read()
    assert [r[0] for r in conn.execute("SELECT qty_delta FROM movements WHERE ref = ?", (sid,))] == [-4]
    assert (
        '"confirmed": true'
        in conn.execute("SELECT details FROM audit_log WHERE action = 'count.approve'").fetchone()[0]
    )


def test_review_pages_every_line_and_recounts_all_lines_off(phone, hub_server):
    s = hub_server.sample
    with hub_server.db.write() as conn:
        for i in range(120):
            it = catalog.create_item(
                conn,
                {"sku": f"P-{i:03d}", "name_en": f"Paged {i}", "unit": "each", "price_minor": 200, "cost_minor": 1},
                actor="t",
            )
            ledger.post(conn, MovementRequest("receive", it["id"], s["bin2"]["id"], 1, "d", "t", key()))
        sess, _ = sessions.create(conn, name="Year end", uncounted="zero", actor="test", role="manager")
        sessions.close(conn, sess["id"], actor="test")
    sid = sess["id"]
    login(phone, "supervisor", "2222")
    phone.goto(f"/#/stocktake_review?id={sid}")
    phone.wait_for_selector("[data-testid='review-page'][data-total='120']")
    assert phone.get_by_test_id("review-page").inner_text() == "1–50 of 120"
    assert phone.locator("[data-testid='review-line']").count() == 50
    assert phone.get_by_test_id("review-zeroed").is_visible()  # zeroing is said out loud
    phone.get_by_test_id("review-next").click()
    phone.wait_for_selector("[data-testid='review-page']:has-text('51–100 of 120')")
    phone.get_by_test_id("review-next").click()
    phone.wait_for_selector("[data-testid='review-page']:has-text('101–120 of 120')")
    assert phone.locator("[data-testid='review-line']").count() == 20
    assert phone.get_by_test_id("review-next").is_disabled()
    phone.get_by_test_id("review-recount-all").click()
    phone.wait_for_selector(".toast >> text=120 lines sent for recount")
    n = (
        hub_server.db.read()
        .execute("SELECT COUNT(*) FROM count_lines WHERE session_id = ? AND recount_status = 'requested'", (sid,))
        .fetchone()[0]
    )
    assert n == 120


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_count_screens_fit_a_360_by_640_handheld(ui_browser, hub_server, lang):
    s = hub_server.sample
    _stock(hub_server, s["milk"], s["bin1"], 10)
    _stock(hub_server, s["rice"], s["bin2"], 3)
    with hub_server.db.write() as conn:
        conn.execute("UPDATE users SET language = ?", (lang,))
        settings.put(conn, "stocktake_confirm_above_minor", 0)
        settings.put(conn, "stocktake_supervisor_limit_minor", 100_000_000_000)
        assoc = _uid(hub_server, "associate")
        guided, _ = sessions.create(
            conn, name="Aisle 1 / 一号通道", mode="guided", scope={"location_ids": [s["aisle"]["id"]]}, actor=assoc
        )
        scans.record_scan(conn, guided["id"], counter=assoc, client_key=key(), code="SHL-A01-01")
        sessions.mark_zone_done(conn, guided["id"], user_id=assoc)
        # the manager walking the screens stands at A01-01 too: the count screen opens on its book list
        scans.record_scan(conn, guided["id"], counter=_uid(hub_server, "manager"), client_key=key(), code="SHL-A01-01")
        big, _ = sessions.create(conn, name="全店盘点 Year end", uncounted="zero", actor="test", role="manager")
        ledger.post(conn, MovementRequest("receive", s["milk"]["id"], s["bin2"]["id"], 999_999, "d", "t", key()))
        sessions.close(conn, big["id"], actor="test")
    page = _page(ui_browser, hub_server, "manager", "9999", size=(360, 640))
    try:
        page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang)
        for route, ready in (
            ("stocktake", "[data-testid='count-loc']"),
            (f"stocktake_count?id={guided['id']}", "[data-testid='count-expected-row']"),
            (f"stocktake_review?id={guided['id']}", "[data-testid='review-zone-done']"),
            (f"stocktake_review?id={big['id']}", "[data-testid='review-stake'][data-confirm='1']"),
        ):
            page.evaluate("(r) => { location.hash = '#/' + r; }", route)
            page.wait_for_selector(ready)
            _fits(page, f"{lang}-{route.split('?')[0]}")
        page.get_by_test_id("review-cancel").click()  # the cancel form, too
        page.wait_for_selector("[data-testid='review-cancel-form']")
        _fits(page, f"{lang}-review-cancel")
        page.evaluate("() => { location.hash = '#/stocktake'; }")
        page.wait_for_selector("[data-testid='count-loc']")
        page.locator("[data-testid='count-session']").first.get_by_test_id("count-cancel").click()
        page.wait_for_selector("[data-testid='count-cancel-reason']")
        _fits(page, f"{lang}-list-cancel")
        shot(page, f"st-14-fit-{lang}")
        assert page.errors == []
    finally:
        page.context.close()
