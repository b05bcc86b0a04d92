"""Catalog rules for the handheld UI (every screen, also ones added later) and the per-user language switch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.ui import login, shot

UI = Path(__file__).resolve().parents[2] / "handheld_ui"
LANGS = ("en", "zh-CN")


def _screen_ids(client):
    return client.get("/screens.json").get_json()["screens"]


def _catalog(name, lang):
    return json.loads((UI / "i18n" / f"{name}.{lang}.json").read_text(encoding="utf-8"))


def test_every_screen_has_both_catalogs_with_the_same_prefixed_keys(client):
    ids = _screen_ids(client)
    assert {"lookup", "item", "queue", "profile"} <= set(ids)
    for name in ["core", *ids]:
        en, zh = _catalog(name, "en"), _catalog(name, "zh-CN")
        assert set(en) == set(zh), f"{name}: keys differ: {set(en) ^ set(zh)}"
        prefixes = ("core.", "common.") if name == "core" else (f"{name}.",)
        bad = [k for k in en if not k.startswith(prefixes)]
        assert not bad, f"{name}: keys without the {prefixes} prefix: {bad}"
        for k in en:
            assert en[k].strip() and zh[k].strip(), f"{name}: empty string for {k}"
            assert set(re.findall(r"\{(\w+)\}", en[k])) == set(re.findall(r"\{(\w+)\}", zh[k])), (
                f"{k}: placeholders differ"
            )


def test_every_literal_key_used_in_code_exists(client):
    keys = {}
    for name in ["core", *_screen_ids(client)]:
        keys.update(_catalog(name, "en"))
    used = set()
    for path in [*UI.glob("js/*.js"), *UI.glob("screens/*.js")]:
        src = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\('((?:core|common|[a-z_]+)\.[a-zA-Z0-9_.-]+)'", src))
        used |= set(re.findall(r"\b(?:t|ctx\.t)\('([a-z_]+\.[a-zA-Z0-9_.-]+)'", src))
    used |= set(re.findall(r'data-i18n(?:-label|-placeholder)?="([^"]+)"', (UI / "index.html").read_text()))
    missing = sorted(k for k in used if k not in keys)
    assert not missing, missing
    # templated families used in code
    for role in ("associate", "supervisor", "manager", "admin"):
        assert f"core.role_{role}" in keys
    for kind in (
        "receive",
        "sale",
        "return",
        "adjust",
        "count",
        "transfer_out",
        "transfer_in",
        "writeoff",
        "reserve",
        "release",
        "pick",
    ):
        assert f"item.kind_{kind}" in keys


@pytest.mark.browser
def test_language_switch_is_per_user_and_sticks(phone, hub_server):
    login(phone)
    assert phone.locator("#title").inner_text() == "Home"
    phone.get_by_test_id("tile-profile").click()
    phone.get_by_test_id("lang-zh-CN").click()
    phone.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert phone.locator("#title").inner_text() == "我的"
    assert phone.locator("#net-pill").inner_text() == "在线"
    row = hub_server.db.read().execute("SELECT language FROM users WHERE username = 'associate'").fetchone()
    assert row[0] == "zh-CN"
    phone.goto("/#/")
    phone.wait_for_selector("[data-screen='home']")
    assert phone.get_by_test_id("role").inner_text() == "店员"
    shot(phone, "20-home-zh")
    phone.goto(f"/#/item?id={hub_server.sample['milk']['id']}")
    phone.wait_for_selector("[data-testid='item-name']")
    assert phone.get_by_test_id("item-name").inner_text() == "牛奶 1升"
    assert "¥12.50" in phone.get_by_test_id("item-price").inner_text()
    shot(phone, "21-item-zh")
    # log out; the supervisor (English) logs in on the same device and gets English
    phone.goto("/#/profile")
    phone.get_by_test_id("logout").click()
    phone.wait_for_selector("[data-screen='login']")
    login(phone, "supervisor", "2222", open_first=False)
    assert phone.locator("#title").inner_text() == "Home"
    phone.get_by_test_id("tile-profile").click()
    phone.get_by_test_id("logout").click()
    # the associate gets Chinese again, from the hub
    login(phone, "associate", "1111", open_first=False)
    assert phone.locator("#title").inner_text() == "首页"
    assert phone.errors == []
