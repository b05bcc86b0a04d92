"""Helpers shared by the orders/picking tests (not a test module)."""

from __future__ import annotations

from biip.checksums import gs1_standard_check_digit

from hub.inventory import catalog, ledger, locations
from hub.inventory.ledger import MovementRequest
from hub.inventory.ledger import new_key as key


def receive(db, item_id: str, location_id: str, qty: int) -> None:
    with db.write() as conn:
        ledger.post(conn, MovementRequest("receive", item_id, location_id, qty, "delivery", "test", key()))


def price_label(prefix_item: str, price_fen: int) -> str:
    """A Chinese scale label 'PP IIIII VVVVV K' with the total price in fen."""
    payload = f"{prefix_item}{price_fen:05d}"
    return payload + str(gs1_standard_check_digit(payload))


def store(hubctx, sample) -> dict:
    """The conftest sample plus a second aisle, a category and a substitute item, with stock."""
    db = hubctx.db
    with db.write() as conn:
        aisle2 = locations.create(
            conn, code="B01", name="Aisle B", kind="aisle", parent_id=sample["area"]["id"], walk_seq=20, actor="test"
        )
        bin3 = locations.create(
            conn, code="B01-01", name="Aisle B bin 1", kind="bin", parent_id=aisle2["id"], walk_seq=21, actor="test"
        )
        conn.execute("UPDATE items SET category = 'dairy' WHERE id = ?", (sample["milk"]["id"],))
        oat = catalog.create_item(
            conn,
            {
                "sku": "OATMILK-1L",
                "name_en": "Oat drink 1L",
                "name_zh": "燕麦奶",
                "unit": "each",
                "category": "dairy",
                "price_minor": 1390,
                "gtins": ["4006381333931"],
            },
            actor="test",
        )
        cream = catalog.create_item(
            conn,
            {
                "sku": "CREAM",
                "name_en": "Cream 1L",
                "unit": "each",
                "category": "dairy",
                "price_minor": 5000,
                "gtins": ["4012345000009"],
            },
            actor="test",
        )
    s = dict(sample)
    s.update(bin3=bin3, oat=oat, cream=cream)
    receive(db, s["milk"]["id"], s["bin2"]["id"], 3)  # walk 12
    receive(db, s["milk"]["id"], s["bin1"]["id"], 2)  # walk 11
    receive(db, s["rice"]["id"], s["bin3"]["id"], 10)  # walk 21
    receive(db, s["apples"]["id"], s["bin1"]["id"], 5000)
    receive(db, s["oat"]["id"], s["bin3"]["id"], 6)
    receive(db, s["cream"]["id"], s["bin3"]["id"], 6)
    return s


def order_body(ext: str, lines: list[dict], **extra) -> dict:
    body = {
        "channel": "web",
        "external_id": ext,
        "fulfilment": "pickup",
        "customer": {"name": "Li Lei", "phone": "13800000000"},
        "lines": lines,
    }
    body.update(extra)
    return body


class PrintRig:
    """The real printing path: a private Mosquitto, the hub's bus process, the printer agent
    (``storehub agent printer``) and the ESC/POS network printer simulator that decodes the paper."""

    def __init__(self, db, workdir, device: str = "printer-1"):
        from devices.common.config import AgentConfig
        from devices.printer.agent import PrinterAgent
        from devices.sim.printer import PrinterSim
        from hub.bus.writer import Bus
        from hub.kernel import settings
        from tests.support.devices import PrivateMosquitto

        self.broker = PrivateMosquitto(workdir / "mqtt")
        self.broker.start()
        self.sim = PrinterSim(out_dir=workdir / "paper").start()
        self.bus = Bus(db, self.broker.url).start()
        assert self.bus.wait_ready(15), "bus did not subscribe"
        store_id = settings.get(db.read(), "store_id")
        self.agent = PrinterAgent(
            AgentConfig(
                store=store_id,
                device=device,
                broker=self.broker.url,
                state_dir=workdir / "agent",
                options={"connection": self.sim.url, "status_every": "0"},
            )
        )
        self.agent.start()
        assert self.agent.connected.wait(15), "printer agent did not connect"

    def close(self) -> None:
        for stop in (self.agent.stop, self.bus.stop, self.sim.stop, self.broker.stop):
            try:
                stop()
            except Exception:  # noqa: BLE001 - teardown keeps going
                pass
