"""The hub's sync worker: pushes the outbox up, pulls the downlink, never blocks sales.

Loop: read up to ``batch_size`` outbox rows after the cursor on a *read*
connection (WAL snapshot; the hub's writers are never waited on), gzip them, POST
them with the store credential, and only when the central acknowledges move the
cursor to its ``acked_through`` in a tiny write transaction — after *every*
acknowledged batch, also while a backlog is pushed with several batches in flight,
so a failure part-way through a long backlog costs at most the batches in flight,
never what was already acknowledged. Any failure (connection refused, timeout,
5xx, bad credential) backs off exponentially with jitter and the next attempt
starts again from the stored cursor — after a crash or SIGKILL too, because the
cursor lives in the hub database. Then it pulls the downlink and applies it
(``hub.synclink.downlink.apply_page``). Acknowledged rows older than
``retention_days`` are deleted in small chunks (``hub.kernel.outbox.prune``) to
bound the SD card; rows not yet acknowledged are kept whatever their age.

``run_until_stopped`` runs the loop on its own thread so a SIGTERM ends the
process within ``stop_grace_s`` even while a request hangs on a dead link: the
cursor only moves in a committed transaction after an acknowledgement, so
abandoning a request is as safe as a SIGKILL (which the tests prove).

One worker per data directory (an exclusive ``flock`` on ``sync.lock``)."""

from __future__ import annotations

import fcntl
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests

from hub.kernel import outbox, pii, settings
from hub.kernel.db import Database
from hub.protocol.timeutil import iso, now_iso, utcnow
from hub.synclink import downlink, state
from sync.protocol import auth_headers, encode

log = logging.getLogger("storehub.sync")


@dataclass
class WorkerConfig:
    central_url: str
    store_id: str
    secret: str
    ca_bundle: str | None = None  # path to a CA bundle for https; None = system CAs
    batch_size: int = 1000
    retention_days: float = 7.0
    base_backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    idle_poll_s: float = 2.0
    heartbeat_s: float = 30.0
    timeout_s: float = 30.0
    prune_chunk: int = 5000
    stop_grace_s: float = 0.5  # how long a stop waits for the step in progress before leaving it


class SyncError(Exception):
    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False):
        super().__init__(message)
        self.status = status
        self.permanent = permanent


