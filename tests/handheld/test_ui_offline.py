"""Browser: the hub goes away, the handheld keeps working, and every queued action lands exactly once.

Also the PWA promise: once loaded, the shell opens with no network at all."""

from __future__ import annotations

import pytest

from tests.support.ui import login, open_app, scan, shot

pytestmark = pytest.mark.browser

# Wait until the service worker holds every file this page loaded, every screen and both languages.
WAIT_CACHED = """async () => {
  await navigator.serviceWorker.ready;
  const loaded = performance.getEntriesByType('resource').map((e) => new URL(e.name))
    .filter((u) => u.origin === location.origin && !u.pathname.startsWith('/api/')).map((u) => u.pathname);
  const want = [...loaded, '/', '/screens.json', '/screens/item.js', '/i18n/item.zh-CN.json', '/i18n/core.zh-CN.json'];
  for (let i = 0; i < 150; i++) {
    const names = await caches.keys();
    if (names.length) {
      const c = await caches.open(names[0]);
      const missing = [];
      for (const u of want) if (!(await c.match(u, { ignoreSearch: true }))) missing.push(u);
      if (!missing.length) return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}"""

# A fresh install of the worker, with the cache emptied first and no page asking it to cache anything: what is
# in the cache afterwards the worker precached itself — the hub's screen list, every screen it names and their
# catalogs in both languages.
# (A changed script URL is what makes the browser install the worker again; afterwards the app's own URL is put
# back, so the app's start-up registration does not try to install it again while the hub is away.)
PRECACHED = """async () => {
  const install = async (url) => {
    const w = (await navigator.serviceWorker.register(url)).installing;
    if (!w) return 'no new worker was installed';
    await new Promise((res) => { const done = () => { if (w.state !== 'installing') res(); }; w.addEventListener('statechange', done); done(); });
    return w.state === 'redundant' ? 'the install failed' : null;
  };
  for (const n of await caches.keys()) await caches.delete(n);
  const failed = await install('/sw.js?fresh=' + Date.now());
  if (failed) return { screens: [], missing: [failed] };
  const name = (await caches.keys()).find((n) => n.startsWith('storehub-shell-'));
  const c = await caches.open(name);
  const list = await c.match('/screens.json');
  if (!list) return { screens: [], missing: ['/screens.json'] };
  const { screens } = await list.json();
  const want = screens.flatMap((n) => [`/screens/${n}.js`, `/i18n/${n}.en.json`, `/i18n/${n}.zh-CN.json`]);
  const missing = [];
  for (const u of want) if (!(await c.match(u))) missing.push(u);
  const back = await install('/sw.js');
  if (back) missing.push(back);
  return { screens, missing };
}"""
TILES = "els => els.map(e => e.dataset.testid)"

