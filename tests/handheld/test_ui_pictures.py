"""Browser: item pictures on the handheld — a thumbnail beside the name in lookup, the last scanned item of a count,
the current pick of a walk, the larger picture on the item screen; items without one show the placeholder (never a
broken image); a manager takes a picture with the file/camera input and removes it."""

from __future__ import annotations

import io

import pytest
import requests
from PIL import Image

from hub.inventory import ledger
from hub.inventory.ledger import MovementRequest, new_key
from hub.stocktake import sessions
from tests.support.orders import order_body
from tests.support.ui import login, scan, shot

pytestmark = pytest.mark.browser
MILK = "5901234123457"

# the <img> inside a thumb box, once loaded: its decoded width (0 would be a broken image)
NATURAL_WIDTH = "(sel) => { const i = document.querySelector(sel + ' img'); return i ? i.naturalWidth : -1; }"


def _jpeg(color=(30, 90, 200), size=(900, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=85)
    return out.getvalue()


def _api(hub_server, role="manager"):
    url = hub_server.url + "/api/v1"
    pin = {"supervisor": "2222", "manager": "9999", "associate": "1111"}[role]
    token = requests.post(f"{url}/auth/login", json={"user": role, "pin": pin}, timeout=30).json()["token"]
    return url, {"Authorization": f"Bearer {token}"}


def _give_picture(hub_server, item_id: str, data: bytes) -> str:
    url, hdr = _api(hub_server)
    r = requests.put(
        f"{url}/items/{item_id}/picture", data=data, headers={**hdr, "Content-Type": "image/jpeg"}, timeout=30
    )
    assert r.status_code == 200, r.text
    return r.json()["sha256"]


def _loaded(page, testid: str, nth: int = 0) -> int:
    sel = f"[data-testid='{testid}']"
    page.wait_for_function(
        "([sel, n]) => { const b = document.querySelectorAll(sel)[n]; return b && b.dataset.state === 'loaded'; }",
        arg=[sel, nth],
    )
    return page.evaluate(
        "([sel, n]) => document.querySelectorAll(sel)[n].querySelector('img').naturalWidth", [sel, nth]
    )


def test_lookup_shows_thumbs_and_placeholders(phone, hub_server):
    s = hub_server.sample
    sha = _give_picture(hub_server, s["milk"]["id"], _jpeg())
    login(phone)
    phone.evaluate("() => { location.hash = '#/lookup?q=' + encodeURIComponent('i'); }")  # milk, rice, ...
    phone.wait_for_selector("[data-testid='lookup-hit']")
    names = phone.locator("[data-testid='lookup-hit'] strong").all_inner_texts()
    milk = names.index("Milk 1L")
    assert _loaded(phone, "lookup-hit-thumb", milk) > 0
    src = phone.evaluate(
        "(n) => document.querySelectorAll(\"[data-testid='lookup-hit-thumb']\")[n].querySelector('img').src", milk
    )
    assert src.endswith(f"/api/v1/pictures/{sha}/96")
    # the others have no picture: the placeholder, no image element at all (so never a broken one)
    others = [i for i in range(len(names)) if i != milk]
    assert others
    for i in others:
        state = phone.evaluate(
            "(n) => { const b = document.querySelectorAll(\"[data-testid='lookup-hit-thumb']\")[n];"
            " return [b.dataset.state, b.querySelectorAll('img').length, b.querySelectorAll('svg').length]; }",
            i,
        )
        assert state == ["none", 0, 1]
    # the item screen shows it larger (320 px variant)
    phone.locator("[data-testid='lookup-hit']").nth(milk).click()
    phone.wait_for_selector("[data-screen='item'] [data-testid='item-name']")
    assert _loaded(phone, "item-picture") == 320
    assert phone.evaluate(NATURAL_WIDTH, "[data-testid='item-picture']") == 320  # 900×600 → 320×213
    # a tap shows the whole picture (the 1024 px variant: 900 px wide, never enlarged)
    phone.get_by_test_id("picture-open").click()
    phone.wait_for_function(
        "() => { const i = document.querySelector(\"[data-testid='picture-dialog'] img\"); return i && i.naturalWidth > 0; }"
    )
    assert phone.evaluate("() => document.querySelector(\"[data-testid='picture-dialog'] img\").naturalWidth") == 900
    phone.get_by_test_id("picture-close").click()
    phone.wait_for_selector("[data-testid='picture-dialog']", state="detached")
    # an associate gets no picture buttons
    assert phone.get_by_test_id("picture-take").count() == 0
    shot(phone, "pictures-lookup-item")
    assert phone.errors == []


def test_count_shows_the_last_scanned_items_picture(phone, hub_server):
    s = hub_server.sample
    with hub_server.db.write() as conn:
        ledger.post(
            conn, MovementRequest("receive", s["milk"]["id"], s["bin1"]["id"], 5, "delivery", "test", new_key())
        )
        ledger.post(
            conn, MovementRequest("receive", s["rice"]["id"], s["bin1"]["id"], 5, "delivery", "test", new_key())
        )
        sid = sessions.create(conn, name="Aisle 1", actor="test")[0]["id"]
    _give_picture(hub_server, s["milk"]["id"], _jpeg((200, 40, 40)))
    login(phone)
    phone.evaluate("(id) => { location.hash = '#/stocktake_count?id=' + id; }", sid)
    phone.wait_for_selector("[data-screen='stocktake_count'] [data-testid='count-last']")
    scan(phone, "SHL-A01-01")
    phone.wait_for_selector("[data-testid='count-last'][data-seq='1'][data-state='done']")
    assert phone.get_by_test_id("count-last-thumb").get_attribute("data-state") == "none"
    scan(phone, MILK)
    phone.wait_for_selector("[data-testid='count-last'][data-seq='2'][data-state='done']")
    assert _loaded(phone, "count-last-thumb") == 96
    # rice has no picture: back to the placeholder, no broken image
    scan(phone, "96385074")
    phone.wait_for_selector("[data-testid='count-last'][data-seq='3'][data-state='done']")
    phone.wait_for_selector("[data-testid='count-last-thumb'][data-state='none']")
    assert phone.locator("[data-testid='count-last-thumb'] img").count() == 0
    scan(phone, MILK)
    phone.wait_for_selector("[data-testid='count-last'][data-seq='4'][data-state='done']")
    assert _loaded(phone, "count-last-thumb") == 96
    shot(phone, "pictures-count")
    assert phone.errors == []


def test_pick_walk_shows_the_current_picks_picture(phone, hub_server):
    s = hub_server.sample
    with hub_server.db.write() as conn:
        ledger.post(
            conn, MovementRequest("receive", s["milk"]["id"], s["bin1"]["id"], 5, "delivery", "test", new_key())
        )
    _give_picture(hub_server, s["milk"]["id"], _jpeg((40, 160, 60), (600, 900)))
    url, hdr = _api(hub_server, "supervisor")
    r = requests.post(
        f"{url}/orders", headers=hdr, timeout=30, json=order_body("WEB-PIC-1", [{"sku": "MILK-1L", "qty": 2}])
    )
    assert r.status_code == 201, r.text
    login(phone)
    phone.get_by_test_id("tile-pick").click()
    phone.get_by_test_id("pick-next").click()
    phone.wait_for_selector("[data-screen='pick_walk'] [data-testid='walk-item']")
    assert phone.get_by_test_id("walk-item-name").inner_text() == "Milk 1L"
    # portrait 600×900 → 96 px thumbnail is 64×96
    assert _loaded(phone, "walk-item-thumb") == 64
    scan(phone, "SHL-A01-01")  # the walk redraws for the next step: the picture is still there
    phone.wait_for_function("() => document.querySelector(\"[data-testid='walk-prompt']\").innerText.length > 0")
    assert _loaded(phone, "walk-item-thumb") == 64
    shot(phone, "pictures-pick")
    assert phone.errors == []


def test_manager_takes_and_removes_a_picture(phone, hub_server):
    s = hub_server.sample
    login(phone, "manager", "9999")
    phone.evaluate("(id) => { location.hash = '#/item?id=' + id; }", s["rice"]["id"])
    phone.wait_for_selector("[data-screen='item'] [data-testid='item-name']")
    assert phone.get_by_test_id("item-picture").get_attribute("data-state") == "none"
    assert phone.get_by_test_id("picture-remove").count() == 0
    file_input = phone.get_by_test_id("picture-file")
    assert file_input.get_attribute("accept") == "image/*" and file_input.get_attribute("capture") == "environment"
    file_input.set_input_files(
        {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": _jpeg((250, 200, 0), (1200, 1200))}
    )
    phone.wait_for_selector("#toast.show[data-kind='success']")
    assert _loaded(phone, "item-picture") == 320
    sha = (
        hub_server.db.read().execute("SELECT picture_sha256 FROM items WHERE id = ?", (s["rice"]["id"],)).fetchone()[0]
    )
    assert sha and phone.evaluate("() => document.querySelector(\"[data-testid='item-picture'] img\").src").endswith(
        f"/pictures/{sha}/320"
    )
    # a text file is refused with the hub's reason in the user's language
    phone.get_by_test_id("picture-file").set_input_files(
        {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a picture at all"}
    )
    phone.wait_for_function("() => document.querySelector('#toast').innerText.includes('JPEG, PNG or WebP')")
    phone.get_by_test_id("picture-remove").click()
    phone.wait_for_selector("[data-testid='item-picture'][data-state='none']")
    assert (
        hub_server.db.read().execute("SELECT picture_sha256 FROM items WHERE id = ?", (s["rice"]["id"],)).fetchone()[0]
        is None
    )
    assert phone.errors == []


def test_pictures_seen_once_show_offline(phone, hub_server):
    s = hub_server.sample
    sha = _give_picture(hub_server, s["milk"]["id"], _jpeg((120, 20, 160)))
    login(phone)
    # the service worker controls the page before the pictures are fetched (it keeps them by hash)
    phone.wait_for_function("() => navigator.serviceWorker.controller !== null")
    phone.evaluate("() => { location.hash = '#/lookup?q=Milk'; }")
    assert _loaded(phone, "lookup-hit-thumb") == 96
    phone.get_by_test_id("lookup-hit").first.click()
    assert _loaded(phone, "item-picture") == 320
    phone.wait_for_function(
        """async (sha) => {
          const c = await caches.open('storehub-pictures-v1');
          return Boolean(await c.match(`/api/v1/pictures/${sha}/96`)) && Boolean(await c.match(`/api/v1/pictures/${sha}/320`));
        }""",
        arg=sha,
    )
    hub_server.stop()
    try:
        phone.evaluate("() => { location.hash = '#/'; }")
        phone.evaluate("() => { location.hash = '#/lookup?q=Milk'; }")
        phone.wait_for_selector("[data-testid='lookup-results'] .stale")  # searched on this device: the hub is away
        assert _loaded(phone, "lookup-hit-thumb") == 96
        phone.get_by_test_id("lookup-hit").first.click()
        phone.wait_for_selector("[data-testid='item-stale']")
        assert _loaded(phone, "item-picture") == 320
    finally:
        hub_server.start()


def test_a_big_photo_is_made_smaller_on_the_phone_before_it_is_sent(phone, hub_server):
    import os

    s = hub_server.sample
    # a 4000×3000 camera photo of ~4 MB (noise keeps JPEG from compressing it away), stored sideways (EXIF 6)
    big = Image.frombytes("RGB", (400, 300), os.urandom(400 * 300 * 3)).resize((4000, 3000), Image.Resampling.NEAREST)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    big.save(out, "JPEG", quality=95, exif=exif)
    photo = out.getvalue()
    assert len(photo) > 3 * 1024 * 1024
    login(phone, "manager", "9999")
    phone.evaluate("(id) => { location.hash = '#/item?id=' + id; }", s["milk"]["id"])
    phone.wait_for_selector("[data-screen='item'] [data-testid='item-name']")
    phone.get_by_test_id("picture-file").set_input_files(
        {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}
    )
    phone.wait_for_selector("#toast.show[data-kind='success']")
    row = (
        hub_server.db.read()
        .execute(
            "SELECT p.source_bytes, p.width, p.height FROM pictures p JOIN items i ON i.picture_sha256 = p.sha256"
            " WHERE i.id = ?",
            (s["milk"]["id"],),
        )
        .fetchone()
    )
    # what reached the hub: drawn upright at most 2048 px as JPEG, far smaller than the photo
    assert row["source_bytes"] < len(photo) // 2
    assert (row["width"], row["height"]) == (768, 1024)  # upright: portrait
    assert phone.errors == []
