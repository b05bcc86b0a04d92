"""HTTP item-lookup benchmark (issue "Hub core").

Starts the real hub under gunicorn (`storehub serve`, gthread workers) on a demo
catalog of 2,074 items, then drives item lookups by barcode with concurrent
keep-alive clients for a fixed time. The load generator is plain Python
(`http.client`, one process per client) running on the same 2-core machine, so
its CPU time is measured and reported (`loadgen_cpu_s`, `loadgen_cpu_share`):
whatever it uses is taken from the server.

Prints one JSON object as its last line: lookup_rps, lookup_p99_ms, ...
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DURATION_S = 20.0
CLIENTS = 8
WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(port: int, token: str, paths: list[str], deadline: float, out: "mp.Queue") -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}
    lat: list[float] = []
    errors = 0
    rng = random.Random(os.getpid())
    while time.time() < deadline:
        path = paths[rng.randrange(len(paths))]
        t = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        lat.append((time.perf_counter() - t) * 1000)
    out.put((lat, errors))


def main() -> None:
    from hub.demo.runner import seed_store

    data = Path(tempfile.mkdtemp(prefix="storehub-bench-api-"))
    seed_store(data, "bench-store")
    from hub.store import database

    db = database(data / "hub.db")
    gtins = [r[0] for r in db.read().execute("SELECT gtin FROM item_gtins")]
    ids = [r[0] for r in db.read().execute("SELECT id FROM items")]
    db.close()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--data-dir", str(data), "--host", "127.0.0.1",
                               "--port", str(port), "--workers", str(WORKERS)], start_new_session=True)
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/api/v1/health")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("POST", "/api/v1/auth/login", body=json.dumps({"user": "wang", "pin": "1234"}),
                  headers={"Content-Type": "application/json"})
        token = json.loads(c.getresponse().read())["token"]
        c.request("GET", f"/api/v1/scan/resolve?code={gtins[0]}", headers={"Authorization": f"Bearer {token}"})
        r = c.getresponse()
        r.read()
        if r.status == 200:
            what = "GET /api/v1/scan/resolve?code=<GTIN> (barcode → item with stock per location)"
            paths = [f"/api/v1/scan/resolve?code={g}" for g in gtins]
        else:
            what = "GET /api/v1/items/<id> (item with stock per location and last movements)"
            paths = [f"/api/v1/items/{i}" for i in ids]
        # warm up every worker
        deadline = time.time() + 2
        q: mp.Queue = mp.Queue()
        warm = [mp.Process(target=client, args=(port, token, paths, deadline, q)) for _ in range(4)]
        for p in warm:
            p.start()
        for _ in warm:
            q.get()
        for p in warm:
            p.join()

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        deadline = time.time() + DURATION_S
        t0 = time.perf_counter()
        procs = [mp.Process(target=client, args=(port, token, paths, deadline, q)) for _ in range(CLIENTS)]
        for p in procs:
            p.start()
        results = [q.get() for _ in procs]
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    lat = sorted(x for r, _ in results for x in r)
    errors = sum(e for _, e in results)
    loadgen_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"endpoint: {what}", file=sys.stderr)
    print(json.dumps({
        "lookup_rps": round(len(lat) / elapsed),
        "lookup_p50_ms": round(lat[len(lat) // 2], 2),
        "lookup_p99_ms": round(lat[int(len(lat) * 0.99)], 2),
        "errors": errors,
        "requests": len(lat),
        "clients": CLIENTS,
        "gunicorn_workers": WORKERS,
        "loadgen_cpu_s": round(loadgen_cpu, 1),
        "loadgen_cpu_share": round(loadgen_cpu / (elapsed * (os.cpu_count() or 1)), 2),
        "endpoint": what.split(" (")[0],
    }))


if __name__ == "__main__":
    main()