READ_QUEUE = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open('storehub');
  req.onsuccess = () => {
    const r = req.result.transaction('actions').objectStore('actions').getAll();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  };
  req.onerror = () => reject(req.error);
})"""

PUT_BACK = """(rows) => new Promise((resolve, reject) => {
  const req = indexedDB.open('storehub');
  req.onsuccess = () => {
    const t = req.result.transaction('actions', 'readwrite');
    for (const a of rows) t.objectStore('actions').put(a);
    t.oncomplete = () => resolve(true);
    t.onerror = () => reject(t.error);
  };
})"""


def _movements(hub_server, item_id):
    return [
        dict(r)
        for r in hub_server.db.read().execute(
            "SELECT kind, qty_delta, idempotency_key, location_id FROM movements WHERE item_id = ? ORDER BY seq",
            (item_id,),
        )
    ]


def test_shell_opens_without_network_after_one_visit(phone, hub_server):
    open_app(phone)
    assert phone.evaluate(WAIT_CACHED)
    hub_server.stop()
    phone.reload()
    phone.wait_for_selector("html[data-ready='1'] [data-screen='login']")
    assert phone.get_by_test_id("pin-1").is_visible()
    shot(phone, "10-offline-shell")


def test_screen_list_is_precached_and_the_app_starts_and_navigates_offline(phone, hub_server):
    login(phone)
    listed = hub_server.app.test_client().get("/screens.json").get_json()["screens"]
    got = phone.evaluate(PRECACHED)
    assert got == {"screens": listed, "missing": []}
    tiles = phone.locator("[data-testid^='tile-']").evaluate_all(TILES)
    assert phone.evaluate(WAIT_CACHED)
    hub_server.stop()
    phone.reload()
    # the last session on this device, the screen list from the cache, the same home as online
    phone.wait_for_selector("html[data-ready='1'][data-online='0'] [data-screen='home']")
    assert phone.locator("[data-testid^='tile-']").evaluate_all(TILES) == tiles
    phone.get_by_test_id("tile-queue").click()
    phone.wait_for_selector("[data-screen='queue'] [data-testid='queue-empty']")
    phone.locator("#nav-back").click()
    phone.wait_for_selector("[data-screen='home']")
    phone.get_by_test_id("tile-profile").click()
    phone.wait_for_selector("[data-screen='profile'] [data-testid='logout']")
    phone.goto("/#/lookup")
    phone.wait_for_selector("[data-screen='lookup'] [data-testid='lookup-q']")
    assert phone.errors == []


def test_offline_receive_is_queued_and_replayed_exactly_once(phone, hub_server):
    milk = hub_server.sample["milk"]
    bin1 = hub_server.sample["bin1"]
    login(phone)
    assert phone.evaluate(WAIT_CACHED)
    phone.goto(f"/#/item?id={milk['id']}")
    phone.wait_for_selector("[data-testid='item-name']")

    hub_server.stop()
    phone.wait_for_selector("html[data-online='0']", timeout=8000)
    assert phone.locator("#offline-banner").is_visible()

    phone.get_by_test_id("act-receive").click()
    phone.get_by_test_id("act-qty").fill("3")
    phone.get_by_test_id("act-submit").click()
    phone.wait_for_selector("html[data-pending='1']")
    assert phone.get_by_test_id("pending-count").inner_text() == "1"
    assert phone.evaluate("document.documentElement.dataset.feedback") == "warn"
    queued = phone.evaluate(READ_QUEUE)
    assert len(queued) == 1 and queued[0]["body"]["qty"] == 3 and queued[0]["state"] == "pending"
    key = queued[0]["key"]
    assert queued[0]["body"]["idempotency_key"] == key
    assert _movements(hub_server, milk["id"]) == []

    # a reload while the hub is still away: the shell, the session, the queue and the item all survive
    phone.reload()
    phone.wait_for_selector("html[data-ready='1'][data-online='0'][data-pending='1']")
    phone.wait_for_selector("[data-testid='item-stale']")
    assert phone.get_by_test_id("item-name").inner_text() == "Milk 1L"
    assert "null" not in phone.locator("main").inner_text()
    shot(phone, "13-offline-item")
    # searching while the hub is away finds what this device has seen
    phone.goto("/#/lookup")
    phone.get_by_test_id("lookup-q").fill("milk")
    phone.keyboard.press("Enter")
    phone.wait_for_selector("[data-testid='lookup-results'] [data-testid='lookup-hit']")
    assert "Milk 1L" in phone.get_by_test_id("lookup-results").inner_text()
    assert "null" not in phone.locator("main").inner_text()
    # and scanning an item this device has seen opens its last known state
    phone.goto("/#/")
    phone.wait_for_selector("[data-screen='home']")
    scan(phone, "5901234123457")
    phone.wait_for_selector("[data-screen='item'] [data-testid='item-stale']")
    phone.get_by_test_id("pending-count").click()
    phone.wait_for_selector("[data-testid='queue-row']")
    shot(phone, "11-offline-queue")

    hub_server.start()
    phone.wait_for_selector("html[data-online='1'][data-pending='0']", timeout=15000)
    assert _movements(hub_server, milk["id"]) == [
        {"kind": "receive", "qty_delta": 3, "idempotency_key": key, "location_id": bin1["id"]}
    ]

    # force a second replay of the very same action (as if the first response had been lost)
    phone.evaluate(PUT_BACK, queued)
    phone.goto("/#/queue")
    phone.wait_for_selector("[data-testid='queue-row']")
    phone.get_by_test_id("queue-sync").click()
    phone.wait_for_selector("[data-testid='queue-empty']")
    assert phone.evaluate(READ_QUEUE) == []
    assert len(_movements(hub_server, milk["id"])) == 1
    on_hand = (
        hub_server.db.read().execute("SELECT SUM(on_hand) FROM stock WHERE item_id = ?", (milk["id"],)).fetchone()[0]
    )
    assert on_hand == 3
    assert phone.errors == []


def test_replay_keeps_the_order_of_actions(phone, hub_server):
    milk = hub_server.sample["milk"]
    login(phone, "supervisor", "2222")
    phone.goto(f"/#/item?id={milk['id']}")
    phone.wait_for_selector("[data-testid='item-name']")
    hub_server.stop()
    phone.wait_for_selector("html[data-online='0']", timeout=8000)
    for kind, qty in (("receive", "10"), ("adjust", "-4"), ("receive", "2")):
        phone.get_by_test_id(f"act-{kind}").click()
        phone.get_by_test_id("act-qty").fill(qty)
        if kind == "adjust":
            phone.get_by_test_id("reason-damaged").click()
        phone.get_by_test_id("act-submit").click()
        phone.wait_for_selector("dialog[open]", state="detached")
    phone.wait_for_selector("html[data-pending='3']")
    hub_server.start()
    phone.wait_for_selector("html[data-online='1'][data-pending='0']", timeout=15000)
    assert [(m["kind"], m["qty_delta"]) for m in _movements(hub_server, milk["id"])] == [
        ("receive", 10),
        ("adjust", -4),
        ("receive", 2),
    ]
    # the item screen caught up live once the hub was back
    phone.wait_for_function("document.querySelector('[data-testid=total-on-hand]').textContent === '8'")


def test_refused_action_is_shown_and_does_not_block_the_rest(phone, hub_server):
    milk = hub_server.sample["milk"]
    login(phone, "supervisor", "2222")
    phone.goto(f"/#/item?id={milk['id']}")
    phone.wait_for_selector("[data-testid='item-name']")
    hub_server.stop()
    phone.wait_for_selector("html[data-online='0']", timeout=8000)
    phone.get_by_test_id("act-adjust").click()
    phone.get_by_test_id("act-qty").fill("-2")
    phone.get_by_test_id("reason-found").click()
    phone.get_by_test_id("act-submit").click()
    phone.wait_for_selector("dialog[open]", state="detached")
    phone.get_by_test_id("act-receive").click()
    phone.get_by_test_id("act-qty").fill("6")
    phone.get_by_test_id("act-submit").click()
    phone.wait_for_selector("html[data-pending='2']")
    with hub_server.db.write() as conn:  # meanwhile the back office made this person an associate
        conn.execute("UPDATE users SET role = 'associate' WHERE username = 'supervisor'")
    hub_server.start()
    phone.wait_for_selector("html[data-online='1']", timeout=15000)
    phone.goto("/#/queue")
    phone.wait_for_selector("[data-testid='queue-row'] .state-tag.failed")
    kinds = [r[0] for r in hub_server.db.read().execute("SELECT kind FROM movements WHERE item_id = ?", (milk["id"],))]
    assert kinds == ["receive"]  # the adjust was refused (wrong role), the receive behind it went through
    assert phone.get_by_test_id("pending-count").inner_text() == "1"
    shot(phone, "14-refused-action")
    phone.get_by_role("button", name="Discard").click()
    phone.wait_for_selector("[data-testid='queue-empty']")
    assert phone.evaluate("document.documentElement.dataset.pending") == "0"
