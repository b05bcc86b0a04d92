"""The till: a member attached to the cart by their dynamic code earns on the sale (in the sale's transaction), and
a return of that sale takes the points back — through the checkout's own routes."""

from __future__ import annotations

import uuid

from hub.members import points


def _call(client, auth, method, path, body=None, status=200):
    r = client.open(f"/api/v1{path}", method=method, json=body, headers=auth("associate"))
    assert r.status_code == status, (path, r.status_code, r.get_json())
    return r.get_json()


def test_sale_earns_for_the_attached_member_and_a_return_takes_it_back(client, auth, hubctx, sample, enrol):
    m = enrol("13812345678")
    _call(client, auth, "POST", "/checkout/tills/T1/shifts", {"float_minor": 20000}, status=201)
    cart = _call(client, auth, "POST", "/checkout/tills/T1/carts", {}, status=201)
    code = _call(client, auth, "POST", f"/members/{m['id']}/code")["code"]
    assert _call(client, auth, "POST", f"/members/carts/{cart['id']}", {"code": code})["id"] == m["id"]
    for _ in range(4):
        _call(client, auth, "POST", f"/checkout/carts/{cart['id']}/scan", {"code": "96385074"})  # rice ¥49.90
    paid = _call(
        client,
        auth,
        "POST",
        f"/checkout/carts/{cart['id']}/tenders",
        {"method": "cash", "received_minor": 20000, "idempotency_key": uuid.uuid4().hex},
    )
    sale = paid["sale"]
    conn = hubctx.db.read()
    assert points.balance(conn, m["id"]) == 199  # ¥199.60 net paid: 1 point per ¥1
    earn = conn.execute("SELECT ref, spend_minor FROM points_entries WHERE kind = 'earn'").fetchone()
    assert earn[0] == sale["id"] and earn[1] == 4 * 4990
    _call(
        client,
        auth,
        "POST",
        "/checkout/returns",
        {
            "till_id": "T1",
            "receipt_code": sale["receipt_code"],
            "lines": [{"line_no": 1, "qty": 2}],
            "idempotency_key": uuid.uuid4().hex,
        },
        status=201,
    )
    assert points.balance(hubctx.db.read(), m["id"]) == 199 - 100  # half the goods back: half the points
