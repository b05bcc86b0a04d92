"""The command head office checks promotions with, and the hub's routes over what the downlink delivered."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hub import domains
from hub.inventory import catalog
from hub.promotions import model
from hub.synclink import downlink
from tests.support.common import ROOT
from tests.support.promotions import basket, line, promo

MJ = promo(
    "mj",
    "spend_save",
    {"ladder": [{"spend_minor": 10000, "save_minor": 1000}], "repeat": True},
    name={"en": "Spend 100 save 10", "zh-CN": "每满100减10"},
)
HALF = promo(
    "half",
    "nth_item_off",
    {"n": 2, "percent": 50},
    scope={"categories": ["dairy"]},
    name={"en": "Second half price", "zh-CN": "第二件半价"},
)


def storehub(tmp_path, promos, b, *extra):
    (tmp_path / "p.json").write_text(json.dumps(promos), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(b), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "STOREHUB_DATA_DIR"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "promotions",
            "price",
            "--promotions",
            str(tmp_path / "p.json"),
            "--basket",
            str(tmp_path / "b.json"),
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env=env,
    )


def test_cli_prints_the_issue_shape(tmp_path):
    out = storehub(
        tmp_path,
        [MJ, HALF],
        basket(line("MILK", 2, 1250, "dairy", tax_rate="0.09"), line("RICE", 1, 9000)),
        "--timezone",
        "Asia/Shanghai",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    # milk 25.00 - 6.25 = 18.75, rice 90.00: 108.75 -> one full hundred -> 10.00 off -> 98.75
    assert (r["subtotal_minor"], r["discount_minor"], r["total_minor"]) == (11500, 1625, 9875)
    assert set(r) == {"subtotal_minor", "discount_minor", "total_minor", "tax", "lines", "applied", "rejected_coupons"}
    assert set(r["lines"][0]) == {"sku", "qty", "gross_minor", "discount_minor", "net_minor", "tax_minor", "applied"}
    assert r["applied"] == [
        {"promotion": "half", "discount_minor": 625, "times": 1},
        {"promotion": "mj", "discount_minor": 1000, "times": 1},
    ]
    human = storehub(tmp_path, [MJ], basket(line("RICE", 1, 9000)))
    assert human.returncode == 0 and "total 9000" in human.stdout


def test_cli_bad_input_exits_2_naming_the_field(tmp_path):
    out = storehub(tmp_path, [{**MJ, "type": "mystery"}], basket(), "--json")
    assert out.returncode == 2 and json.loads(out.stderr)["error"]["details"]["field"] == "promotions[0].type"
    out = storehub(tmp_path, [MJ], basket({"sku": "NEW", "qty": 1, "unit_price_minor": 100}), "--json")
    assert out.returncode == 2 and json.loads(out.stderr)["error"]["details"]["field"] == "lines[0].category"
    out = storehub(tmp_path, [MJ], basket(), "--timezone", "Mars/Olympus", "--json")
    assert out.returncode == 2 and json.loads(out.stderr)["error"]["details"]["field"] == "--timezone"
    (tmp_path / "p.json").write_text("{not json", encoding="utf-8")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "promotions",
            "price",
            "--promotions",
            str(tmp_path / "p.json"),
            "--basket",
            str(tmp_path / "b.json"),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 2 and json.loads(out.stderr)["error"]["details"]["field"] == "--promotions"


def deliver(db, *promos, version=1):
    """Promotions arrive the one way they do in a store: a downlink page applied by hub.synclink."""
    changes = [
        {"version": version + k, "kind": "promotion", "key": p["id"], "payload": p} for k, p in enumerate(promos)
    ]
    return downlink.apply_page(db, changes, version + len(promos) - 1)


def test_price_route_uses_the_catalog_and_the_delivered_promotions(app, client, auth, hubctx):
    with hubctx.db.write() as conn:
        catalog.create_item(
            conn,
            {"sku": "YOG", "name_en": "Yoghurt", "category": "dairy", "brand": "Bright", "price_minor": 600},
            actor="test",
        )
    assert deliver(hubctx.db, MJ, HALF)["rejected"] == []
    body = basket({"sku": "YOG", "qty": 2, "unit_price_minor": 600}, line("RICE", 2, 5000))
    r = client.post("/api/v1/promotions/price", json=body, headers=auth("associate"))
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    # yoghurt 12.00 - 3.00 (category from the catalog) + rice 100.00 = 109.00 -> 10.00 off
    assert (got["total_minor"], [a["promotion"] for a in got["applied"]]) == (9900, ["half", "mj"])
    bad = client.post("/api/v1/promotions/price", json=basket(line("RICE", 1, -1)), headers=auth("associate"))
    assert bad.status_code == 400
    unknown = client.post(
        "/api/v1/promotions/price",
        json=basket({"sku": "NOPE", "qty": 1, "unit_price_minor": 1}),
        headers=auth("associate"),
    )
    assert unknown.status_code == 400 and unknown.get_json()["error"]["details"]["field"] == "lines[0].category"
    assert app.test_client().post("/api/v1/promotions/price", json=body).status_code == 401  # no session
    # the domain call the checkout will make: the sale's own time wins over the basket's
    conn = hubctx.db.read()
    assert model.price_basket(conn, body, "2030-01-01T00:00:00Z")["discount_minor"] == 0  # all expired


def test_active_route_lists_today_in_both_languages_and_skips_what_it_cannot_price(app, client, auth, hubctx):
    weekend = promo(
        "weekend",
        "percent_off",
        {"percent": 5},
        valid={"from": "2026-01-01T00:00:00+08:00", "to": "2027-01-01T00:00:00+08:00", "weekdays": [6, 7]},
    )
    old = {"id": "legacy", "name": "Tea week", "skus": ["TEA"], "percent_off": 10}
    deliver(hubctx.db, MJ, HALF, weekend, old)
    wed = client.get("/api/v1/promotions/active?at=2026-06-03T04:00:00Z", headers=auth("associate")).get_json()
    assert [p["id"] for p in wed["items"]] == ["half", "mj"]
    assert wed["items"][1]["name"] == {"en": "Spend 100 save 10", "zh-CN": "每满100减10"}
    assert wed["date"] == "2026-06-03" and wed["timezone"] == "Asia/Shanghai"
    assert [s["id"] for s in wed["skipped"]] == ["legacy"]
    # 2026-06-05T17:00Z is already Saturday in Shanghai
    sat = client.get("/api/v1/promotions/active?at=2026-06-05T17:00:00Z", headers=auth("associate")).get_json()
    assert "weekend" in [p["id"] for p in sat["items"]] and sat["date"] == "2026-06-06"
    assert app.test_client().get("/api/v1/promotions/active").status_code == 401


def test_the_domain_is_declared_and_its_screen_served(client):
    d = domains.by_name("promotions")
    assert [f.kind for f in d.facts] == ["coupon.redeemed"] and d.settings == () and "promotions" in domains.commands()
    assert "promotions" in client.get("/screens.json").get_json()["screens"]
    for path in ("/screens/promotions.js", "/i18n/promotions.en.json", "/i18n/promotions.zh-CN.json"):
        assert client.get(path).status_code == 200, path


def test_a_serving_worker_builds_the_index_before_its_first_scan(data_dir):
    """A non-testing app (what ``storehub serve`` runs in each worker) builds the delivered promotions' index in a
    background thread as it starts; the first price finds it built (the same object), not built again inside its
    write transaction."""
    import threading
    import time

    from hub.app import create_app
    from hub.kernel.config import HubConfig
    from hub.store import initialise

    first = create_app(HubConfig(data_dir=data_dir, testing=True))
    db = first.extensions["storehub"].db
    initialise(db, store_id="warm-store", store_name="Warm", currency="CNY", language="en")
    deliver(db, MJ, HALF)
    db.close()
    model._INDEXES.clear()
    serving = create_app(HubConfig(data_dir=data_dir, testing=False))
    db = serving.extensions["storehub"].db
    deadline = time.monotonic() + 30
    while any(t.name == "storehub-promotions-warm" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        assert len(model._INDEXES) == 1
        ((_key, built),) = model._INDEXES.items()
        assert sorted(p.id for p in built[0].promotions) == ["half", "mj"]
        with db.write() as conn:
            assert model.delivered(conn) is built
    finally:
        db.close()
