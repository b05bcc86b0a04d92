"""Demo components of the device bus: the embedded broker (the hub's ``serve --mqtt`` starts the bus), and the
demo shelf sensors bound to demo items and bins."""

from __future__ import annotations

from hub.bus import shelf
from hub.demo.context import Component, DemoContext
from hub.inventory import catalog, locations
from hub.kernel.errors import StoreHubError
from hub.store import open_db

# shelf sensor -> (item sku, bin code) in the demo store; the simulated sensors (devices.demo) move 500 g units
SHELF_BINDINGS = {"shelf-a01-01": ("GR-00000", "A01-01-1"), "shelf-a01-02": ("GR-00001", "A01-01-2")}
UNIT_WEIGHT_G = 500


def bind_shelves(data_dir) -> list[str]:
    """Bind the simulated shelf sensors to demo items/bins once, so the hub turns their grams into units
    and raises low-stock / empty-shelf alerts. Returns what was bound (or why not)."""
    _cfg, db = open_db(data_dir)
    done = []
    try:
        with db.write() as conn:
            for device_id, (sku, bin_code) in SHELF_BINDINGS.items():
                if conn.execute("SELECT 1 FROM shelf_bindings WHERE device_id = ?", (device_id,)).fetchone():
                    continue
                item = catalog.get_item_by_sku(conn, sku)
                loc = locations.get_by_code(conn, bin_code)
                if not item or not loc:
                    done.append(f"{device_id}: demo item {sku} or bin {bin_code} missing, not bound")
                    continue
                if not item.get("unit_weight_g"):
                    catalog.update_item(conn, item["id"], {"unit_weight_g": UNIT_WEIGHT_G}, actor="system:demo")
                try:
                    shelf.bind(
                        conn, device_id, item_id=item["id"], location_id=loc["id"], low_units=4, actor="system:demo"
                    )
                    done.append(f"{device_id} -> {sku} @ {bin_code}")
                except StoreHubError as exc:
                    done.append(f"{device_id}: not bound ({exc})")
    finally:
        db.close()
    return done


def components(ctx: DemoContext) -> list[Component]:
    for line in bind_shelves(ctx.data_dir):
        print(f"demo: shelf sensor {line}", flush=True)
    return [
        Component(
            "mqtt-broker (amqtt)",
            ctx.storehub("broker", "--host", ctx.bind_host, "--port", str(ctx.mqtt_port)),
            wait_port=ctx.mqtt_port,
            url=f"{ctx.mqtt_url} (embedded, demo only)",
        )
    ]
