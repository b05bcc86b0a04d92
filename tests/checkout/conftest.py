"""Fixtures of the checkout tests: a store with items and a till with an open shift, printer and scale.

The shared hub fixtures (app, client, auth, sample, hubctx) are in tests/conftest.py."""

from __future__ import annotations

import uuid

import pytest

from hub.bus import builtin
from hub.bus.handlers import DeviceEvent
from hub.inventory import catalog
from hub.kernel import settings
from hub.protocol.timeutil import now_iso

PRINTER = "printer-t1"
SCALE = "scale-t1"


@pytest.fixture
def shop(sample, hubctx):
    """The sample store plus a tomato (kg, PLU 4087, 西红柿) and cola (each); prices with 13% VAT included."""
    with hubctx.db.write() as conn:
        tomato = catalog.create_item(
            conn,
            {
                "sku": "TOMATO",
                "name_en": "Tomatoes",
                "name_zh": "西红柿",
                "unit": "kg",
                "price_minor": 798,
                "plu": "4087",
                "category": "produce",
            },
            actor="test",
        )
        cola = catalog.create_item(
            conn,
            {
                "sku": "COLA-330",
                "name_en": "Cola 330ml",
                "name_zh": "可乐 330毫升",
                "unit": "each",
                "price_minor": 350,
                "gtins": ["6901234567892"],
                "category": "drinks",
            },
            actor="test",
        )
        settings.put(conn, "barcode_region", "CN")
    return {**sample, "tomato": tomato, "cola": cola}


@pytest.fixture
def weigh(hubctx):
    """weigh(grams): the till's scale reports a stable weight (as the bus's handler stores it)."""

    def _weigh(grams: int, stable: bool = True) -> None:
        now = now_iso()
        ev = DeviceEvent(
            store_id="test-store",
            device_id=SCALE,
            type="weight",
            id=str(uuid.uuid4()),
            ts=now,
            payload={"grams": grams, "stable": stable, "net": True},
            topic="t",
            received_at=now,
        )
        with hubctx.db.write() as conn:
            builtin.on_weight(conn, ev)

    return _weigh


@pytest.fixture
def till(shop, client, auth):
    """Till T1 with an open shift (float ¥200 counted by denomination), printer and scale; returns a helper."""
    r = client.post(
        "/api/v1/checkout/tills/T1/shifts",
        json={"float_counted": {"10000": 1, "5000": 1, "1000": 5}, "printer_device": PRINTER, "scale_device": SCALE},
        headers=auth("associate"),
    )
    assert r.status_code == 201, r.get_json()
    return TillHelper(client, auth, shop)


class TillHelper:
    """Calls of the till's screen, as the browser makes them."""

    def __init__(self, client, auth, shop, till_id: str = "T1"):
        self.client, self.auth, self.shop, self.id = client, auth, shop, till_id

    def call(self, method: str, path: str, body=None, role: str = "associate", status: int | None = 200):
        r = self.client.open(f"/api/v1/checkout{path}", method=method, json=body, headers=self.auth(role))
        if status is not None:
            assert r.status_code == status, (path, r.status_code, r.get_json())
        return r.get_json()

    def cart(self) -> dict:
        return self.call("POST", f"/tills/{self.id}/carts", {}, status=201)

    def scan(self, cart_id: str, code: str, qty: int | None = None, status: int = 200) -> dict:
        body = {"code": code} | ({"qty": qty} if qty else {})
        return self.call("POST", f"/carts/{cart_id}/scan", body, status=status)

    def pay(self, cart_id: str, method: str = "cash", status: int = 200, **kw) -> dict:
        body = {"method": method, "idempotency_key": kw.pop("key", None) or uuid.uuid4().hex, **kw}
        return self.call("POST", f"/carts/{cart_id}/tenders", body, status=status)
