"""Simulated store hardware for ``storehub demo``: a scale on a pty with its agent, an ESC/POS printer on
TCP with its agent (jobs shown on a web page), a serial scanner with its agent and shelf sensors publishing
like the ESPHome firmware — all against the demo broker."""

from __future__ import annotations


def _port(preferred: int) -> int:
    from hub.demo.context import port_free

    if port_free(preferred):
        return preferred
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# shelf sensor -> (item sku, bin code) in the demo store; the simulated sensors move 500 g units
SHELF_BINDINGS = {"shelf-a01-01": ("GR-00000", "A01-01-1"), "shelf-a01-02": ("GR-00001", "A01-01-2")}
UNIT_WEIGHT_G = 500


def bind_shelves(data_dir) -> list[str]:
    """Bind the simulated shelf sensors to demo items/bins once, so the hub turns their grams into units
    and raises low-stock / empty-shelf alerts. Returns what was bound (or why not)."""
    from hub.inventory import catalog, locations
    from hub.bus import shelf
    from hub.kernel.errors import StoreHubError
    from hub.store import open_db

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
                    shelf.bind(conn, device_id, item_id=item["id"], location_id=loc["id"], low_units=4,
                               actor="system:demo")
                    done.append(f"{device_id} -> {sku} @ {bin_code}")
                except StoreHubError as exc:
                    done.append(f"{device_id}: not bound ({exc})")
    finally:
        db.close()
    return done


def components(ctx) -> list:
    from hub.demo.context import Component
    from hub.demo.data import gtin13

    for line in bind_shelves(ctx.data_dir):
        print(f"demo: shelf sensor {line}", flush=True)
    dev_dir = ctx.data_dir / "devices"
    dev_dir.mkdir(parents=True, exist_ok=True)
    common = ["--store", ctx.store_id, "--broker", ctx.mqtt_url, "--state-dir", str(dev_dir / "state")]
    printer_port = _port(9100)
    viewer_port = _port(8091)
    scale_link = str(dev_dir / "scale-1.tty")
    scanner_link = str(dev_dir / "scanner-1.tty")
    codes = ["]E0" + gtin13(10000, 0), "]E0" + gtin13(10000, 1), "]E0" + gtin13(20001, 10), "]E0" + gtin13(10002, 20)]
    return [
        Component("printer simulator", ctx.storehub("sim", "printer", "--port", str(printer_port), "--out-dir",
                                                    str(dev_dir / "printed"), "--http-port", str(viewer_port)),
                  wait_port=printer_port, url=f"http://127.0.0.1:{viewer_port}/ (printed jobs)"),
        Component("printer agent printer-1", ctx.storehub("agent", "printer", *common, "--device", "printer-1",
                                                          "--connection", f"tcp://127.0.0.1:{printer_port}",
                                                          "-o", "cjk=true")),
        Component("scale simulator (MT-SICS)", ctx.storehub("sim", "scale", "--protocol", "mt-sics",
                                                            "--link", scale_link)),
        Component("scale agent scale-1", ctx.storehub("agent", "scale", *common, "--device", "scale-1",
                                                      "--port", scale_link, "--protocol", "auto")),
        Component("serial scanner simulator", ctx.storehub("sim", "scanner", "--link", scanner_link,
                                                           *[a for c in codes for a in ("--code", c)],
                                                           "--interval", "20")),
        Component("scanner agent scanner-1", ctx.storehub("agent", "scanner", *common, "--device", "scanner-1",
                                                          "--mode", "serial", "--port", scanner_link)),
        Component("shelf sensors (ESPHome-like)", ctx.storehub("sim", "shelf", "--store", ctx.store_id,
                                                               "--broker", ctx.mqtt_url, "--device", "shelf-a01-01",
                                                               "--device", "shelf-a01-02", "--interval", "15")),
    ]
