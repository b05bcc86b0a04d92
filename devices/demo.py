"""Simulated store hardware for ``storehub demo``: a scale on a pty with its agent, an ESC/POS printer on
TCP with its agent (jobs shown on a web page), a serial scanner with its agent and shelf sensors publishing
like the ESPHome firmware — all against the demo broker. The bus domain's demo (``hub.bus.demo``) binds the
shelf sensors to demo items.

The one module of ``devices`` that uses the hub beyond ``hub.protocol``: it is the demo's composition, run by
``storehub demo`` on the hub, never on an agent host (pyproject.toml ``[tool.importlinter]`` names it)."""

from __future__ import annotations


def _port(preferred: int) -> int:
    from hub.demo.context import port_free  # hub-side: imported only when the demo runs

    if port_free(preferred):
        return preferred
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def components(ctx) -> list:
    # hub-side (the demo's process list and its catalog's codes): imported only when the demo runs
    from hub.demo.context import Component
    from hub.demo.data import gtin13

    dev_dir = ctx.data_dir / "devices"
    dev_dir.mkdir(parents=True, exist_ok=True)
    common = ["--store", ctx.store_id, "--broker", ctx.mqtt_url, "--state-dir", str(dev_dir / "state")]
    printer_port = _port(9100)
    viewer_port = _port(8091)
    scale_link = str(dev_dir / "scale-1.tty")
    scanner_link = str(dev_dir / "scanner-1.tty")
    codes = ["]E0" + gtin13(10000, 0), "]E0" + gtin13(10000, 1), "]E0" + gtin13(20001, 10), "]E0" + gtin13(10002, 20)]
    return [
        Component(
            "printer simulator",
            ctx.storehub(
                "sim",
                "printer",
                "--port",
                str(printer_port),
                "--out-dir",
                str(dev_dir / "printed"),
                "--http-port",
                str(viewer_port),
            ),
            wait_port=printer_port,
            url=f"http://127.0.0.1:{viewer_port}/ (printed jobs)",
        ),
        Component(
            "printer agent printer-1",
            ctx.storehub(
                "agent",
                "printer",
                *common,
                "--device",
                "printer-1",
                "--connection",
                f"tcp://127.0.0.1:{printer_port}",
                "-o",
                "cjk=true",
            ),
        ),
        Component(
            "scale simulator (MT-SICS)", ctx.storehub("sim", "scale", "--protocol", "mt-sics", "--link", scale_link)
        ),
        Component(
            "scale agent scale-1",
            ctx.storehub("agent", "scale", *common, "--device", "scale-1", "--port", scale_link, "--protocol", "auto"),
        ),
        Component(
            "serial scanner simulator",
            ctx.storehub(
                "sim", "scanner", "--link", scanner_link, *[a for c in codes for a in ("--code", c)], "--interval", "20"
            ),
        ),
        Component(
            "scanner agent scanner-1",
            ctx.storehub(
                "agent", "scanner", *common, "--device", "scanner-1", "--mode", "serial", "--port", scanner_link
            ),
        ),
        Component(
            "shelf sensors (ESPHome-like)",
            ctx.storehub(
                "sim",
                "shelf",
                "--store",
                ctx.store_id,
                "--broker",
                ctx.mqtt_url,
                "--device",
                "shelf-a01-01",
                "--device",
                "shelf-a01-02",
                "--interval",
                "15",
            ),
        ),
    ]
