"""last_seen means the device itself was heard: retained status/info replayed by the broker when the bus
(re)subscribes, and the broker's `offline` Will, change the state but not last_seen (real Mosquitto)."""

from __future__ import annotations

import pytest

from hub.bus.mosquitto import Mosquitto
from tests.support.bus import Device, make_hub_db, start_bus, wait_until
from tests.support.common import free_port

pytestmark = pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed")


def test_retained_replay_and_will_do_not_make_a_dead_device_seen(tmp_path, data_dir):
    db = make_hub_db(data_dir)
    broker = Mosquitto(free_port(), tmp_path / "broker").start()
    bus = start_bus(db, broker.port)

    def dev_row():
        return db.read().execute("SELECT online, last_seen, info FROM devices WHERE id = 'scale-9'").fetchone()

    try:
        d = Device("scale-9", broker.port)
        d.online()
        d.info("scale")
        d.event("weight", grams=1200, stable=True)
        d.flush()
        wait_until(
            lambda: (
                db.read().execute("SELECT events_total FROM devices WHERE id='scale-9'").fetchone()
                and db.read().execute("SELECT events_total FROM devices WHERE id='scale-9'").fetchone()[0] == 1
            )
        )
        seen = dev_row()["last_seen"]
        d.c._sock.close()  # killed: the broker publishes the Will
        wait_until(lambda: dev_row()["online"] == 0, 15)
        assert dev_row()["last_seen"] == seen  # the Will is the broker speaking, not the device
        bus.stop()
        # a fresh bus (a new client id: a new subscription) gets the retained offline + info replayed
        bus = start_bus(db, broker.port, client_id="storehub-hub-other")
        wait_until(lambda: bus.stats.applied >= 2)
        row = dev_row()
        assert row["online"] == 0 and row["last_seen"] == seen and '"kind": "scale"' in row["info"]
        open_alert = (
            db.read()
            .execute("SELECT kind FROM alerts WHERE subject='scale-9' AND cleared_at IS NULL ORDER BY kind")
            .fetchall()
        )
        assert [r[0] for r in open_alert] == ["device_offline"]
    finally:
        bus.stop()
        broker.stop()
        db.close()
