"""``storehub demo``: a believable store on this machine with no manual steps.

It initialises a data directory, seeds the catalog, locations, stock and demo
staff (printing their PINs), then starts every demo component as a child
process — the embedded MQTT broker, the hub's bus, simulated devices, the
central aggregator and the hub's sync worker — and finally serves the hub under
gunicorn over HTTPS with the demo store's own CA (``hub.pki``; plain HTTP on the
next port only redirects and serves the enrolment page). Ctrl-C stops everything.

Each domain declares its demo (``Domain.demo = "module:components"``, ``components(ctx: DemoContext) ->
list[Component]``); the demo starts them in domain order, then the parts of StoreHub that are not hub domains:
the device simulators (after the broker the bus domain starts) and the central with the hub's sync worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hub import domains
from hub.demo.context import Component, DemoContext, wait_for_health, wait_for_port
from hub.domain import load
from hub.pki import certs, workflow

# The whole-store demo also runs what is not a hub domain: simulated devices and the central.
SYSTEM_DEMOS: tuple[str, ...] = ("devices.demo:components", "sync.demo:components")

DEMO_USERS = [
    # username, role, display name, PIN, password
    ("wang", "associate", "王芳 Wang Fang", "1234", None),
    ("li", "associate", "李强 Li Qiang", "2345", None),
    ("zhao", "supervisor", "赵敏 Zhao Min", "3456", None),
    ("chen", "manager", "陈静 Chen Jing", "4567", "manager-demo-2026"),
    ("admin", "admin", "Admin", None, "admin-demo-2026"),
]


def seed_store(data_dir: Path, store_id: str) -> list[tuple[str, str, str]]:
    """Create the demo data once; returns (username, role, credential) lines to print."""
    from hub.auth import users
    from hub.demo.data import seed_catalog
    from hub.demo.pictures import seed_pictures
    from hub.store import initialise, open_db

    cfg, db = open_db(data_dir)
    initialise(
        db,
        store_id=store_id,
        store_name="StoreHub 演示超市 Demo Supermarket",
        currency="CNY",
        language="zh-CN",
        region="CN",
    )
    conn = db.read()
    if conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0:
        seed_catalog(db)
    seed_pictures(db)  # a handful of demo items with pictures (drawn once; items that have one keep it)
    creds = []
    with db.write() as c:
        for username, role, name, pin, password in DEMO_USERS:
            if not c.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                users.create(
                    c,
                    username=username,
                    role=role,
                    display_name=name,
                    pin=pin,
                    password=password,
                    badge=f"DEMO-{username.upper()}",
                    language="zh-CN" if role != "admin" else "en",
                    secret_key=cfg.secret_key(),
                    actor="system:demo",
                )
            creds.append(
                (
                    username,
                    role,
                    " / ".join(
                        x for x in (f"PIN {pin}" if pin else "", f"password {password}" if password else "") if x
                    ),
                )
            )
    db.close()
    return creds


def run_demo(data_dir: Path, store_id: str, hub_port: int, mqtt_port: int, central_port: int, lan: bool = False) -> int:
    """Seed and run the demo store. Everything listens on loopback unless ``lan``: the demo prints its staff
    PINs and passwords, so it is opened to the store's network only when asked."""
    ctx = DemoContext(
        data_dir=data_dir,
        store_id=store_id,
        hub_port=hub_port,
        mqtt_port=mqtt_port,
        central_port=central_port,
        bind_host="0.0.0.0" if lan else "127.0.0.1",
    )
    creds = seed_store(data_dir, store_id)
    procs: list[tuple[Component, subprocess.Popen]] = []
    components: list[Component] = []
    for ref in (*domains.demo_refs(), *SYSTEM_DEMOS):
        components += load(ref)(ctx)
    # imported here, like seed_store's imports: seed_store is used by benches and tests without the sheet's
    # barcode library (bench/ has a barcode.py of its own that would shadow it)
    from hub.demo import sheet

    barcodes = sheet.write_demo_sheet(data_dir, DEMO_USERS)  # after the demos seeded their orders
    http_port = hub_port + 1
    hub_url = f"https://127.0.0.1:{hub_port}"
    # the demo's embedded broker (amqtt, hub.bus.broker) speaks MQTT 3.1.1 only: the bus is told, rather than
    # trying MQTT 5 first and being dropped with a traceback in the broker's log
    components.append(
        Component(
            "hub",
            ctx.storehub(
                "serve",
                "--data-dir",
                str(data_dir),
                "--host",
                ctx.bind_host,
                "--port",
                str(hub_port),
                "--tls",
                "--http-port",
                str(http_port),
                "--mqtt",
                f"{ctx.mqtt_url}?protocol=311",
            ),
            wait_port=hub_port,
            url=hub_url,
        )
    )

    def stop_all(*_):
        """Stop the components one by one, the last started first: each is gone before what it depends on is
        asked to stop (the hub and agents before the broker, the sync worker before the central), so none of
        them logs errors about a peer that vanished under it."""
        for _comp, p in reversed(procs):
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    signal.signal(signal.SIGTERM, lambda *a: (stop_all(), sys.exit(0)))
    try:
        for comp in components:
            env = {**os.environ, "STOREHUB_DATA_DIR": str(data_dir), **comp.env}
            # its own process group: Ctrl-C in the terminal reaches only the demo, which then stops the
            # components in order (stop_all) instead of every process at once
            p = subprocess.Popen(comp.argv, env=env, process_group=0)
            procs.append((comp, p))
            if comp.wait_port and not wait_for_port(comp.wait_port):
                print(f"demo: {comp.name} did not open port {comp.wait_port}", file=sys.stderr)
                stop_all()
                return 1
            print(f"demo: started {comp.name}" + (f" at {comp.url}" if comp.url else ""), flush=True)
        if not wait_for_health(f"{hub_url}/api/v1/health", certs.PkiFiles.in_data_dir(data_dir).ca_cert):
            print("demo: the hub did not answer its health check", file=sys.stderr)
            stop_all()
            return 1
        print("\n=== StoreHub demo store is running ===")
        print(f"Handheld app / hub API:  {hub_url}/   (API docs: {hub_url}/api/v1/openapi.json)")
        print(
            f"Enrol a phone or browser (install the demo store's CA, then open the app over HTTPS):\n"
            f"  {workflow.enrolment_url(data_dir, http_port)}"
            + (
                f"   (or http://<this machine's address>:{http_port}/enrol)\n"
                if lan
                else "   (loopback only: run `storehub demo --lan` to reach it from a phone)\n"
            )
            + f"  store CA SHA-256 {certs.fingerprint(certs.load_ca(certs.PkiFiles.in_data_dir(data_dir)))}"
            f"   (file: {certs.PkiFiles.in_data_dir(data_dir).ca_cert})"
        )
        for comp in components:
            if comp.url and comp.name != "hub":
                print(f"{comp.name:24} {comp.url}")
        print(f"Barcodes to try with a scanner (print at 100 %): {barcodes}")
        print("Demo staff (badge code DEMO-<NAME> also logs in):")
        for username, role, cred in creds:
            print(f"  {username:8} {role:11} {cred}")
        print("Ctrl-C stops everything.\n", flush=True)
        while True:
            for comp, p in procs:
                rc = p.poll()
                if rc is not None:
                    print(f"demo: {comp.name} exited with {rc}; stopping", file=sys.stderr)
                    stop_all()
                    return rc or 1
            time.sleep(1)
    except KeyboardInterrupt:
        stop_all()
        return 0
