"""Parallel clients against the real HTTP API never oversell: allocators and pickers race through a
threaded werkzeug server (each request on its own thread and SQLite connection)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.serving import make_server

from hub.inventory import ledger
from hub.inventory.ledger import new_key as key
from tests.support.common import PINS, free_port
from tests.support.orders import order_body, store


@pytest.fixture
def server(app, hubctx, sample):
    shop = store(hubctx, sample)
    port = free_port()
    srv = make_server("127.0.0.1", port, app, threaded=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{port}/api/v1", shop
    srv.shutdown()
    t.join(5)


def _session(base: str, role: str) -> requests.Session:
    s = requests.Session()
    r = s.post(f"{base}/auth/login", json={"user": role, "pin": PINS[role]}, timeout=30)
    r.raise_for_status()
    s.headers["Authorization"] = f"Bearer {r.json()['token']}"
    s.cookies.clear()
    return s


def test_parallel_allocators_never_reserve_more_than_on_hand(server, hubctx):
    base, shop = server
    n = 24  # 24 orders of 1 rice, 10 on the shelf
    sessions = [_session(base, "associate") for _ in range(6)]
    barrier = threading.Barrier(n)

    def place(i: int):
        barrier.wait()
        return sessions[i % len(sessions)].post(
            f"{base}/orders", json=order_body(f"RACE-{i}", [{"sku": "RICE-5KG", "qty": 1}]), timeout=60
        )

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(place, range(n)))
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201]
    statuses = [r.json()["status"] for r in results]
    assert statuses.count("allocated") == 10 and statuses.count("backordered") == 14
    s = ledger.stock_of(hubctx.db.read(), shop["rice"]["id"], shop["bin3"]["id"])
    assert s["on_hand"] == 10 and s["reserved"] == 10
    assert ledger.fold(hubctx.db.read()) == ledger.projection(hubctx.db.read())


def test_duplicate_orders_racing_are_created_once(server, hubctx):
    base, shop = server
    sessions = [_session(base, "associate") for _ in range(4)]
    barrier = threading.Barrier(8)

    def place(i: int):
        barrier.wait()
        return sessions[i % 4].post(
            f"{base}/orders", json=order_body("SAME-1", [{"sku": "MILK-1L", "qty": 1}]), timeout=60
        )

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(r.status_code for r in pool.map(place, range(8)))
    assert codes == [201] + [409] * 7
    assert hubctx.db.read().execute("SELECT COUNT(*) FROM orders WHERE external_id = 'SAME-1'").fetchone()[0] == 1


def test_parallel_pickers_and_replays_apply_each_pick_once(server, hubctx):
    base, shop = server
    sup = _session(base, "supervisor")
    for i in range(5):
        r = sup.post(f"{base}/orders", json=order_body(f"PK-{i}", [{"sku": "RICE-5KG", "qty": 2}]), timeout=30)
        assert r.json()["status"] == "allocated"
    pl = sup.post(f"{base}/pick-lists", json={"max_orders": 5}, timeout=30).json()
    tasks = pl["tasks"]
    assert len(tasks) == 5
    pickers = [_session(base, "associate") for _ in range(4)]
    keys = {t["id"]: key() for t in tasks}
    barrier = threading.Barrier(len(tasks) * 4)

    def pick(args):
        n, task = args
        barrier.wait()
        body = {"location_code": "SHL-B01-01", "item_code": "96385074", "qty": 2}
        # two pickers replay the same client key (offline queue), two others race with their own keys
        ck = keys[task["id"]] if n < 2 else key()
        return pickers[n].post(f"{base}/pick-tasks/{task['id']}/pick", json={**body, "client_key": ck}, timeout=60)

    jobs = [(n, t) for t in tasks for n in range(4)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(pick, jobs))
    by_task: dict[str, list] = {}
    for (_n, t), r in zip(jobs, results):
        assert r.status_code in (200, 409), r.text
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "task_not_pending"
        by_task.setdefault(t["id"], []).append(r)
    for tid, rs in by_task.items():
        fresh = [r for r in rs if r.status_code == 200 and r.json()["duplicate"] is False]
        assert len(fresh) == 1, tid
    s = ledger.stock_of(hubctx.db.read(), shop["rice"]["id"], shop["bin3"]["id"])
    assert s == {"on_hand": 0, "reserved": 0, "available": 0, "negative": False}
    picks = hubctx.db.read().execute("SELECT COUNT(*) FROM movements WHERE kind = 'pick'").fetchone()[0]
    assert picks == 5
    assert sup.get(f"{base}/pick-lists/{pl['id']}", timeout=30).json()["status"] == "done"
    assert ledger.fold(hubctx.db.read()) == ledger.projection(hubctx.db.read())


@pytest.fixture
def gunicorn_hub(app, hubctx, sample):
    """The same store served by ``storehub serve`` (gunicorn, 2 worker processes × threads)."""
    import subprocess
    import sys
    import time

    from tests.support.common import ROOT

    shop = store(hubctx, sample)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "serve",
            "--data-dir",
            str(hubctx.config.data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    end = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/health", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert proc.poll() is None and time.monotonic() < end, (
            proc.stderr.read().decode()[-2000:] if proc.poll() else "timeout"
        )
        time.sleep(0.2)
    yield base, shop
    proc.terminate()
    proc.wait(timeout=15)


def test_parallel_clients_across_gunicorn_workers_never_oversell(gunicorn_hub, hubctx):
    base, shop = gunicorn_hub
    sessions = [_session(base, "associate") for _ in range(6)]
    n = 30  # 30 orders of 2 milk; 5 milk on the shelves (A01-01: 2, A01-02: 3)
    barrier = threading.Barrier(n)

    def place(i: int):
        barrier.wait()
        return sessions[i % 6].post(
            f"{base}/orders", json=order_body(f"GU-{i}", [{"sku": "MILK-1L", "qty": 2}]), timeout=60
        )

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(place, range(n)))
    assert all(r.status_code == 201 for r in results), [r.text for r in results if r.status_code != 201][:3]
    orders = [r.json() for r in results]
    reserved_by_orders = sum(ln["reserved"] for o in orders for ln in o["lines"])
    conn = hubctx.db.read()
    total = ledger.on_hand_total(conn, shop["milk"]["id"])
    assert total == {"on_hand": 5, "reserved": 5, "available": 0}
    assert reserved_by_orders == 5
    # pickers in both workers take every allocated order at once: stock ends at exactly zero, never below
    sup = _session(base, "supervisor")
    lists = []
    while True:
        r = sup.post(f"{base}/pick-lists", json={"max_orders": 1}, timeout=30)
        if r.status_code == 422:
            break
        lists.append(r.json())
    tasks = [t for pl in lists for t in pl["tasks"]]

    def pick(t):
        return sessions[hash(t["id"]) % 6].post(
            f"{base}/pick-tasks/{t['id']}/pick",
            timeout=60,
            json={
                "client_key": key(),
                "location_code": t["location_label"],
                "item_code": "5901234123457",
                "qty": t["qty"],
            },
        )

    with ThreadPoolExecutor(len(tasks)) as pool:
        assert all(r.status_code == 200 for r in pool.map(pick, tasks))
    assert ledger.on_hand_total(conn, shop["milk"]["id"]) == {"on_hand": 0, "reserved": 0, "available": 0}
    assert ledger.negative_stock(conn) == []
    assert ledger.fold(conn) == ledger.projection(conn)
