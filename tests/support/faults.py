"""The fault harness behind ``tests/faults/`` and ``bench/faults.py`` (issue 11): a whole store — the hub under
gunicorn (``storehub serve``, which starts the bus), Mosquitto from the shipped config with provisioned
accounts, ``storehub sync run`` and a central on the real PostgreSQL — under a steady load of stock movements
through the HTTP API (idempotency keys, retried until acknowledged, as a till does) and device events from real
device agents (``devices.common.agent.DeviceAgent``, each with its on-disk buffer), while each fault is applied
in turn: kill -9 of the bus, the web workers, the broker (with the hub down and behind), the sync worker and the
central, a cut of the central (SIGSTOP) for a while; then everything is restarted and the books are compared.

For every fault (a *phase*: the load created while it was applied) the report says:

* ``acked`` — what a client was told was accepted: movements answered 201/200, device events their agent no
  longer holds (confirmed by the broker — or by the hub once delivery is end to end);
* ``lost`` — acknowledged but not in the hub (ledger, applied device events) or not at the central;
* ``duplicated`` — applied more than once anywhere (a ledger row, a device event or a central event twice);
* ``central_equals_hub`` — the central holds exactly the hub's facts of the phase (by fact id, once each) and
  its stock equals the hub's.

Nothing waits on fixed sleeps except the load's own pacing and the length of a fault."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]
STORE = "fault-store"
MANAGER = ("till", "till-pass-12345")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub.cli", *args]


def wait_for(pred: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


@dataclass
class FaultConfig:
    phase_s: float = 6.0  # load per phase (the fault hits in its middle)
    hub_down_s: float = 4.0  # the broker row: how long the hub is down and falling behind
    cut_s: float = 6.0  # how long the central is cut off
    http_clients: int = 3
    agents: int = 2
    events_per_s: float = 25.0  # per agent
    web_workers: int = 2
    settle_timeout_s: float = 120.0


@dataclass
class Phase:
    name: str
    movement_keys: list[str] = field(default_factory=list)  # acknowledged (201/200)
    unsettled_keys: list[str] = field(default_factory=list)  # never answered before the load stopped
    event_ids: list[tuple[str, str]] = field(default_factory=list)  # (device, event id) produced


class Store:
    """The processes of one store and of its central, each startable and killable on its own."""

    def __init__(self, work: Path, pg_url: str):
        from hub.auth import users
        from hub.bus.mosquitto import Mosquitto
        from hub.bus.provision import provision
        from hub.inventory import catalog, ledger, locations
        from hub.inventory.ledger import MovementRequest
        from hub.store import initialise, open_db
        from sync.central import stores
        from sync.central.db import make_engine, migrate

        self.work = work
        self.data = work / "hub"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.cfg, self.db = open_db(self.data)
        initialise(self.db, store_id=STORE, store_name="Fault Store", currency="CNY", language="en")
        with self.db.write() as c:
            store = locations.get_by_code(c, "STORE")
            self.bin = locations.create(
                c, code="F1", name="Fault bin", kind="bin", parent_id=store["id"], actor="test"
            )["id"]
            self.items = [
                catalog.create_item(
                    c, {"sku": f"F{i}", "name_en": f"Fault item {i}", "price_minor": 100}, actor="test"
                )["id"]
                for i in range(4)
            ]
            for it in self.items:
                ledger.post(c, MovementRequest("receive", it, self.bin, 1_000_000, "opening", "test", f"open-{it}"))
            users.create(c, username=MANAGER[0], role="manager", password=MANAGER[1], secret_key=self.cfg.secret_key())
        self.broker_port = _free_port()
        self.devices = []
        for i in range(8):
            p = provision(
                device_id=f"scan-{i}",
                kind="scanner",
                store_id=STORE,
                out=self.data / "mqtt",
                broker_port=self.broker_port,
            )
            self.devices.append(json.loads(p.config_path.read_text()))
        hub_account = json.loads((self.data / "mqtt" / "hub-mqtt.json").read_text())
        self.hub_mqtt = f"mqtt://{hub_account['username']}@127.0.0.1:{self.broker_port}"  # password: from the file
        self.broker = Mosquitto(
            self.broker_port,
            work / "broker",
            password_file=self.data / "mqtt" / "passwd",
            acl_file=self.data / "mqtt" / "acl",
        )
        self.engine = make_engine(pg_url)
        migrate(self.engine)
        secret = stores.add_store(self.engine, STORE, "Fault Store")
        self.pg_url = pg_url
        self.central_port = _free_port()
        from hub.synclink import state

        state.write_credentials(
            self.data, central_url=f"http://127.0.0.1:{self.central_port}", store_id=STORE, secret=secret
        )
        self.web_port = _free_port()
        self.serve: subprocess.Popen | None = None
        self.sync: subprocess.Popen | None = None
        self.central: subprocess.Popen | None = None
        self.logs = work / "logs"
        self.logs.mkdir(exist_ok=True)

    # --- processes ---------------------------------------------------------------------------------
    def _popen(self, name: str, argv: list[str], **kw) -> subprocess.Popen:
        out = open(self.logs / f"{name}.log", "ab")
        return subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=out, stderr=out, **kw)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start_central(self) -> None:
        self.central = self._popen(
            "central",
            _cli(
                "central",
                "serve",
                "--db",
                self.pg_url,
                "--dir",
                str(self.work / "central"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.central_port),
                "--workers",
                "1",
            ),
            start_new_session=True,
        )

        def up():
            try:
                return requests.get(f"http://127.0.0.1:{self.central_port}/healthz", timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(up, 60, "the central")

    def start_serve(self, workers: int) -> None:
        self.serve = self._popen(
            "serve",
            _cli(
                "serve",
                "--data-dir",
                str(self.data),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.web_port),
                "--workers",
                str(workers),
                "--mqtt",
                self.hub_mqtt,
            ),
            start_new_session=True,
        )
        wait_for(self.web_up, 60, "the hub's web workers")
        wait_for(self.bus_pid, 60, "the bus")

    def web_up(self) -> bool:
        try:
            return requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def start_sync(self) -> None:
        self.sync = self._popen(
            "sync",
            _cli(
                "sync",
                "run",
                "--data-dir",
                str(self.data),
                "--idle-poll",
                "0.2",
                "--max-backoff",
                "1",
                "--batch-size",
                "300",
            ),
        )

    def _tree(self) -> list[psutil.Process]:
        if self.serve is None or self.serve.poll() is not None:
            return []
        try:
            return psutil.Process(self.serve.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def bus_pid(self) -> int | None:
        """The bus itself (the child of ``bus --supervise``), once it runs."""
        for p in self._tree():
            try:
                argv = p.cmdline()
            except psutil.Error:
                continue
            if "bus" in argv and "--supervise" not in argv:
                return p.pid
        return None

    def web_worker_pids(self) -> list[int]:
        out = []
        for p in self._tree():
            try:
                if p.ppid() == self.serve.pid and "bus" not in p.cmdline():
                    out.append(p.pid)
            except psutil.Error:
                continue
        return out

    def stop_serve(self) -> None:
        if self.serve is not None and self.serve.poll() is None:
            os.killpg(self.serve.pid, signal.SIGTERM)
            try:
                self.serve.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.serve.pid, signal.SIGKILL)
                self.serve.wait(10)
        self.serve = None

    def stop_sync(self, sig: int = signal.SIGTERM) -> None:
        if self.sync is not None and self.sync.poll() is None:
            self.sync.send_signal(sig)
            self.sync.wait(30)
        self.sync = None

    def stop_central(self, sig: int = signal.SIGTERM) -> None:
        if self.central is not None and self.central.poll() is None:
            os.killpg(self.central.pid, signal.SIGCONT)
            os.killpg(self.central.pid, sig)
            try:
                self.central.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.central.pid, signal.SIGKILL)
                self.central.wait(10)
        self.central = None

    def close(self) -> None:
        self.stop_sync(signal.SIGKILL)
        self.stop_serve()
        self.stop_central(signal.SIGKILL)
        self.broker.stop()
        self.db.close()
        self.engine.dispose()


class Load:
    """Movements through the HTTP API and device events from agents, tagged with the current phase."""

    def __init__(self, store: Store, cfg: FaultConfig, work: Path):
        from devices.common.agent import DeviceAgent
        from devices.common.config import AgentConfig, from_provisioned

        self.store, self.cfg = store, cfg
        self.phase: Phase = Phase("warmup")
        self.phases: list[Phase] = [self.phase]
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.refused: list[str] = []
        self.agents = []
        for dev in store.devices[: cfg.agents]:
            ac = AgentConfig(
                **{
                    **from_provisioned(dev),
                    "state_dir": work / "agents",
                    "buffer_max_events": 1_000_000,
                    "reconnect_min_s": 1,
                    "reconnect_max_s": 2,
                }
            )
            agent = DeviceAgent(ac)
            agent.kind = "scanner"
            self.agents.append(agent)

    def begin(self, name: str) -> Phase:
        with self.lock:
            self.phase = Phase(name)
            self.phases.append(self.phase)
            return self.phase

    def start(self) -> None:
        for agent in self.agents:
            agent.start()
            t = threading.Thread(target=self._device, args=(agent,), daemon=True)
            t.start()
            self.threads.append(t)
        for i in range(self.cfg.http_clients):
            t = threading.Thread(target=self._till, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(120)

    def _device(self, agent) -> None:
        period = 1.0 / self.cfg.events_per_s
        n = 0
        nxt = time.monotonic()
        while not self.stopping.is_set():
            with self.lock:
                phase = self.phase
            n += 1
            ev = agent.publish_event("scan", {"code": f"{phase.name}-{agent.cfg.device}-{n}", "symbology": "code128"})
            with self.lock:
                phase.event_ids.append((agent.cfg.device, ev["id"]))
            nxt += period
            time.sleep(max(0.0, nxt - time.monotonic()))

    def _token(self, http: requests.Session) -> str:
        r = http.post(
            self.store.url + "/api/v1/auth/login", json={"user": MANAGER[0], "password": MANAGER[1]}, timeout=10
        )
        r.raise_for_status()
        return r.json()["token"]

    def _till(self, i: int) -> None:
        http = requests.Session()
        token = None
        n = 0
        while not self.stopping.is_set():
            with self.lock:
                phase = self.phase
            n += 1
            key = f"{phase.name}-till{i}-{n}-{uuid.uuid4().hex[:6]}"
            body = {
                "kind": "receive" if n % 2 else "sale",
                "item_id": self.store.items[(i + n) % 4],
                "location_id": self.store.bin,
                "qty": 1,
                "reason": "fault load",
                "idempotency_key": key,
            }
            while True:  # the same key until the hub answers: a till's retry
                try:
                    if token is None:
                        token = self._token(http)
                    r = http.post(
                        self.store.url + "/api/v1/movements",
                        json=body,
                        timeout=10,
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    if r.status_code in (200, 201):
                        with self.lock:
                            phase.movement_keys.append(key)
                        break
                    if r.status_code == 401:
                        token = None
                    elif r.status_code < 500:  # the harness's own mistake: reported, the till stops
                        with self.lock:
                            self.refused.append(f"{r.status_code} {r.text[:300]}")
                        return
                except requests.RequestException:
                    http.close()
                    http = requests.Session()
                if self.stopping.is_set():
                    with self.lock:
                        phase.unsettled_keys.append(key)
                    return
                time.sleep(0.2)
            time.sleep(0.02)


def _kill(pid: int | None) -> None:
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def run_faults(work: Path, pg_url: str, cfg: FaultConfig | None = None, log: Callable[[str], None] = print) -> dict:
    """Run the whole sequence; returns {"rows": [...per fault...], "totals": {...}}."""
    cfg = cfg or FaultConfig()
    store = Store(work, pg_url)
    load = None
    try:
        store.broker.start()
        store.start_central()
        store.start_serve(cfg.web_workers)
        store.start_sync()
        _bus_subscribed(store, work)
        load = Load(store, cfg, work)
        load.start()
        half = cfg.phase_s / 2

        def phase(name: str, fault: Callable[[], None]) -> None:
            log(f"fault: {name}")
            load.begin(name)
            time.sleep(half)
            fault()
            time.sleep(half)

        def kill_bus():
            pid = wait_for(store.bus_pid, 30, "the bus")
            _kill(pid)
            wait_for(lambda: store.bus_pid() not in (None, pid), 60, "the bus to be restarted by its supervisor")

        def kill_web():
            pids = store.web_worker_pids()
            assert pids, "no web workers found"
            for pid in pids:
                _kill(pid)
            wait_for(
                lambda: len(set(store.web_worker_pids()) - set(pids)) >= cfg.web_workers and store.web_up(),
                60,
                "gunicorn to replace its workers",
            )

        def kill_broker():
            store.stop_serve()  # the hub is down: device events pile up at the broker for it
            time.sleep(cfg.hub_down_s)
            store.broker.proc.kill()  # SIGKILL: no chance to save its queues
            store.broker.proc.wait(10)
            store.broker.proc = None
            store.broker.start()
            store.start_serve(cfg.web_workers)

        def kill_sync():
            store.stop_sync(signal.SIGKILL)
            store.start_sync()

        def kill_central():
            store.stop_central(signal.SIGKILL)
            store.start_central()

        def cut_central():
            os.killpg(store.central.pid, signal.SIGSTOP)
            time.sleep(cfg.cut_s)
            os.killpg(store.central.pid, signal.SIGCONT)

        phase("bus_kill9", kill_bus)
        phase("web_workers_kill9", kill_web)
        phase("broker_kill9_hub_down_behind", kill_broker)
        phase("sync_worker_kill9", kill_sync)
        phase("central_kill9", kill_central)
        phase("central_cut", cut_central)

        def restart_all():
            store.stop_sync()
            store.stop_serve()
            store.stop_central()
            store.broker.stop()
            store.broker.start()
            store.start_central()
            store.start_serve(cfg.web_workers)
            store.start_sync()

        phase("restart_everything", restart_all)
        load.begin("after")
        load.stop()
        for agent in load.agents:  # every event leaves its agent's buffer (or the run says so)
            try:
                wait_for(lambda a=agent: len(a.buffer) == 0, cfg.settle_timeout_s, f"{agent.cfg.device} to drain")
            except TimeoutError:
                log(f"{agent.cfg.device} still holds {len(agent.buffer)} event(s)")
        held = {a.cfg.device: {p["id"] for _s, _t, p in a.buffer.peek(10**7)} for a in load.agents}
        _settle(store, load, cfg)
        return _report(store, load, held)
    finally:
        if load is not None:
            load.stopping.set()
            for agent in load.agents:
                agent.stop()
        store.close()


def _bus_subscribed(store: Store, work: Path) -> None:
    """Wait until the bus has subscribed once (a probe device's event is applied): before that the broker has
    no session for the hub to queue events in, and what an agent sent would be confirmed to nobody."""
    from devices.common.agent import DeviceAgent
    from devices.common.config import AgentConfig, from_provisioned

    probe = DeviceAgent(AgentConfig(**{**from_provisioned(store.devices[-1]), "state_dir": work / "probe"}))
    probe.kind = "scanner"
    probe.start()
    conn = store.db.read()
    try:

        def applied():
            probe.publish_event("scan", {"code": "probe"})
            return conn.execute("SELECT COUNT(*) FROM device_scans WHERE code = 'probe'").fetchone()[0]

        wait_for(applied, 60, "the bus to subscribe", interval=0.5)
    finally:
        probe.stop()


def _settle(store: Store, load: Load, cfg: FaultConfig) -> None:
    """Wait until the bus applied what reached it and the central acknowledged everything."""
    from hub.kernel import outbox
    from hub.synclink.state import status

    conn = store.db.read()
    wanted = sum(len(p.event_ids) for p in load.phases)

    def applied() -> int:
        return conn.execute("SELECT COUNT(*) FROM device_events_processed WHERE event_type = 'scan'").fetchone()[0]

    last, since = -1, time.monotonic()
    end = time.monotonic() + cfg.settle_timeout_s
    while time.monotonic() < end:  # all applied, or no progress for 10 s (what is missing is lost)
        n = applied()
        if n >= wanted:
            break
        if n != last:
            last, since = n, time.monotonic()
        elif time.monotonic() - since > 10:
            break
        time.sleep(0.2)

    def caught_up():
        st = status(conn)
        return st["uplink_cursor"] >= outbox.last_seq(conn) and st["pending"] == 0

    wait_for(caught_up, cfg.settle_timeout_s, "the central to acknowledge the whole outbox")


def _report(store: Store, load: Load, held: dict[str, set[str]]) -> dict:
    from sqlalchemy import func, select

    from sync.central import schema as t

    conn = store.db.read()
    hub_keys = {}
    for key, n in conn.execute("SELECT idempotency_key, COUNT(*) FROM movements GROUP BY idempotency_key"):
        hub_keys[key] = n
    hub_events = {}
    for dev, eid, n in conn.execute(
        "SELECT device_id, event_id, COUNT(*) FROM device_events_processed "
        "WHERE event_type = 'scan' GROUP BY device_id, event_id"
    ):
        hub_events[(dev, eid)] = n
    scans = {}
    for dev, eid, n in conn.execute(
        "SELECT device_id, event_id, COUNT(*) FROM device_scans GROUP BY device_id, event_id"
    ):
        scans[(dev, eid)] = n
    # the hub's facts: movement facts by idempotency key, device.scan facts by (device, event id)
    fact_of_key: dict[str, list[str]] = {}
    fact_of_event: dict[tuple[str, str], list[str]] = {}
    for fid, kind, payload in conn.execute(
        "SELECT id, kind, payload FROM outbox WHERE kind IN ('movement', 'device.scan')"
    ):
        p = json.loads(payload)
        if kind == "movement":
            fact_of_key.setdefault(p.get("idempotency_key"), []).append(fid)
        else:
            fact_of_event.setdefault((p.get("device_id"), p.get("event_id")), []).append(fid)
    with store.engine.connect() as c:
        central = {}
        for eid, n in c.execute(
            select(t.events.c.event_id, func.count()).where(t.events.c.store_id == STORE).group_by(t.events.c.event_id)
        ):
            central[eid] = n
        central_stock = {
            (r.item_id, r.location_id): r.on_hand for r in c.execute(select(t.stock).where(t.stock.c.store_id == STORE))
        }
    hub_stock = {(r[0], r[1]): r[2] for r in conn.execute("SELECT item_id, location_id, on_hand FROM stock")}
    hub_fold = {
        (r[0], r[1]): r[2]
        for r in conn.execute(
            "SELECT item_id, location_id, SUM(qty_delta) FROM movements GROUP BY item_id, location_id"
        )
    }
    outbox_ids = [r[0] for r in conn.execute("SELECT id FROM outbox")]
    stock_equal = central_stock == hub_stock == hub_fold
    all_facts_equal = set(outbox_ids) == set(central) and all(n == 1 for n in central.values())
    rows = []
    for ph in load.phases:
        if ph.name in ("warmup", "after") and not (ph.movement_keys or ph.event_ids):
            continue
        acked_events = [e for e in ph.event_ids if e[1] not in held.get(e[0], set())]
        lost_mv = [k for k in ph.movement_keys if hub_keys.get(k, 0) == 0]
        lost_ev = [e for e in acked_events if hub_events.get(e, 0) == 0]
        facts = [f for k in ph.movement_keys for f in fact_of_key.get(k, [])] + [
            f for e in acked_events for f in fact_of_event.get(e, [])
        ]
        lost_central = [f for f in facts if central.get(f, 0) == 0]
        dup = (
            sum(hub_keys.get(k, 0) - 1 for k in ph.movement_keys if hub_keys.get(k, 0) > 1)
            + sum(hub_events.get(e, 0) - 1 for e in acked_events if hub_events.get(e, 0) > 1)
            + sum(scans.get(e, 0) - 1 for e in acked_events if scans.get(e, 0) > 1)
            + sum(len(fact_of_key.get(k, [])) - 1 for k in ph.movement_keys if len(fact_of_key.get(k, [])) > 1)
            + sum(central.get(f, 0) - 1 for f in facts if central.get(f, 0) > 1)
        )
        rows.append(
            {
                "fault": ph.name,
                "acked": len(ph.movement_keys) + len(acked_events),
                "acked_movements": len(ph.movement_keys),
                "acked_device_events": len(acked_events),
                "lost": len(lost_mv) + len(lost_ev) + len(lost_central),
                "lost_movements": len(lost_mv),
                "lost_device_events": len(lost_ev),
                "lost_at_central": len(lost_central),
                "duplicated": dup,
                "central_equals_hub": not lost_central and stock_equal and all(central.get(f, 0) == 1 for f in facts),
                "still_held_by_agents": len(ph.event_ids) - len(acked_events),
                "unanswered_movements": len(ph.unsettled_keys),
            }
        )
    totals = {k: sum(r[k] for r in rows) for k in ("acked", "lost", "duplicated")}
    totals.update(
        {
            "refused_movements": load.refused[:5],
            "stock_equal": stock_equal,
            "all_facts_equal": all_facts_equal,
            "outbox_rows": len(outbox_ids),
            "central_events": sum(central.values()),
        }
    )
    return {"rows": rows, "totals": totals}
