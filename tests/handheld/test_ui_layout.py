"""Layout walk: every screen the hub lists (GET /screens.json), in English and Chinese, at the two handheld sizes
staff use (360×640, 412×915), with a store that has data in it (the `sample` store, stock, orders in several
states, a pick list, a count). Each screen, and the detail states behind its first tap, must show

- no element wider than the viewport or sticking out of its right edge (nothing to scroll sideways),
- no CJK text wrapped one character per line, and no button taller than two lines of its own font,
- no "null", "undefined" or "NaN" where staff can read it.

A screen the walk does not know how to open fails the walk, so a new screen cannot slip past it."""

from __future__ import annotations

import io
import os

import pytest
import requests
from PIL import Image

from tests.support.orders import order_body, store
from tests.support.ui import PHONE, login, shot

pytestmark = pytest.mark.browser

SIZES = {"360x640": (360, 640), "412x915": (412, 915)}
LANGS = ("en", "zh-CN")

# One pass over the page: returns the problems found (empty list = fine). Elements clipped by an ancestor with
# overflow other than visible (e.g. an ellipsised title) are what the ancestor shows, so only the ancestor counts;
# elements entirely left of the viewport are deliberately off screen (the skip link until it is focused).
CHECK_JS = r"""
() => {
  const vw = document.documentElement.clientWidth;
  const problems = [];
  const describe = (el) => {
    const tid = el.closest('[data-testid]');
    const cls = typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\s+/).join('.') : '';
    return `${el.tagName.toLowerCase()}${cls}${tid ? ` in [data-testid=${tid.dataset.testid}]` : ''} "${(el.innerText || el.textContent || '').trim().slice(0, 40)}"`;
  };
  const visible = (el) => {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const cs = getComputedStyle(p);
      if (cs.overflowX !== 'visible' && p.scrollWidth > p.clientWidth) return false; // a scroller: reported itself
      if (cs.overflowX !== 'visible') return true;
    }
    return false;
  };
  if (document.documentElement.scrollWidth > vw + 1) {
    problems.push(`page scrolls sideways: ${document.documentElement.scrollWidth}px > ${vw}px`);
  }
  for (const el of document.body.querySelectorAll('*')) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.right <= 0) continue;
    if ((r.width > vw + 1 || r.right > vw + 1 || r.left < -1) && !clipped(el)) {
      problems.push(`wider than the screen (${Math.round(r.left)}..${Math.round(r.right)} of ${vw}): ${describe(el)}`);
    }
    const cs = getComputedStyle(el);
    if (cs.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1 && !['auto', 'scroll'].includes(cs.overflowX)
        && cs.textOverflow !== 'ellipsis') {
      problems.push(`content cut off at the right (${el.scrollWidth} > ${el.clientWidth}): ${describe(el)}`);
    }
    const isButton = el.matches('button, .btn, .chip, .pill, [role=button], a.tile') && !el.matches('.list-btn');
    if (isButton && (el.innerText || '').trim()) {
      // count the lines the label's text takes (a min-height button is taller than its text on purpose);
      // a list row (.list-btn) is a title plus a sub line by design and is not a button label
      const fs = parseFloat(cs.fontSize);
      const tops = [];
      const tw = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let t = tw.nextNode(); t; t = tw.nextNode()) {
        if (!t.textContent.trim()) continue;
        const rg = document.createRange();
        rg.selectNodeContents(t);
        for (const r of rg.getClientRects()) {
          if (r.width > 0 && !tops.some((y) => Math.abs(y - r.top) < fs * 0.6)) tops.push(r.top);
        }
      }
      if (tops.length > 2) problems.push(`button label on ${tops.length} lines: ${describe(el)}`);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const cjk = text.match(/[\u3400-\u9fff\uf900-\ufaff]/g);
    if (!cjk || cjk.length < 2 || !n.parentElement || !visible(n.parentElement)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0);
    const fs = parseFloat(getComputedStyle(n.parentElement).fontSize);
    if (rects.length >= 2 && rects.every((r) => r.width < fs * 1.6)) {
      problems.push(`one character per line: "${text.slice(0, 20)}" in ${describe(n.parentElement)}`);
    }
  }
  const shown = [document.body.innerText,
    ...[...document.querySelectorAll('input, textarea')].filter(visible).map((i) => `${i.value} ${i.placeholder}`)].join('\n');
  for (const bad of ['null', 'undefined', 'NaN']) {
    if (new RegExp(`\\b${bad}\\b`).test(shown)) {
      const line = shown.split('\n').find((l) => new RegExp(`\\b${bad}\\b`).test(l));
      problems.push(`"${bad}" on screen: ${line.trim().slice(0, 60)}`);
    }
  }
  return problems;
}
"""

