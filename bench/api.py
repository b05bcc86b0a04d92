"""HTTP and HTTPS item-lookup benchmark (issues "Hub core" and 20, HTTPS by default).

Starts the real hub under gunicorn (`storehub serve`, gthread workers) on a demo
catalog of 2,074 items, then drives item lookups by barcode with concurrent
keep-alive clients for a fixed time: first over plain HTTP (loopback), then, in
the same run and on the same data, over HTTPS with the store certificate
(`storehub serve --tls`). Then it opens new connections one after another to
measure what TLS adds to each: TCP connect alone vs TCP connect + TLS handshake
(ECDSA P-256, TLS 1.3), and one lookup on a fresh HTTPS connection.

The load generator is plain Python (`http.client`, one process per client)
running on the same 2-core machine, so its CPU time is measured and reported
(`loadgen_cpu_s`, `loadgen_cpu_share`): whatever it uses is taken from the server.

Prints one JSON object as its last line: lookup_rps, lookup_p99_ms (plain HTTP),
https_lookup_rps, https_lookup_p99_ms, tls_handshake_ms, ...
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
import ssl
import statistics
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
NEW_CONNECTIONS = 300


def connection(port: int, cafile: str | None, timeout: float = 10) -> http.client.HTTPConnection:
    """A keep-alive connection to the hub: HTTPS trusting only the store CA when ``cafile`` is given."""
    if cafile is None:
        return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    return http.client.HTTPSConnection(
        "127.0.0.1", port, timeout=timeout, context=ssl.create_default_context(cafile=cafile)
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(port: int, token: str, paths: list[str], deadline: float, out: mp.Queue, cafile: str | None = None) -> None:
    conn = connection(port, cafile)
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
            conn = connection(port, cafile)
            continue
        lat.append((time.perf_counter() - t) * 1000)
    out.put((lat, errors))


def start_server(data: Path, port: int, *tls: str) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--data-dir",
            str(data),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            *tls,
        ],
        start_new_session=True,
    )
    return server


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=20)


def wait_ready(port: int, cafile: str | None) -> None:
    for _ in range(150):
        try:
            c = connection(port, cafile, timeout=2)
            c.request("GET", "/api/v1/health")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the hub did not answer on port {port}")


def load(port: int, cafile: str | None, gtins: list[str], ids: list[int]) -> dict:
    """Concurrent keep-alive lookups for DURATION_S against a running hub."""
    c = connection(port, cafile)
    c.request(
        "POST",
        "/api/v1/auth/login",
        body=json.dumps({"user": "wang", "pin": "1234"}),
        headers={"Content-Type": "application/json"},
    )
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
    warm = [mp.Process(target=client, args=(port, token, paths, deadline, q, cafile)) for _ in range(4)]
    for p in warm:
        p.start()
    for _ in warm:
        q.get()
    for p in warm:
        p.join()

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    deadline = time.time() + DURATION_S
    t0 = time.perf_counter()
    procs = [mp.Process(target=client, args=(port, token, paths, deadline, q, cafile)) for _ in range(CLIENTS)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lat = sorted(x for r, _ in results for x in r)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "rps": round(len(lat) / elapsed),
        "p50": round(lat[len(lat) // 2], 2),
        "p99": round(lat[int(len(lat) * 0.99)], 2),
        "errors": sum(e for _, e in results),
        "requests": len(lat),
        "cpu": cpu,
        "elapsed": elapsed,
        "what": what,
        "token": token,
        "path": paths[0],
    }


def new_connections(port: int, cafile: str, token: str, path: str) -> dict:
    """Sequential fresh connections: TCP connect alone, TCP + TLS handshake, and a lookup on a new HTTPS
    connection (what a handheld pays after its keep-alive connection timed out). Medians, in ms."""
    tcp, tls, lookup = [], [], []
    context = ssl.create_default_context(cafile=cafile)
    for _ in range(NEW_CONNECTIONS):
        t = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        tcp.append((time.perf_counter() - t) * 1000)
        s.close()
        t = time.perf_counter()
        s = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="127.0.0.1")
        tls.append((time.perf_counter() - t) * 1000)
        version = s.version()
        s.close()
        t = time.perf_counter()
        c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
        c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        c.getresponse().read()
        lookup.append((time.perf_counter() - t) * 1000)
        c.close()
    tcp_ms, tls_ms = statistics.median(tcp), statistics.median(tls)
    return {
        "tcp_connect_ms": round(tcp_ms, 3),
        "tls_connect_ms": round(tls_ms, 3),
        "tls_handshake_ms": round(tls_ms - tcp_ms, 3),
        "tls_version": version,
        "https_new_connection_lookup_ms": round(statistics.median(lookup), 2),
    }


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
    server = start_server(data, port)  # loopback: plain HTTP
    try:
        wait_ready(port, None)
        http_run = load(port, None, gtins, ids)
    finally:
        stop_server(server)

    cafile = str(data / "pki" / "store-ca.crt")
    port = free_port()
    server = start_server(data, port, "--tls", "--http-port", "0")
    try:
        wait_ready(port, cafile)
        https_run = load(port, cafile, gtins, ids)
        handshakes = new_connections(port, cafile, https_run["token"], https_run["path"])
    finally:
        stop_server(server)

    loadgen_cpu = http_run["cpu"] + https_run["cpu"]
    elapsed = http_run["elapsed"] + https_run["elapsed"]
    print(f"endpoint: {http_run['what']}", file=sys.stderr)
    print(
        json.dumps(
            {
                "lookup_rps": http_run["rps"],
                "lookup_p50_ms": http_run["p50"],
                "lookup_p99_ms": http_run["p99"],
                "errors": http_run["errors"],
                "requests": http_run["requests"],
                "https_lookup_rps": https_run["rps"],
                "https_lookup_p50_ms": https_run["p50"],
                "https_lookup_p99_ms": https_run["p99"],
                "https_errors": https_run["errors"],
                "https_requests": https_run["requests"],
                **handshakes,
                "clients": CLIENTS,
                "gunicorn_workers": WORKERS,
                "loadgen_cpu_s": round(loadgen_cpu, 1),
                "loadgen_cpu_share": round(loadgen_cpu / (elapsed * (os.cpu_count() or 1)), 2),
                "endpoint": http_run["what"].split(" (")[0],
            }
        )
    )


if __name__ == "__main__":
    main()
