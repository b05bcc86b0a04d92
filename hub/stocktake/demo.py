"""``storehub demo``: an open RFID count with a simulated fixed reader sweeping four bins.

Registered in ``hub.demo.runner.DEMO_MODULES``. Seeding is idempotent (a session created with a fixed key); the
reader tags what the books say is on those bins, minus the ~2% the simulator never reads (shrink), so the
review screen shows a realistic variance."""

from __future__ import annotations

from hub.demo.context import Component, DemoContext

READER = "sim-rfid-1"


def seed(data_dir) -> list[str]:
    from hub.stocktake import sessions, sweeps
    from hub.store import open_db

    _cfg, db = open_db(data_dir)
    try:
        conn = db.read()
        bins = [
            r[0]
            for r in conn.execute(
                "SELECT l.id FROM locations l WHERE l.kind = 'bin' AND EXISTS (SELECT 1 FROM stock s JOIN items i ON"
                " i.id = s.item_id WHERE s.location_id = l.id AND s.on_hand > 0 AND i.unit = 'each')"
                " ORDER BY l.walk_seq, l.code LIMIT 4"
            )
        ]
        if not bins:
            return []
        with db.write() as c:
            s, created = sessions.create(
                c,
                name="RFID 盘点 demo sweep",
                mode="guided",
                uncounted="exclude",
                scope={"location_ids": bins},
                actor="system:demo",
                idempotency_key="demo-rfid-count-1",
            )
            if created:
                for i, b in enumerate(bins):  # antenna i+1 faces bin i (the simulator's zones)
                    sweeps.set_antenna(c, reader=READER, antenna=i + 1, location_id=b, actor="system:demo")
                parent = c.execute("SELECT parent_id FROM locations WHERE id = ?", (bins[0],)).fetchone()[0]
                sweeps.start_sweep(c, s["id"], reader=READER, location_id=parent or bins[0], actor="system:demo")
        return bins
    finally:
        db.close()


def components(ctx: DemoContext) -> list[Component]:
    if not seed(ctx.data_dir):
        return []
    return [
        Component(
            "RFID reader simulator sim-rfid-1",
            ctx.storehub(
                "sim",
                "rfid",
                "--broker",
                ctx.mqtt_url,
                "--store",
                ctx.store_id,
                "--reader",
                READER,
                "--format",
                "storehub",
                "--hub-data-dir",
                str(ctx.data_dir),
                "--zones",
                "4",
                "--tags",
                "2000",
                "--rate",
                "300",
                "--dwell",
                "8",
            ),
        )
    ]
