"""Browser: accessibility basics on every main screen — names, target sizes, contrast, focus order."""

from __future__ import annotations

import pytest

from tests.support.ui import login, open_app, scan

pytestmark = pytest.mark.browser

AUDIT = r"""() => {
  const problems = [];
  const visible = (el) => {
    if (!el.getClientRects().length) return false;
    const cs = getComputedStyle(el);
    return cs.visibility !== 'hidden' && cs.display !== 'none' && !el.closest('[hidden]');
  };
  const accName = (el) => {
    if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim();
    const by = el.getAttribute('aria-labelledby');
    if (by) return by.split(/\s+/).map((id) => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
    if (el.labels && el.labels.length) return Array.from(el.labels).map((l) => l.textContent).join(' ').trim();
    if (el.tagName === 'IMG') return el.getAttribute('alt');
    return (el.textContent || '').trim() || (el.getAttribute('title') || '').trim();
  };
  const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return [0, 0, 0, 0];
    const p = m[1].split(',').map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let out = [255, 255, 255];
    for (const c of layers.reverse()) out = out.map((v, i) => v * (1 - c[3]) + c[i] * c[3]);
    return out;
  };
  const interactive = 'button, input:not([type=hidden]), select, textarea, a[href], [role=button]';
  for (const el of document.querySelectorAll(interactive)) {
    if (!visible(el)) continue;
    const id = el.dataset.testid || el.id || el.outerHTML.slice(0, 60);
    if (!accName(el)) problems.push(`no accessible name: ${id}`);
    const r = el.getBoundingClientRect();
    if (r.width < 48 || r.height < 48) problems.push(`target smaller than 48px: ${id} ${Math.round(r.width)}x${Math.round(r.height)}`);
    if (el.tabIndex > 0) problems.push(`positive tabindex: ${id}`);
  }
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('img without alt');
  let checked = 0;
  for (const el of document.querySelectorAll('body *')) {
    if (!visible(el) || el.closest('svg') || el.closest(':disabled')) continue;
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const cs = getComputedStyle(el);
    const fg = parse(cs.color);
    const bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
    checked++;
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} < ${large ? 3 : 4.5}: "${el.textContent.trim().slice(0, 30)}"`);
  }
  if (checked < 3) problems.push('no text checked');
  return problems;
}"""


def _audit(page, where):
    problems = page.evaluate(AUDIT)
    assert problems == [], f"{where}: {problems}"


def _tab_order(page, n):
    seen = []
    for _ in range(n):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate("""() => { const e = document.activeElement; const r = e.getBoundingClientRect();
            return {id: e.dataset.testid || e.id || e.textContent.trim(), top: r.top + scrollY, left: r.left}; }""")
        )
    return seen


def test_login_screen_names_contrast_and_focus_order(phone):
    open_app(phone)
    phone.wait_for_selector("[data-screen='login']")
    _audit(phone, "login")
    order = [e["id"] for e in _tab_order(phone, 15)]
    assert order[:15] == [
        "Skip to content",
        "login-user",
        "pin-1",
        "pin-2",
        "pin-3",
        "pin-4",
        "pin-5",
        "pin-6",
        "pin-7",
        "pin-8",
        "pin-9",
        "pin-back",
        "pin-0",
        "pin-ok",
        "lang-en",
    ]


def test_main_screens_pass_the_audit(phone, hub_server):
    login(phone, "supervisor", "2222")
    _audit(phone, "home")
    # reading order on home: top to bottom, left to right within a row
    tiles = phone.locator("[data-testid^='tile-']").evaluate_all("els => els.map(e => e.dataset.testid)")
    stops = []
    for e in _tab_order(phone, len(tiles) + 4):
        if e["id"].startswith("tile-") and e["id"] not in [x["id"] for x in stops]:
            stops.append(e)
    assert [e["id"] for e in stops] == tiles
    assert stops == sorted(stops, key=lambda e: (round(e["top"]), e["left"]))
    phone.get_by_test_id("tile-lookup").click()
    phone.get_by_test_id("lookup-q").fill("i")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("[data-testid='lookup-hit']")
    _audit(phone, "lookup")
    phone.goto(f"/#/item?id={hub_server.sample['milk']['id']}")
    phone.wait_for_selector("[data-testid='item-name']")
    _audit(phone, "item")
    phone.get_by_test_id("act-adjust").click()
    phone.wait_for_selector("[data-testid='sheet-adjust']")
    _audit(phone, "adjust sheet")
    phone.keyboard.press("Escape")
    phone.goto("/#/queue")
    phone.wait_for_selector("[data-testid='queue-empty']")
    _audit(phone, "queue")
    phone.goto("/#/profile")
    phone.wait_for_selector("[data-testid='profile-name']")
    _audit(phone, "profile")
    scan(phone, "4006381333931")
    phone.wait_for_selector("[data-testid='unknown-dialog']")
    _audit(phone, "unknown code")
    assert phone.errors == []
