"""A coupon at the till through the hub's HTTP routes (hub/checkout/api.py, hub/promotions/coupons.py): a
mistyped code is refused first, an issued code prices the cart with its promotion, the tender redeems it in the
sale's transaction (offline here: this hub has no sync credential, so the offline rules decide), and a code that
is not usable offline stops the sale — nothing is recorded."""

from __future__ import annotations

import json
import uuid

from hub.inventory import catalog
from hub.promotions import coupons
from hub.synclink import downlink
from tests.support.promotions import promo


def _shop(hubctx, client, auth):
    with hubctx.db.write() as conn:
        catalog.create_item(
            conn,
            {"sku": "COLA-330", "name_en": "Cola", "unit": "each", "price_minor": 1000, "gtins": ["6901234567892"]},
            actor="test",
        )
    r = client.post("/api/v1/checkout/tills/T1/shifts", json={"float_counted": {"10000": 1}}, headers=auth("associate"))
    assert r.status_code == 201, r.get_json()
    p = promo("P-CPN", "percent_off", {"percent": 20}, coupon="SPRING", phase="item")
    v = downlink.version(hubctx.db.read()) + 1
    online_only, offline_ok = coupons.new_code(), coupons.new_code()
    changes = [
        {"version": v, "kind": "promotion", "key": "P-CPN", "payload": p},
        {
            "version": v + 1,
            "kind": "coupon",
            "key": "b1",
            "payload": {"batch_id": "b1", "promotion_id": "P-CPN", "codes": [online_only]},
        },
        {
            "version": v + 2,
            "kind": "coupon",
            "key": "b2",
            "payload": {"batch_id": "b2", "promotion_id": "P-CPN", "offline": True, "codes": [offline_ok]},
        },
    ]
    assert downlink.apply_page(hubctx.db, changes, v + 2)["rejected"] == []
    return online_only, offline_ok


def _call(client, auth, method, path, body=None):
    r = client.open(f"/api/v1/checkout{path}", method=method, json=body, headers=auth("associate"))
    return r.status_code, r.get_json()


def _cart_with_cola(client, auth):
    st, c = _call(client, auth, "POST", "/tills/T1/carts", {})
    assert st == 201, c
    st, c = _call(client, auth, "POST", f"/carts/{c['id']}/scan", {"code": "6901234567892"})
    assert st == 200 and c["total_minor"] == 1000, c
    return c["id"]


def test_coupon_at_the_till_offline(hubctx, client, auth):
    online_only, offline_ok = _shop(hubctx, client, auth)
    cid = _cart_with_cola(client, auth)

    typo = offline_ok[:5] + ("A" if offline_ok[5] != "A" else "B") + offline_ok[6:]
    st, err = _call(client, auth, "POST", f"/carts/{cid}/coupons", {"code": typo})
    assert st == 400 and err["error"]["code"] == "coupon_malformed"
    st, err = _call(client, auth, "POST", f"/carts/{cid}/coupons", {"code": coupons.new_code()})
    assert st == 422 and err["error"]["code"] == "coupon_unknown"

    st, c = _call(client, auth, "POST", f"/carts/{cid}/coupons", {"code": coupons.printed(offline_ok).lower()})
    assert st == 200, c
    assert c["total_minor"] == 800 and c["coupons"] == [{"code": offline_ok, "promotion": "P-CPN"}]
    st, done = _call(
        client,
        auth,
        "POST",
        f"/carts/{cid}/tenders",
        {"method": "cash", "amount_minor": 800, "received_minor": 1000, "idempotency_key": uuid.uuid4().hex},
    )
    assert st == 200, done
    sale_id = done["sale"]["id"] if "id" in done["sale"] else done["sale"]["sale_id"]
    conn = hubctx.db.read()
    assert tuple(
        conn.execute(
            "SELECT redeemed_sale_id, redeemed_online FROM coupon_codes WHERE code = ?", (offline_ok,)
        ).fetchone()
    ) == (sale_id, 0)
    facts = [json.loads(p) for (p,) in conn.execute("SELECT payload FROM outbox WHERE kind = 'coupon.redeemed'")]
    assert [(f["code"], f["sale_id"], f["discount_minor"], f["online"]) for f in facts] == [
        (offline_ok, sale_id, 200, False)
    ]

    # the same code in another cart: already used
    cid2 = _cart_with_cola(client, auth)
    st, err = _call(client, auth, "POST", f"/carts/{cid2}/coupons", {"code": offline_ok})
    assert st == 409 and err["error"]["code"] == "coupon_used"

    # a code only head office may confirm: offline, the tender is refused and no sale is recorded
    st, c = _call(client, auth, "POST", f"/carts/{cid2}/coupons", {"code": online_only})
    assert st == 200 and c["total_minor"] == 800
    sales_before = conn.execute("SELECT COUNT(*) FROM checkout_sales").fetchone()[0]
    st, err = _call(
        client,
        auth,
        "POST",
        f"/carts/{cid2}/tenders",
        {"method": "cash", "amount_minor": 800, "received_minor": 800, "idempotency_key": uuid.uuid4().hex},
    )
    assert st == 422 and err["error"]["code"] == "coupon_offline_refused", err
    conn = hubctx.db.read()
    assert conn.execute("SELECT COUNT(*) FROM checkout_sales").fetchone()[0] == sales_before
    assert tuple(
        conn.execute("SELECT redeemed_sale_id FROM coupon_codes WHERE code = ?", (online_only,)).fetchone()
    ) == (None,)
    st, c = _call(client, auth, "DELETE", f"/carts/{cid2}/coupons/{online_only}")
    assert st == 200 and c["coupons"] == [] and c["total_minor"] == 1000