# Resolves once the screen has drawn and nothing in <main> changed for 400 ms (screens load data after render).
SETTLED_JS = r"""
(id) => {
  const main = document.getElementById('main');
  if (!window.__layoutObs) {
    window.__layoutLast = performance.now();
    window.__layoutObs = new MutationObserver(() => { window.__layoutLast = performance.now(); });
    window.__layoutObs.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  }
  return !!main.querySelector(`[data-screen="${id}"]`) && performance.now() - window.__layoutLast > 400;
}
"""


def _api(hub_server, role="supervisor"):
    url = hub_server.url + "/api/v1"
    pin = {"supervisor": "2222", "manager": "9999", "associate": "1111"}[role]
    token = requests.post(f"{url}/auth/login", json={"user": role, "pin": pin}, timeout=30).json()["token"]
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"

    def call(method, path, **kw):
        r = s.request(method, url + path, timeout=30, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    return call


def _store_with_orders(hub_server) -> dict:
    """The sample store plus: orders allocated, one picked (ready to pack), one packed, one in review, a pick list
    in progress and an open count."""
    ctx = hub_server.app.extensions["storehub"]
    shop = store(ctx, hub_server.sample)
    call = _api(hub_server)
    done = call("POST", "/orders", json=order_body("WEB-L1", [{"sku": "MILK-1L", "qty": 1}]))
    call("POST", "/orders", json=order_body("WEB-L2", [{"sku": "RICE-5KG", "qty": 1}, {"sku": "OATMILK-1L", "qty": 2}]))
    # one order picked end to end: the packing screen has something to pack
    pl = call("POST", "/pick-lists", json={"order_ids": [done["id"]]})
    walk = call("GET", f"/pick-lists/{pl['id']}")
    for t in walk["tasks"]:
        call(
            "POST",
            f"/pick-tasks/{t['id']}/pick",
            json={
                "location_code": t["location_label"],
                "item_code": "5901234123457",
                "qty": t["qty"],
                "client_key": f"walk-{t['id']}",
            },
        )
    # a batch left in progress for the walk screen
    call("POST", "/orders", json=order_body("WEB-L3", [{"sku": "CREAM", "qty": 1}, {"sku": "RICE-5KG", "qty": 2}]))
    walking = call("POST", "/pick-lists/next", json={})
    call(
        "POST",
        "/orders",
        json=order_body(
            "WEB-L4",
            [{"sku": "RICE-5KG", "qty": 1}],
            channel="phone",
            customer={"name": "王小明", "phone": "13900000000"},
        ),
    )
    count = call(
        "POST", "/stocktake/sessions", json={"name": "Aisle 1 / 一号通道", "idempotency_key": "layout-count-1"}
    )
    # milk has a picture (lookup thumbnails, the item screen's picture, the walk's current pick)
    photo = io.BytesIO()
    Image.new("RGB", (900, 600), (40, 120, 200)).save(photo, "JPEG")
    call("PUT", f"/items/{shop['milk']['id']}/picture", data=photo.getvalue(), headers={"Content-Type": "image/jpeg"})
    return {"shop": shop, "picked_order": done, "walk": walking, "count": count}


def _routes(data) -> dict[str, list[tuple[str, str | None]]]:
    """How the walk opens each screen: (hash route, test id to tap afterwards to reach a detail state or None)."""
    shop = data["shop"]
    count_id = data["count"]["id"]
    return {
        "lookup": [("lookup?q=1", None)],
        "item": [(f"item?id={shop['milk']['id']}", None), (f"item?id={shop['apples']['id']}", "act-receive")],
        "queue": [("queue", None)],
        "profile": [("profile", None)],
        "devices": [("devices", None)],
        "pick": [("pick", None)],
        "pick_walk": [
            (f"pick_walk?id={data['walk']['id']}", None),
            (f"pick_walk?id={data['walk']['id']}", "walk-short"),
        ],
        "pack": [("pack", None), (f"pack?id={data['picked_order']['id']}", None)],
        "orders": [("orders", None), ("orders", "orders-row"), ("orders", "orders-filter-backordered")],
        "orders_alerts": [("orders_alerts", None)],
        "promotions": [("promotions", None)],
        "stocktake": [("stocktake", None)],
        "stocktake_count": [(f"stocktake_count?id={count_id}", None)],
        "stocktake_sweep": [(f"stocktake_sweep?id={count_id}", None)],
        "stocktake_review": [(f"stocktake_review?id={count_id}", None)],
        "checkout_linebust": [("checkout_linebust", None)],
        "purchasing": [("purchasing", None)],
        "purchasing_receive": [("purchasing_receive", None)],
        "purchasing_transfer": [("purchasing_transfer", None)],
        "purchasing_transfer_do": [("purchasing_transfer_do", None)],
        "members": [("members", None)],
        "staff": [("staff", None)],
        "staff_roster": [("staff_roster", None)],
        "finance": [("finance", None)],
    }


# Screens that are not for a handheld: the till is laid out for the 1280x800 counter screen (its own browser tests
# check that size: tests/checkout/test_checkout_ui.py).
NOT_HANDHELD = {"checkout"}


def _settle(page, screen_id: str) -> None:
    page.wait_for_function(SETTLED_JS, arg=screen_id, polling=100, timeout=20_000)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", LANGS)
def test_every_screen_fits_the_handheld(ui_browser, hub_server, lang, size):
    data = _store_with_orders(hub_server)
    with hub_server.db.write() as conn:
        conn.execute("UPDATE users SET language = ? WHERE username = 'manager'", (lang,))
    screens = requests.get(hub_server.url + "/screens.json", timeout=30).json()["screens"]
    routes = _routes(data)
    screens = [s for s in screens if s not in NOT_HANDHELD]
    unknown = [s for s in screens if s not in routes]
    assert not unknown, f"the layout walk does not know how to open {unknown}: add them to _routes"

    w, h = SIZES[size]
    context = ui_browser.new_context(base_url=hub_server.url, **{**PHONE, "viewport": {"width": w, "height": h}})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    try:
        login(page, "manager", "9999")
        page.wait_for_function("(l) => document.documentElement.lang === l", arg=lang)
        found: dict[str, list[str]] = {}
        _settle(page, "home")
        if p := page.evaluate(CHECK_JS):
            found["home"] = p
        for screen in screens:
            for route, tap in routes[screen]:
                if page.evaluate("() => location.hash") == f"#/{route}":
                    page.evaluate("() => { location.hash = '#/'; }")  # the same address again would not re-open it
                    _settle(page, "home")
                page.evaluate("(r) => { location.hash = '#/' + r; }", route)
                _settle(page, screen)
                if tap:
                    page.get_by_test_id(tap).first.click()
                    _settle(page, screen)
                name = f"{route}{' → ' + tap if tap else ''}"
                p = page.evaluate(CHECK_JS)
                if p:
                    found[name] = p
                if p or os.environ.get("STOREHUB_LAYOUT_SHOTS"):
                    shot(page, f"layout-{lang}-{size}-{route.split('?')[0]}{'-' + tap if tap else ''}")
        assert not errors, errors
        report = "\n".join(f"{name}:\n  " + "\n  ".join(p) for name, p in found.items())
        assert not found, f"layout problems at {size} in {lang}:\n{report}"
    finally:
        context.close()