def backoff_delay(failures: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Exponential back-off with "equal jitter": half the step fixed, half random."""
    step = min(cap, base * (2 ** max(0, failures - 1)))
    return step / 2 + rng() * step / 2


class SyncWorker:
    def __init__(self, db: Database, cfg: WorkerConfig, session: requests.Session | None = None):
        self.db = db
        self.cfg = cfg
        self.http = session or requests.Session()
        self.http.verify = cfg.ca_bundle or True
        self.failures = 0
        self._last_contact = 0.0
        self.base = cfg.central_url.rstrip("/") + f"/sync/v1/stores/{cfg.store_id}"

    # --- HTTP ---------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kw) -> dict[str, Any]:
        headers = {**auth_headers(self.cfg.store_id, self.cfg.secret), **kw.pop("headers", {})}
        try:
            # verify per request: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's verify,
            # which silently dropped the configured ca_bundle (the central's corporate CA) on such hosts
            r = self.http.request(
                method,
                self.base + path,
                headers=headers,
                timeout=self.cfg.timeout_s,
                verify=self.cfg.ca_bundle or self.http.verify,
                **kw,
            )
        except requests.RequestException as exc:
            raise SyncError(f"{type(exc).__name__}: {exc}") from exc
        if r.status_code != 200:
            try:
                err = r.json()["error"]
                msg = f"{err.get('code')}: {err.get('message')}"
            except Exception:
                msg = r.text[:200]
            raise SyncError(f"HTTP {r.status_code} {msg}", status=r.status_code, permanent=400 <= r.status_code < 500)
        return r.json()

    # --- uplink -------------------------------------------------------------------------------
    def cursor(self) -> int:
        return int(state.get(self.db.read(), "uplink_cursor", 0))

    def pending_count(self) -> int:
        return self.db.read().execute("SELECT COUNT(*) FROM outbox WHERE seq > ?", (self.cursor(),)).fetchone()[0]

    def push_once(self, *, heartbeat: bool = False) -> int:
        """Push one batch; returns the number of rows the acknowledgement covered (0 = nothing to do)."""
        conn = self.db.read()
        after = int(state.get(conn, "uplink_cursor", 0))
        events = outbox.pending(conn, after, self.cfg.batch_size)
        if not events and not heartbeat:
            return 0
        through = events[-1]["seq"] if events else after
        body = encode(
            {
                "store_id": self.cfg.store_id,
                "after": after,
                "through": through,
                "events": events,
                "downlink_version": downlink.version(conn),
                "timezone": store_timezone(conn),
            }
        )
        ack = self._request(
            "POST", "/events", data=body, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )
        acked = int(ack["acked_through"])
        self._save_ack(acked, ack.get("rejected") or [])
        if acked < after:
            log.warning("central acknowledged only up to %s (< cursor %s): resending from there", acked, after)
        return max(0, acked - after)

    def _save_ack(self, through: int, rejected: list[dict[str, Any]]) -> None:
        """Store one acknowledgement: the cursor, when, and the events the central refused."""
        with self.db.write() as wconn:
            state.put(wconn, "uplink_cursor", through)
            state.put(wconn, "last_ack_at", now_iso())
            state.put(wconn, "last_error", None)
            record_rejected(wconn, rejected)
        self._last_contact = time.monotonic()

    def catch_up(self, window: int = 2) -> int:
        """Push a backlog with up to ``window`` batches in flight (the next batch is read,
        encoded and sent while the central still applies the previous one).

        Batch k+1 starts where batch k ends, so if it arrives first the central keeps
        it above a gap and acknowledges only the contiguous mark. The cursor is saved
        after each acknowledgement that moves it (or reports refused events), so a batch
        that fails later makes the retry start after the last acknowledged one instead
        of resending the whole backlog. When a batch fails, the acknowledgements of the
        other batches still in flight are kept too, then the first error is raised.
        Returns rows acknowledged."""
        from concurrent.futures import ThreadPoolExecutor

        conn = self.db.read()
        start = after = int(state.get(conn, "uplink_cursor", 0))
        dv = downlink.version(conn)
        tz = store_timezone(conn)
        best = start
        error: BaseException | None = None

        def take(future) -> None:
            nonlocal best, error
            try:
                ack = future.result()
            except BaseException as exc:  # noqa: BLE001 - kept, the other acks saved, then raised
                error = error or exc
                return
            acked = int(ack["acked_through"])
            rejected = ack.get("rejected") or []
            if acked > best or rejected:
                best = max(best, acked)
                self._save_ack(best, rejected)

        with ThreadPoolExecutor(max_workers=window) as pool:
            inflight = []
            while error is None:
                events = outbox.pending(conn, after, self.cfg.batch_size)
                if events:
                    through = events[-1]["seq"]
                    body = encode(
                        {
                            "store_id": self.cfg.store_id,
                            "after": after,
                            "through": through,
                            "events": events,
                            "downlink_version": dv,
                            "timezone": tz,
                        }
                    )
                    inflight.append(
                        pool.submit(
                            self._request,
                            "POST",
                            "/events",
                            data=body,
                            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                        )
                    )
                    after = through
                if inflight and (len(inflight) >= window or not events):
                    take(inflight.pop(0))
                if not events and not inflight:
                    break
            for future in inflight:
                take(future)
        if error is not None:
            raise error
        return best - start

    def prune(self) -> int:
        """Delete acknowledged outbox rows older than the retention (a chunk at a time)."""
        cutoff = iso(utcnow() - timedelta(days=self.cfg.retention_days))
        with self.db.write() as conn:
            cur = int(state.get(conn, "uplink_cursor", 0))
            return outbox.prune(conn, through_seq=cur, before_ts=cutoff, limit=self.cfg.prune_chunk)

    # --- downlink -----------------------------------------------------------------------------
    def pull_once(self) -> int:
        """Fetch and apply one downlink page; returns how many changes it carried."""
        current = downlink.version(self.db.read())
        page = self._request("GET", "/downlink", params={"after": current, "limit": 500})
        self._learn_pii_key(page.get("pii_public_key"))
        through = int(page["through"])
        if through <= current:
            return 0
        result = downlink.apply_page(self.db, page["changes"], through)
        for rej in result["rejected"]:
            log.warning("downlink change %s rejected: %s", rej["version"], rej["error"])
        self._request(
            "POST",
            "/downlink/applied",
            data=encode({"version": result["version"]}),
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        return len(page["changes"]) or 1

    def _learn_pii_key(self, key: Any) -> None:
        """The central's personal-data public key, as its downlink states it: kept beside hub.db, so facts recorded
        from now on carry their personal fields sealed to it (hub/kernel/pii.py; a new key after a rotation of the
        central's key pair is picked up the same way)."""
        if not isinstance(key, str) or not key:
            return
        data_dir = Path(self.db.path).parent
        if pii.central_key(data_dir) == key:
            return
        try:
            pii.set_central_key(data_dir, key)
        except pii.PiiError as exc:
            log.warning("central sent an unusable personal-data key: %s", exc)
            return
        log.info("personal-data key of the central stored (%s)", pii.seal_key_id(pii.parse_public_key(key)))

    # --- loop ---------------------------------------------------------------------------------
    def step(self) -> bool:
        """One round of work; returns True if there may be more to do right away."""
        if self.pending_count() > 2 * self.cfg.batch_size:
            self.catch_up()
        pushed = self.push_once(heartbeat=time.monotonic() - self._last_contact > self.cfg.heartbeat_s)
        pulled = self.pull_once()
        self.prune()
        self.failures = 0
        return pushed > 0 and self.pending_count() > 0 or pulled > 0

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or threading.Event()
        log.info("sync worker for store %s -> %s", self.cfg.store_id, self.cfg.central_url)
        while not stop.is_set():
            try:
                more = self.step()
                if not more:
                    stop.wait(self.cfg.idle_poll_s)
            except SyncError as exc:
                self._failed(exc, stop)
            except Exception as exc:  # a bug must not kill the loop; it is logged and retried
                log.exception("sync step failed")
                self._failed(SyncError(repr(exc)), stop)

    def _failed(self, exc: SyncError, stop: threading.Event) -> None:
        self.failures += 1
        delay = backoff_delay(self.failures, self.cfg.base_backoff_s, self.cfg.max_backoff_s)
        log.warning("sync failed (%s, attempt %d); retrying in %.1fs", exc, self.failures, delay)
        try:
            with self.db.write() as conn:
                state.put(conn, "last_error", {"at": now_iso(), "message": str(exc)[:500], "failures": self.failures})
        except Exception:
            log.exception("could not record sync error")
        stop.wait(delay)


def run_until_stopped(worker: SyncWorker, stop: threading.Event) -> bool:
    """Run ``worker.run(stop)`` on a daemon thread and return soon after ``stop`` is set (a signal handler
    sets it): at most ``stop_grace_s`` later, even if the step in progress hangs on a request to a central
    that does not answer (``timeout_s`` is 30 s) or waits for a pipelined batch. Returns True if the loop
    ended by itself within the grace, False if it was abandoned mid-step — safe, because nothing the
    central has not acknowledged was ever marked sent."""
    t = threading.Thread(target=worker.run, args=(stop,), name="sync-worker", daemon=True)
    t.start()
    while t.is_alive() and not stop.wait(1.0):
        pass
    t.join(worker.cfg.stop_grace_s)
    return not t.is_alive()


REJECTED_KEPT = 1000


def store_timezone(conn) -> str | None:
    """The store's IANA timezone (hub setting ``timezone``) sent with every push."""
    tz = settings.get(conn, "timezone")
    return tz if isinstance(tz, str) and tz else None


def record_rejected(conn, rejected: list[dict[str, Any]]) -> int:
    """Remember the events the central refused for their time (``sync_state.uplink_rejected``, by seq,
    the newest ``REJECTED_KEPT``) and count them (``uplink_rejected_total``). A seq reported again (a
    replay, or every acknowledgement of a range holding it) is not counted twice. Returns how many were new."""
    if not rejected:
        return 0
    kept = {int(k): v for k, v in (state.get(conn, "uplink_rejected", {}) or {}).items()}
    dropped_through = int(state.get(conn, "uplink_rejected_dropped_through", 0))  # older entries trimmed
    new = 0
    for r in rejected:
        seq = int(r["seq"])
        if seq in kept or seq <= dropped_through:
            continue
        kept[seq] = {k: r.get(k) for k in ("id", "kind", "ts", "code", "message")} | {"recorded_at": now_iso()}
        new += 1
        log.warning("central refused outbox seq %s (%s %s): %s", seq, r.get("kind"), r.get("ts"), r.get("message"))
    if new:
        order = sorted(kept)
        if len(order) > REJECTED_KEPT:
            state.put(conn, "uplink_rejected_dropped_through", order[-REJECTED_KEPT - 1])
            order = order[-REJECTED_KEPT:]
        state.put(conn, "uplink_rejected", {str(k): kept[k] for k in order})
        state.put(conn, "uplink_rejected_total", int(state.get(conn, "uplink_rejected_total", 0)) + new)
    return new


class SingleInstance:
    """Exclusive lock so two workers never push for the same hub at once."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / "sync.lock"
        self.fh = None

    def __enter__(self):
        self.fh = open(self.path, "a")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.close()
            raise SystemExit(f"another sync worker holds {self.path}") from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


def config_from_data_dir(data_dir: Path, **overrides) -> WorkerConfig:
    cred = state.read_credentials(data_dir)
    if not cred:
        raise SystemExit(
            f"no {state.CREDENTIAL_FILE} in {data_dir}: run `storehub sync configure` "
            "(or `storehub central add-store --hub-data-dir`) first"
        )
    return WorkerConfig(
        central_url=cred["central_url"],
        store_id=cred["store_id"],
        secret=cred["secret"],
        ca_bundle=cred.get("ca_bundle"),
        **{k: v for k, v in overrides.items() if v is not None},
    )


def run_in_process(data_dir: Path, stop: threading.Event) -> None:
    """The sync worker as a thread of another process (``hub.bus.services``: the single web worker on a small
    box) until ``stop`` is set, with the standalone worker's guarantees: its ``sync.lock`` held meanwhile, the
    cursor moved only after an acknowledgement. ``SystemExit`` when it cannot run here (no credential, another
    store's, another worker holds the lock): its supervisor logs that and tries again later."""
    from hub.store import open_db

    cfg, db = open_db(data_dir)
    try:
        wcfg = config_from_data_dir(cfg.data_dir)
        local_store = settings.get(db.read(), "store_id")
        if local_store != wcfg.store_id:
            raise SystemExit(f"credential is for store {wcfg.store_id} but this hub is {local_store}")
        with SingleInstance(cfg.data_dir):
            SyncWorker(db, wcfg).run(stop)
    finally:
        db.close()
