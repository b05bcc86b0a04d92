"""A packed order's receipt and pack label as the store's printer puts them on paper: the hub composes them from
the store's settings (name, language, time zone, receipt footer), the printer agent lays them out for its paper
(58 mm / 80 mm) and the ESC/POS simulator decodes what it received."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from wcwidth import wcwidth

from devices.printer.agent import print_once
from devices.sim.printer import PrinterSim
from hub.inventory.ledger import new_key as key
from hub.kernel import settings
from hub.protocol.timeutil import parse_iso
from tests.support.orders import order_body, store

NAME = "StoreHub 演示超市 Demo Supermarket"
FOOTER = "谢谢惠顾，欢迎再次光临！\nReturns within 7 days with this receipt: 凭小票七天内可退换"


def _columns(text: str) -> int:
    return sum(2 if wcwidth(c) == 2 else 1 for c in text)


@pytest.fixture
def packed(client, auth, hubctx, sample):
    """An order picked and packed in a zh-CN store on Shanghai time; its queued print documents by type."""
    store(hubctx, sample)
    with hubctx.db.write() as conn:
        for k, v in (
            ("language", "zh-CN"),
            ("store_name", NAME),
            ("receipt_footer", FOOTER),
            ("timezone", "Asia/Shanghai"),
        ):
            settings.put(conn, k, v)
    o = client.post(
        "/api/v1/orders",
        json=order_body(
            "W-paper", [{"sku": "MILK-1L", "qty": 2}, {"sku": "APPLE", "grams": 500}], paid_minor=2 * 1250 + 600
        ),
        headers=auth(),
    ).get_json()
    pl = client.post("/api/v1/pick-lists/next", json={}, headers=auth()).get_json()
    codes = {"MILK-1L": "5901234123457", "APPLE": "2302148006004"}
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
    conn = hubctx.db.read()
    docs = {}
    for j in packed["printed"]:
        payload = conn.execute(
            "SELECT payload FROM device_commands WHERE request_id = ?", (j["request_id"],)
        ).fetchone()[0]
        docs[j["document"]] = json.loads(payload)["document"]
    order = conn.execute("SELECT ref, updated_at FROM orders WHERE id = ?", (o["id"],)).fetchone()
    return {"docs": docs, "ref": order["ref"], "updated_at": order["updated_at"], "code": o["code"]}


def _print(doc: dict, columns: int) -> dict:
    with PrinterSim(render_png=False, columns=columns) as sim:
        print_once(sim.url, doc, width=columns, cjk=True)
        return sim.wait_for_jobs(1)[0]


def _fits(job: dict, columns: int) -> None:
    assert job["overflow"] == []
    for el in job["elements"]:
        if el["type"] == "text":
            assert _columns(el["text"]) * el["width"] <= columns, el


@pytest.mark.parametrize("columns", (32, 42, 48))
def test_receipt_of_a_chinese_store_fits_the_paper_in_its_language_time_and_footer(packed, columns):
    job = _print(packed["docs"]["receipt"], columns)
    _fits(job, columns)
    lines = job["lines"]
    big = [e["text"] for e in job["elements"] if e["type"] == "text" and e["width"] == 2]
    assert "".join(big).replace(" ", "") == NAME.replace(" ", "")  # the store name, whole
    local = parse_iso(packed["updated_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"时间：{local:%Y-%m-%d %H:%M}" in lines  # Shanghai wall clock, +08:00
    assert f"订单：{packed['ref']}" in lines
    assert any(line.startswith("合计") and line.endswith("CNY 31.00") for line in lines)
    assert any(line.startswith("实付") for line in lines)
    assert "牛奶 1升" in "".join(lines)  # item names in Chinese
    assert not any(w in line for line in lines for w in ("TOTAL", "Time", "Order", "Paid"))
    printed = "".join(lines).replace(" ", "")
    for footer_line in FOOTER.splitlines():
        assert footer_line.replace(" ", "") in printed  # the store's footer, wrapped
    assert {"symbology": "code128", "value": packed["code"]} in job["barcodes"]


def test_pack_label_of_a_chinese_store_fits_58mm(packed):
    job = _print(packed["docs"]["pack_label"], 32)
    _fits(job, 32)
    text = "".join(job["lines"])
    assert f"到店自提：{NAME}".replace(" ", "") in text.replace(" ", "")
    assert "包裹 1/1" in job["lines"] and "自提 / 网店" in job["lines"]
    assert any(line.startswith("电话 138") for line in job["lines"])
