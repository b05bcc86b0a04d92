"""Footprint benchmark (issue 12): how much memory the hub's own processes take on a small box (a Pi 3 has 1 GB).

Brings up, on a fresh copy of the demo store (2,074 items, demo staff): Mosquitto (the project's config) and
`storehub serve --sync` in the layout it picks on a box with up to 2 GB of RAM (a Pi 3): a lean gunicorn master and
one gthread web worker that also runs the services as supervised threads — the bus and the sync worker, pushing to
a central on embedded SQLite (``hub.serve.services_layout``, docs/architecture.md "Processes") — plus the one-shot
payment-resume child while it lives; then one agent of each kind against its simulator — scanner (serial pty),
scale (MT-SICS pty), printer (ESC/POS TCP), RFID (`agent rfid --source zebra-mqtt` bridging the simulated Zebra
reader). ``FOOTPRINT_WORKERS=2`` (or ``STOREHUB_SERVICES=process``) measures the layout with a services process.

* serve_ready_s — from starting `storehub serve` to its first 200 on /api/v1/health.
* hub_rss_mb_idle / hub_rss_mb — the sum of RSS of the hub's own processes (every process of `storehub serve`'s
  tree: master, workers, services process if any, any other child it started; the services' threads are in their
  worker's figure): idle 10 s after start, and the peak under load. ``FOOTPRINT_WORKERS=2`` measures two web
  workers (the layout on a bigger box). RSS counts pages shared by
  the forked workers once per process, so it over-states; hub_pss_mb (proportional set size) is the fair share.
  Target: hub_rss_mb ≤ 150.
* The load (LOAD_S): 4 API clients counting (POST /stocktake/sessions/<id>/scans of item barcodes in a count)
  and scanning (GET /scan/resolve), 200 device scan events/s published over MQTT, the RFID simulator at 300
  raw reads/s through its agent, the scanner simulator every second, a print job every 2 s.
* agents_rss_mb — RSS of each agent process at the end (simulators are not counted: they stand in for hardware).

Runs in about a minute and a half; the last line printed is one JSON object.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
import psutil  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from hub.bus.mosquitto import Mosquitto  # noqa: E402
from hub.demo.context import DemoContext  # noqa: E402
from hub.demo.runner import seed_store  # noqa: E402
from hub.protocol import contract  # noqa: E402
from hub.store import open_db  # noqa: E402
from sync.demo import provision  # noqa: E402

STORE = "bench-store"
WORKERS = int(os.environ.get("FOOTPRINT_WORKERS", "1"))  # what `storehub serve` picks with <= 2 GB of RAM
IDLE_S = 10.0
LOAD_S = 40.0
API_CLIENTS = 4
MQTT_EVENTS_PER_S = 200
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def storehub(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [PY, "-m", "hub.cli", *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        **kw,
    )


def request(conn: http.client.HTTPConnection, method: str, path: str, body=None, token: str | None = None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"null")


def wait_http(port: int, timeout: float = 60.0) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/health")
            if c.getresponse().status == 200:
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port}")


def tree(pid: int) -> list[psutil.Process]:
    try:
        p = psutil.Process(pid)
        return [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def memory(procs: list[psutil.Process]) -> tuple[float, float]:
    """(RSS, PSS) in MB summed over ``procs``."""
    rss = pss = 0
    for p in procs:
        try:
            m = p.memory_full_info()
        except psutil.NoSuchProcess:
            continue
        rss += m.rss
        pss += m.pss
    return rss / 2**20, pss / 2**20


def api_client(
    port: int, token: str, session_id: str, bins: list[str], gtins: list[str], deadline: float, out: mp.Queue
) -> None:
    """Count (a location label, then items) and look items up, as a handheld does."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    rng = random.Random(os.getpid())
    n = errors = 0
    while time.time() < deadline:
        try:
            if n % 10 == 0:
                s, _ = request(
                    conn,
                    "POST",
                    f"/api/v1/stocktake/sessions/{session_id}/scans",
                    {"code": "SHL-" + rng.choice(bins), "idempotency_key": f"k{os.getpid():08d}-{n}"},
                    token,
                )
            elif n % 2:
                s, _ = request(
                    conn,
                    "POST",
                    f"/api/v1/stocktake/sessions/{session_id}/scans",
                    {"code": rng.choice(gtins), "idempotency_key": f"k{os.getpid():08d}-{n}"},
                    token,
                )
            else:
                s, _ = request(conn, "GET", f"/api/v1/scan/resolve?code={rng.choice(gtins)}", token=token)
            errors += s >= 400
        except (OSError, http.client.HTTPException):
            errors += 1
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        n += 1
    out.put(("api", n, errors))


