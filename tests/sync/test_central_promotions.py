"""Head office's promotion pages (issue 14): the form for every type in en and zh-CN, validation naming the field,
flags before publishing (conflicts and can-never-apply), a preview priced by the hubs' engine, publishing by an
admin only, and a published promotion reaching a hub through the versioned downlink."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from hub.kernel import settings
from hub.promotions import engine as pricing
from hub.promotions import labels, model
from hub.promotions.validation import parse_basket, parse_promotion
from hub.synclink import downlink as hub_downlink
from sync.central import downlink, office, stores
from sync.central import promotions as promo
from sync.central.app import create_app
from sync.central.config import CentralConfig
from sync.central.db import make_engine, migrate
from sync.worker import SyncWorker, WorkerConfig
from tests.support.sync import ThreadedCentral, make_hub

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
ADMIN = {"id": "u1", "username": "ada", "role": "admin"}


def _p(pid: str, **over) -> dict:
    raw = {
        "id": pid,
        "name": {"en": f"{pid} deal", "zh-CN": f"{pid} 优惠"},
        "type": "percent_off",
        "scope": {"skus": ["TEA-1"]},
        "params": {"percent": 10},
        "valid": {"from": "2026-12-01T00:00:00+08:00", "to": "2026-12-31T00:00:00+08:00"},
    }
    raw.update(over)
    return raw


@pytest.fixture
def engine(tmp_path):
    e = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(e)
    stores.add_store(e, "S1", "Store 1")
    stores.add_store(e, "S2", "Store 2")
    for sku, cat, gtin in (("TEA-1", "tea", "4006381333931"), ("TEA-2", "tea", None), ("RICE-5", "grain", None)):
        item = {"sku": sku, "name_en": sku, "name_zh": sku, "price_minor": 1000, "category": cat}
        downlink.author(e, "item", item | ({"gtins": [gtin]} if gtin else {}))
    yield e
    e.dispose()


def _codes(found):
    return sorted(f["code"] for f in found)


def test_check_names_the_field():
    _p_ok, errors = promo.check(_p("a"))
    assert errors == []
    _x, errors = promo.check(_p("a", params={"ladder": []}, type="spend_save"))
    assert errors and errors[0]["field"].startswith("params.ladder")
    _x, errors = promo.check(_p("a", valid={"from": "2026-12-01T00:00:00+08:00", "to": "2026-11-01T00:00:00+08:00"}))
    assert errors[0]["field"] == "valid.to"
    _x, errors = promo.check(_p("a", params={"percent": 150}))
    assert errors[0]["field"] == "params.percent"


def test_flags_can_never_apply(engine):
    assert promo.flags(engine, _p("ok"), ["*"], NOW) == []
    assert _codes(promo.flags(engine, _p("x", scope={"skus": ["NOPE"]}), ["*"], NOW)) == ["scope_matches_nothing"]
    assert _codes(promo.flags(engine, _p("x", scope={"categories": ["shoes"]}), ["*"], NOW)) == [
        "scope_matches_nothing"
    ]
    assert promo.flags(engine, _p("x", scope={"categories": ["tea"]}), ["*"], NOW) == []
    past = {"from": "2026-01-01T00:00:00+08:00", "to": "2026-02-01T00:00:00+08:00"}
    assert _codes(promo.flags(engine, _p("x", valid=past), ["*"], NOW)) == ["window_past"]
    night = {**_p("x")["valid"], "hours": [["01:00", "05:00"]]}
    assert _codes(promo.flags(engine, _p("x", valid=night), ["*"], NOW)) == ["hours_outside_opening"]
    evening = {**_p("x")["valid"], "hours": [["18:00", "23:30"]]}
    assert promo.flags(engine, _p("x", valid=evening), ["*"], NOW) == []
    # Tue 1st to Thu 3rd (Shanghai) on Sundays only
    short = {"from": "2026-12-01T00:00:00+08:00", "to": "2026-12-04T00:00:00+08:00", "weekdays": [7]}
    assert _codes(promo.flags(engine, _p("x", valid=short), ["*"], NOW)) == ["weekdays_never"]
    gated = promo.flags(engine, _p("x", coupon="tea5"), ["*"], NOW)
    assert _codes(gated) == ["coupon_without_codes"] and "TEA5" in gated[0]["message"]
    zh = promo.flags(engine, _p("x", scope={"skus": ["NOPE"]}), ["*"], NOW, lang="zh-CN")
    assert "永远不会生效" in zh[0]["message"] and zh[0]["field"] == "scope"


def test_flags_conflicts(engine):
    promo.publish(engine, _p("excl", exclusive=True, scope={"categories": ["tea"]}), ["S1"], ADMIN, now=NOW)
    # same phase, overlapping scope (TEA-1 is tea), store S1 in both: exclusive overlap
    found = promo.flags(engine, _p("new"), ["*"], NOW)
    assert _codes(found) == ["exclusive_overlap"] and found[0]["other"] == "excl"
    # another store only: no conflict
    assert promo.flags(engine, _p("new"), ["S2"], NOW) == []
    # disjoint scope (rice): no conflict
    assert promo.flags(engine, _p("new", scope={"skus": ["RICE-5"]}), ["S1"], NOW) == []
    # disjoint hours
    promo.publish(
        engine, _p("am", priority=5, valid={**_p("x")["valid"], "hours": [["08:00", "12:00"]]}), ["S2"], ADMIN, now=NOW
    )
    pm = {**_p("x")["valid"], "hours": [["13:00", "17:00"]]}
    assert promo.flags(engine, _p("pm", priority=5, valid=pm), ["S2"], NOW) == []
    tie = promo.flags(engine, _p("tie", priority=5), ["S2"], NOW)
    assert _codes(tie) == ["priority_tie"] and tie[0]["other"] == "am"
    # a different priority is no tie
    assert promo.flags(engine, _p("tie", priority=6), ["S2"], NOW) == []
    # republishing the same id never conflicts with itself
    assert promo.flags(engine, _p("am", priority=5), ["S2"], NOW) == []


def test_publish_is_admin_only_and_flags_need_acknowledging(engine):
    viewer = {"id": "u2", "username": "vic", "role": "viewer"}
    with pytest.raises(Exception) as exc:
        promo.publish(engine, _p("a"), ["*"], viewer, now=NOW)
    assert exc.value.code == "forbidden"
    with pytest.raises(Exception) as exc:
        promo.publish(engine, _p("a", scope={"skus": ["NOPE"]}), ["*"], ADMIN, now=NOW)
    assert exc.value.code == "promotion_flagged"
    rows = promo.publish(engine, _p("a", scope={"skus": ["NOPE"]}), ["S1", "S2"], ADMIN, acknowledge=True, now=NOW)
    assert [r["scope"] for r in rows] == ["S1", "S2"] and all(r["author"] == "office:ada" for r in rows)
    assert promo.targets_of(engine, "a") == ["S1", "S2"]


def test_preview_equals_the_engine(engine):
    promo.publish(
        engine,
        _p("spend", type="spend_save", scope=None, params={"ladder": [{"spend_minor": 2000, "save_minor": 300}]})
        | {"scope": {}},
        ["*"],
        ADMIN,
        now=NOW,
    )
    draft = _p("tea3", type="nth_item_off", params={"n": 2, "percent": 50}, scope={"categories": ["tea"]})
    basket = {
        "at": "2026-12-05T10:00:00+08:00",
        "lines": [
            {"sku": "TEA-1", "qty": 3, "unit_price_minor": 1000},
            {"sku": "RICE-5", "qty": 1, "unit_price_minor": 2500},
        ],
    }
    got = promo.preview(engine, draft, basket, "S1")
    cat = promo.catalog(engine)
    want = pricing.price(
        [parse_promotion(draft), *promo.in_force_for(engine, "S1", exclude="tea3")],
        parse_basket(basket, lambda s: cat.get(s)),
        "Asia/Shanghai",
    )
    assert got == want
    # checked by hand: tea 3×1000 with the 2nd unit half off = 2500; rice 2500; 5000 ≥ 2000: 300 off
    assert got["subtotal_minor"] == 5500 and got["total_minor"] == 5500 - 500 - 300
    assert {a["promotion"] for a in got["applied"]} == {"tea3", "spend"}


def _login(c, username, password):
    page = c.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert c.post("/login", data={"username": username, "password": password, "csrf": csrf}).status_code == 302
    page = c.get("/promotions/new").get_data(as_text=True)  # a new session: a new CSRF token
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _form(csrf, raw, **extra):
    v = raw["valid"]
    data = {
        "csrf": csrf,
        "id": raw["id"],
        "name_en": raw["name"]["en"],
        "name_zh": raw["name"]["zh-CN"],
        "type": raw["type"],
        "params": __import__("json").dumps(raw["params"]),
        "skus": ", ".join(raw.get("scope", {}).get("skus", [])),
        "priority": "0",
        "valid_from": v["from"],
        "valid_to": v["to"],
        "stores": ["*"],
        "basket": '{"at": "2026-12-05T10:00:00+08:00", "lines": [{"sku": "TEA-1", "qty": 2, "unit_price_minor": 1000}]}',
    }
    data.update(extra)
    return data


def test_pages_in_both_languages(engine, tmp_path):
    app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
    office.add_user(engine, "vic", "office-pass-456", "viewer")
    office.add_user(engine, "ada", "office-pass-789", "admin")
    c = app.test_client()
    assert c.get("/promotions").status_code == 302
    csrf = _login(c, "vic", "office-pass-456")
    zh = c.get("/promotions?lang=zh-CN").get_data(as_text=True)
    assert "促销" in zh and "尚未发布任何促销" in zh and "满减" in zh
    en = c.get("/promotions?lang=en").get_data(as_text=True)
    assert "No promotions published yet." in en and "Spend and save" in en
    for kind in pricing.TYPES:  # a form for every type, its example parameters valid as they are
        page = c.get(f"/promotions/new?type={kind}").get_data(as_text=True)
        assert f'<option value="{kind}" selected' in page
        raw = _p(f"ex-{kind}", type=kind, params=promo.EXAMPLE_PARAMS[kind])
        if kind == "bundle_price":
            raw["scope"] = {}
        assert promo.check(raw)[1] == []
    # validation error naming the field, in the page
    bad = c.post("/promotions/check", data=_form(csrf, _p("b", params={"percent": 150}), action="validate"))
    assert bad.status_code == 400 and "params.percent" in bad.get_data(as_text=True)
    bad = c.post("/promotions/check", data=_form(csrf, _p("b"), hours="9-12", action="validate"))
    assert bad.status_code == 400 and "valid.hours[0]" in bad.get_data(as_text=True)
    # flags shown (zh-CN remembered from ?lang on a GET)
    c.get("/promotions?lang=zh-CN")
    r = c.post("/promotions/check", data=_form(csrf, _p("b", scope={"skus": ["NOPE"]}), action="validate"))
    assert r.status_code == 200 and 'data-code="scope_matches_nothing"' in r.get_data(as_text=True)
    assert "永远不会生效" in r.get_data(as_text=True)
    c.get("/promotions?lang=en")
    # preview: the engine's price on the page
    r = c.post("/promotions/check", data=_form(csrf, _p("b"), action="preview"))
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and 'data-testid="total">1800<' in body and "b −200" in body
    # a viewer cannot publish; no CSRF, no post
    r = c.post("/promotions/check", data=_form(csrf, _p("b"), action="publish"))
    assert r.status_code == 403 and promo.published(engine) == []
    assert c.post("/promotions/check", data=_form("", _p("b"), action="validate")).status_code == 400
    c.post("/logout", data={"csrf": csrf})
    csrf = _login(c, "ada", "office-pass-789")
    r = c.post("/promotions/check", data=_form(csrf, _p("b"), action="publish"))
    assert r.status_code == 200 and 'data-testid="published"' in r.get_data(as_text=True)
    [row] = promo.published(engine)
    assert row["key"] == "b" and row["scope"] == "*" and row["author"] == "office:ada"
    assert row["payload"]["name"] == {"en": "b deal", "zh-CN": "b 优惠"} and row["payload"]["params"] == {"percent": 10}
    listed = c.get("/promotions?lang=zh-CN").get_data(as_text=True)
    assert "b 优惠" in listed and "office:ada" in listed and "打折" in listed
    edit = c.get("/promotions/b/edit?lang=en").get_data(as_text=True)
    assert 'value="b 优惠"' in edit and "Edit promotion" in edit
    assert c.get("/promotions/none/edit").status_code == 404
    # flagged: refused unless acknowledged
    r = c.post("/promotions/check", data=_form(csrf, _p("n", scope={"skus": ["NOPE"]}), action="publish"))
    assert r.status_code == 400 and len(promo.published(engine)) == 1
    r = c.post(
        "/promotions/check", data=_form(csrf, _p("n", scope={"skus": ["NOPE"]}), action="publish", acknowledge="1")
    )
    assert r.status_code == 200 and len(promo.published(engine)) == 2


def test_published_promotion_reaches_a_hub(engine, tmp_path):
    app = create_app(CentralConfig(data_dir=tmp_path / "central", testing=True), engine=engine)
    server = ThreadedCentral(app)
    secret = stores.add_store(engine, "S3", "Store 3")
    _cfg, db, _ctx = make_hub(tmp_path / "hub", "S3")
    try:
        worker = SyncWorker(db, WorkerConfig(central_url=server.url, store_id="S3", secret=secret))
        promo.publish(engine, _p("hubbed"), ["S3"], ADMIN, now=NOW)
        promo.publish(engine, _p("elsewhere"), ["S1"], ADMIN, now=NOW)
        while worker.pull_once():
            pass
        conn = db.read()
        got = hub_downlink.promotions(conn)
        assert set(got) == {"hubbed"} and got["hubbed"]["params"] == {"percent": 10}
        active = model.active(conn, "2026-12-05T10:00:00+08:00")
        assert [p["id"] for p in active["items"]] == ["hubbed"]
        # and once it is in force, the hub queues its shelf label (TEA-1, delivered by the downlink too) for the store's printer (tests/promotions/test_labels*)
        with db.write() as w:
            settings.put(w, "checkout.printer_device", "printer-1")
            [sent] = labels.queue_due(w, datetime(2026, 12, 5, 2, tzinfo=UTC))
        assert [j["sku"] for j in sent["jobs"]] == ["TEA-1"] and sent["version"] == got_version(conn, "hubbed")
    finally:
        server.close()
        db.close()


def got_version(conn, pid):
    return conn.execute("SELECT downlink_version FROM central_promotions WHERE id = ?", (pid,)).fetchone()[0]
