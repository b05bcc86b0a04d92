"""Promo shelf labels (issue 14): when a promotion starts, a shelf label per SKU in its scope goes through the real
printing chain (hub command queue → bus → Mosquitto → printer agent with python-escpos → ESC/POS printer simulator
that decodes the paper): the promotional price, the price before it, the promotion's name in the store's language,
the last day in store time and the GTIN barcode; once per promotion version; "print labels" prints again."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from hub.bus import runner
from hub.kernel import settings
from hub.promotions import labels
from hub.synclink import downlink as hub_downlink

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
IN_FORCE = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


def _promo(pid="milk10", **over):
    raw = {
        "id": pid,
        "name": {"en": "Milk week", "zh-CN": "牛奶周"},
        "type": "percent_off",
        "scope": {"skus": ["MILK-1L", "NO-SUCH"]},
        "params": {"percent": 10},
        "valid": {"from": "2026-12-01T00:00:00+08:00", "to": "2099-12-31T00:00:00+08:00"},
    }
    raw.update(over)
    return raw


def _deliver(db, raw, version):
    with db.write() as conn:
        hub_downlink._apply_promotion(conn, raw, version)


def _setup(db, language="zh-CN", printer="printer-1"):
    with db.write() as conn:
        settings.put(conn, "language", language)
        if printer:
            settings.put(conn, "checkout.printer_device", printer)


def _commands(db):
    return [
        json.loads(r[0])
        for r in db.read().execute(
            "SELECT payload FROM device_commands WHERE action = 'print' ORDER BY created_at, request_id"
        )
    ]


def test_label_document_and_once_per_version(hubctx, sample):
    db = hubctx.db
    _setup(db, language="en")
    _deliver(db, _promo(valid={"from": "2026-12-01T00:00:00+08:00", "to": "2026-12-31T00:00:00+08:00"}), 7)
    with db.write() as conn:
        assert labels.queue_due(conn, datetime(2026, 11, 30, 12, tzinfo=UTC)) == []  # not started
        [sent] = labels.queue_due(conn, IN_FORCE)
    skus = {j["sku"] for j in sent["jobs"]}
    assert sent["version"] == 7 and "MILK-1L" in skus and "NO-SUCH" not in skus
    doc = next(c["document"] for c in _commands(db) if c["document"]["sku"] == "MILK-1L")
    assert doc == {
        "type": "shelf_label",
        "lang": "en",
        "name": "Milk 1L",
        "name_zh": "牛奶 1升",
        "sku": "MILK-1L",
        "price_minor": 1125,  # 1250 less round-half-up(10 %)
        "currency": "CNY",
        "unit": "each",
        "gtin": "5901234123457",
        "promo": "Milk week · was CNY 12.50 · until 2026-12-30",  # to is exclusive, in store time (+08:00)
    }
    n = len(_commands(db))
    with db.write() as conn:  # again: nothing new
        assert labels.queue_due(conn, IN_FORCE) == []
    assert len(_commands(db)) == n
    _deliver(
        db,
        _promo(params={"percent": 20}, valid={"from": "2026-12-01T00:00:00+08:00", "to": "2026-12-31T00:00:00+08:00"}),
        9,
    )
    with db.write() as conn:  # a new version from head office prints again
        [sent] = labels.queue_due(conn, IN_FORCE)
    assert sent["version"] == 9 and len(_commands(db)) == 2 * n
    with db.write() as conn:  # ended
        assert labels.queue_due(conn, datetime(2027, 1, 1, tzinfo=UTC)) == []


def test_fixed_price_never_raises_and_grouping_keeps_the_shelf_price(hubctx, sample):
    db = hubctx.db
    _setup(db, language="zh-CN")
    _deliver(db, _promo("fix", type="fixed_price", params={"price_minor": 2000}, scope={"skus": ["MILK-1L"]}), 3)
    _deliver(db, _promo("two", type="nth_item_off", params={"n": 2, "percent": 50}, scope={"skus": ["MILK-1L"]}), 4)
    _deliver(db, _promo("whole", scope=None) | {"scope": {}}, 5)  # whole basket: no shelf
    with db.write() as conn:
        sent = {s["promotion"]: s for s in labels.queue_due(conn, IN_FORCE)}
    assert set(sent) == {"fix", "two"}
    docs = {c["document"]["promo"]: c["document"] for c in _commands(db)}
    assert {d["price_minor"] for d in docs.values()} == {1250}
    assert "牛奶周 · 至 2099-12-30" in docs


def test_no_printer_no_labels_and_manual_route(client, auth, hubctx, sample):
    db = hubctx.db
    _setup(db, printer=None)
    _deliver(db, _promo(), 2)
    with db.write() as conn:
        assert labels.queue_due(conn, IN_FORCE) == []
    r = client.post("/api/v1/promotions/milk10/labels", json={}, headers=auth("associate"))
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "no_label_printer"
    r = client.post("/api/v1/promotions/nope/labels", json={}, headers=auth("associate"))
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "promotion_not_found"
    assert client.post("/api/v1/promotions/milk10/labels", json={}).status_code in (401, 403)  # no staff token
    r = client.post("/api/v1/promotions/milk10/labels", json={"printer": "printer-2"}, headers=auth("associate"))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["device_id"] == "printer-2" and [j["sku"] for j in body["jobs"]] == ["MILK-1L"]
    again = client.post("/api/v1/promotions/milk10/labels", json={"printer": "printer-2"}, headers=auth("associate"))
    assert again.get_json()["jobs"][0]["request_id"] != body["jobs"][0]["request_id"]  # manual: printed anew


def test_bus_tick_writes_only_when_something_is_new(hubctx, sample):
    db = hubctx.db
    _setup(db)
    _deliver(db, _promo(), 2)
    done: set = set()
    runner._promo_labels(db, done)
    assert ("milk10", 2) in done and len(_commands(db)) == 1
    runner._promo_labels(db, done)
    runner._promo_labels(db, set())  # a restarted bus: the request ids keep it printed once
    assert len(_commands(db)) == 1


class _CjkPrintRig:
    """tests.support.orders.PrintRig with a printer set up for Chinese (the agent's ``cjk`` option: GB18030)."""

    def __init__(self, db, workdir, device="printer-1"):
        from devices.common.config import AgentConfig
        from devices.printer.agent import PrinterAgent
        from devices.sim.printer import PrinterSim
        from hub.bus.writer import Bus
        from tests.support.devices import PrivateMosquitto

        self.broker = PrivateMosquitto(workdir / "mqtt")
        self.broker.start()
        self.sim = PrinterSim(out_dir=workdir / "paper").start()
        self.bus = Bus(db, self.broker.url).start()
        assert self.bus.wait_ready(15), "bus did not subscribe"
        self.agent = PrinterAgent(
            AgentConfig(
                store=settings.get(db.read(), "store_id"),
                device=device,
                broker=self.broker.url,
                state_dir=workdir / "agent",
                options={"connection": self.sim.url, "status_every": "0", "cjk": "true"},
            )
        )
        self.agent.start()
        assert self.agent.connected.wait(15), "printer agent did not connect"

    def close(self):
        for stop in (self.agent.stop, self.bus.stop, self.sim.stop, self.broker.stop):
            try:
                stop()
            except Exception:  # noqa: BLE001 - teardown keeps going
                pass


@pytest.mark.mqtt
def test_labels_printed_once_through_the_printer_agent(hubctx, sample, tmp_path):
    db = hubctx.db
    _setup(db, language="zh-CN")
    rig = _CjkPrintRig(db, tmp_path)
    try:
        _deliver(db, _promo(), 11)
        with db.write() as conn:
            [sent] = labels.queue_due(conn)
        assert [j["sku"] for j in sent["jobs"]] == ["MILK-1L"]
        [paper] = rig.sim.wait_for_jobs(1, timeout=20)
        text = "\n".join(paper["lines"])
        assert "牛奶 1升" in text and "CNY 11.25" in text and "牛奶周" in text and "原价 CNY 12.50" in text
        assert "至 2099-12-30" in text and "MILK-1L" in text
        assert [(b["symbology"].lower(), b["value"]) for b in paper["barcodes"]] == [("ean13", "5901234123457")]
        with db.write() as conn:
            assert labels.queue_due(conn) == []
        time.sleep(1.5)
        assert len(rig.sim.jobs) == 1  # printed once
    finally:
        rig.close()