def mqtt_load(port: int, gtins: list[str], deadline: float, out: mp.Queue) -> None:
    """Device scan events at MQTT_EVENTS_PER_S from a handheld-like device."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev-bench-scanner-2", protocol=mqtt.MQTTv311)
    c.connect("127.0.0.1", port)
    c.loop_start()
    topic = contract.event_topic(STORE, "bench-scanner-2", "scan")
    n, t0 = 0, time.monotonic()
    while time.time() < deadline:
        c.publish(topic, contract.encode(contract.make_event("scan", code=gtins[n % len(gtins)])), qos=1)
        n += 1
        time.sleep(max(0.0, t0 + n / MQTT_EVENTS_PER_S - time.monotonic()))
    c.loop_stop()
    c.disconnect()
    out.put(("mqtt", n, 0))


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="footprint-"))
    data = tmp / "hub"
    broker_port, hub_port, central_port, printer_port = free_port(), free_port(), free_port(), free_port()
    seed_store(data, STORE)
    ctx = DemoContext(
        data_dir=data, store_id=STORE, hub_port=hub_port, mqtt_port=broker_port, central_port=central_port, python=PY
    )
    provision(ctx)
    _cfg, db = open_db(data)
    conn = db.read()
    gtins = [
        r[0][1:]
        for r in conn.execute(
            "SELECT g.gtin FROM item_gtins g JOIN items i ON i.id = g.item_id WHERE i.unit = 'each' AND g.gtin LIKE '0%'"
            " ORDER BY i.sku LIMIT 300"
        )
    ]
    bins = [r[0] for r in conn.execute("SELECT code FROM locations WHERE kind = 'bin' ORDER BY walk_seq LIMIT 40")]
    bin_ids = [r[0] for r in conn.execute("SELECT id FROM locations WHERE kind = 'bin' ORDER BY walk_seq LIMIT 40")]
    db.close()

    broker = Mosquitto(broker_port, tmp / "mosquitto").start()
    mqtt_url = f"mqtt://127.0.0.1:{broker_port}"
    procs: list[subprocess.Popen] = []
    try:
        t0 = time.monotonic()
        serve = storehub(
            "serve",
            "--data-dir",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            str(hub_port),
            "--workers",
            str(WORKERS),
            "--mqtt",
            mqtt_url,
            "--sync",
        )
        procs.append(serve)
        wait_http(hub_port)
        serve_ready_s = time.monotonic() - t0
        # not the hub's: the central the sync worker talks to (head office runs it)
        central = storehub(
            "central",
            "serve",
            "--dir",
            str(data / "central"),
            "--host",
            "127.0.0.1",
            "--port",
            str(central_port),
            "--workers",
            "1",
        )
        procs.append(central)

        # one agent of each kind against its simulator
        dev = tmp / "devices"
        dev.mkdir()
        common = ["--store", STORE, "--broker", mqtt_url, "--state-dir", str(dev / "state")]
        sims = [
            storehub("sim", "printer", "--port", str(printer_port), "--out-dir", str(dev / "printed")),
            storehub("sim", "scale", "--protocol", "mt-sics", "--link", str(dev / "scale.tty")),
            storehub(
                "sim",
                "scanner",
                "--link",
                str(dev / "scanner.tty"),
                "--code",
                "]E0" + gtins[0],
                "--code",
                "]E0" + gtins[1],
                "--interval",
                "1",
            ),
        ]
        procs += sims
        time.sleep(1.5)  # the ptys and the printer port exist
        agents = {
            "printer": storehub(
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
            "scale": storehub(
                "agent", "scale", *common, "--device", "scale-1", "--port", str(dev / "scale.tty"), "--protocol", "auto"
            ),
            "scanner": storehub(
                "agent",
                "scanner",
                *common,
                "--device",
                "scanner-1",
                "--mode",
                "serial",
                "--port",
                str(dev / "scanner.tty"),
            ),
            "rfid": storehub(
                "agent",
                "rfid",
                *common,
                "--device",
                "rfid-1",
                "--source",
                "zebra-mqtt",
                "-o",
                "topic=zebra/rfid-1/data",
            ),
        }
        procs += agents.values()

        def hub_procs() -> list[psutil.Process]:
            return tree(serve.pid)  # the bus and the sync worker are threads of the worker (or of a services process)

        time.sleep(IDLE_S)
        idle_rss, idle_pss = memory(hub_procs())
        n_hub = len(hub_procs())

        # the load
        c = http.client.HTTPConnection("127.0.0.1", hub_port, timeout=10)
        _, login = request(c, "POST", "/api/v1/auth/login", {"user": "zhao", "pin": "3456"})
        token = login["token"]
        status, s = request(
            c,
            "POST",
            "/api/v1/stocktake/sessions",
            {
                "name": "footprint",
                "mode": "blind",
                "scope": {"location_ids": bin_ids},
                "idempotency_key": f"footprint-{os.getpid()}",
            },
            token,
        )
        assert status in (200, 201), s
        session_id = s["id"]
        request(c, "POST", f"/api/v1/stocktake/sessions/{session_id}/join", {}, token)
        rfid_sim = storehub(
            "sim",
            "rfid",
            "--broker",
            mqtt_url,
            "--store",
            STORE,
            "--reader",
            "rfid-1",
            "--format",
            "zebra",
            "--tags",
            "2000",
            "--zones",
            "4",
            "--rate",
            "300",
            "--duration",
            str(LOAD_S),
        )
        procs.append(rfid_sim)
        deadline = time.time() + LOAD_S
        q: mp.Queue = mp.Queue()
        loaders = [
            mp.Process(target=api_client, args=(hub_port, token, session_id, bins, gtins, deadline, q))
            for _ in range(API_CLIENTS)
        ]
        loaders.append(mp.Process(target=mqtt_load, args=(broker_port, gtins, deadline, q)))
        for p in loaders:
            p.start()
        peak_rss = peak_pss = 0.0
        next_print = time.time()
        printed = 0
        while time.time() < deadline:
            rss, pss = memory(hub_procs())
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            if time.time() >= next_print:  # a receipt every 2 s through the bus and the agent
                request(
                    c,
                    "POST",
                    "/api/v1/devices/printer-1/commands/print",
                    {"document": {"type": "text", "lines": [f"bench {printed}"]}},
                    token,
                )
                printed += 1
                next_print += 2
            time.sleep(0.5)
        results = [q.get(timeout=30) for _ in loaders]
        for p in loaders:
            p.join(10)
        # in the order they finished (the MQTT publisher may finish before a slow API client)
        api = [(n, e) for kind, n, e in results if kind == "api"]
        end_rss, end_pss = memory(hub_procs())
        per_process = {}
        for p in hub_procs():
            try:
                cmd = " ".join(p.cmdline()[3:6])  # python -P -m <module> <command ...>
                per_process[f"{p.pid} {cmd}"] = round(p.memory_info().rss / 2**20, 1)
            except psutil.NoSuchProcess:
                pass
        agents_rss = {k: round(memory(tree(p.pid))[0], 1) for k, p in agents.items()}
        for k, p in agents.items():
            if p.poll() is not None:
                agents_rss[k] = f"exited {p.returncode}"
        out = {
            "serve_ready_s": round(serve_ready_s, 2),
            "hub_processes": n_hub,
            "hub_rss_mb_idle": round(idle_rss, 1),
            "hub_pss_mb_idle": round(idle_pss, 1),
            "hub_rss_mb": round(max(peak_rss, end_rss), 1),
            "hub_pss_mb": round(max(peak_pss, end_pss), 1),
            "hub_rss_target_mb": 150,
            "hub_rss_within_target": max(peak_rss, end_rss) <= 150,
            "hub_rss_mb_by_process": per_process,
            "agents_rss_mb": agents_rss,
            "load": {
                "seconds": LOAD_S,
                "api_requests": sum(n for n, _ in api),
                "api_errors": sum(e for _, e in api),
                "api_rps": round(sum(n for n, _ in api) / LOAD_S, 1),
                "mqtt_scan_events": sum(n for kind, n, _ in results if kind == "mqtt"),
                "print_jobs": printed,
                "rfid_raw_reads_per_s": 300,
            },
            "web_workers": WORKERS,
            "cpus": os.cpu_count(),
        }
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        broker.stop()
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
