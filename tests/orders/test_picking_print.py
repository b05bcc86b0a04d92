"""Pack → pack label and receipt printed through the real chain: hub command queue → bus process → Mosquitto →
printer agent (python-escpos) → TCP ESC/POS printer simulator, whose decoded paper is checked."""

from __future__ import annotations

import pytest

from hub.inventory.ledger import new_key as key
from tests.support.bus import wait_until
from tests.support.orders import PrintRig, order_body, store

pytestmark = pytest.mark.mqtt


@pytest.fixture
def rig(hubctx, sample, tmp_path):
    store(hubctx, sample)
    r = PrintRig(hubctx.db, tmp_path)
    yield r
    r.close()


def _status(hubctx, request_id):
    row = (
        hubctx.db.read()
        .execute("SELECT status, error FROM device_commands WHERE request_id = ?", (request_id,))
        .fetchone()
    )
    return (row["status"], row["error"]) if row else (None, None)


def test_pack_prints_label_and_receipt_once(client, auth, hubctx, rig):
    o = client.post(
        "/api/v1/orders",
        json=order_body(
            "W-print", [{"sku": "MILK-1L", "qty": 2}, {"sku": "APPLE", "grams": 500}], paid_minor=2 * 1250 + 600
        ),
        headers=auth(),
    ).get_json()
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    codes = {"MILK-1L": "5901234123457", "APPLE": "2302148006004"}  # 6.00 CNY scale label = 500 g
    for t in pl["tasks"]:
        r = client.post(
            f"/api/v1/pick-tasks/{t['id']}/pick",
            headers=auth(),
            json={"client_key": key(), "location_code": t["location_label"], "item_code": codes[t["sku"]]},
        )
        assert r.status_code == 200, r.get_json()
    for code in ("5901234123457", "5901234123457", "2302148006004"):
        assert (
            client.post(
                f"/api/v1/orders/{o['id']}/pack/scan", json={"code": code, "client_key": key()}, headers=auth()
            ).status_code
            == 200
        )
    packed = client.post(f"/api/v1/orders/{o['id']}/pack", json={}, headers=auth()).get_json()
    jobs = {j["document"]: j["request_id"] for j in packed["printed"]}
    paper = rig.sim.wait_for_jobs(2, timeout=20)
    label = next(
        p
        for p in paper
        if any(o["code"] in line for line in p["lines"]) and p["barcodes"] and "TOTAL" not in " ".join(p["lines"])
    )
    receipt = next(p for p in paper if any("TOTAL" in line for line in p["lines"]))
    assert {"symbology": "code128", "value": o["code"]} in [
        {"symbology": b["symbology"].lower(), "value": b["value"]} for b in label["barcodes"]
    ]
    text = "\n".join(receipt["lines"])
    assert "TOTAL" in text and "CNY 31.00" in text and o["ref"] in text  # 2 × 12.50 + 500 g × 12.00/kg
    wait_until(lambda: all(_status(hubctx, rid)[0] == "ok" for rid in jobs.values()))
    order = client.get(f"/api/v1/orders/{o['id']}", headers=auth()).get_json()
    assert {j["status"] for j in order["print_jobs"]} == {"ok"}
    # printing again is a new request; the same request is never printed twice
    reprint = client.post(
        f"/api/v1/orders/{o['id']}/print", json={"documents": ["pack_label"]}, headers=auth()
    ).get_json()
    rig.sim.wait_for_jobs(3, timeout=20)
    wait_until(lambda: _status(hubctx, reprint["printed"][0]["request_id"])[0] == "ok")
    assert len(rig.sim.jobs) == 3
