"""``storehub bus``: the one bus process of a hub (a lock file in the data directory), until SIGTERM/SIGINT.

It writes its heartbeat (``hub.kernel.heartbeat``) every few seconds, so ``/api/v1/health`` can tell a hub
whose bus is running from one whose web pages still answer while the bus is dead."""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from pathlib import Path

from hub.bus.adapters import Adapters
from hub.bus.writer import Bus
from hub.kernel import heartbeat
from hub.protocol.timeutil import now_iso
from hub.store import open_db

log = logging.getLogger("storehub.bus")
LABELS_EVERY_S = 60.0  # how often the bus looks for promotions that started (their shelf labels)


class BusLockError(RuntimeError):
    pass


def acquire_lock(data_dir: Path):
    """One bus per hub: an exclusive lock on ``<data_dir>/bus.lock`` held for the life of the process."""
    data_dir.mkdir(parents=True, exist_ok=True)
    f = open(data_dir / "bus.lock", "a+")
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise BusLockError(f"another bus process already runs for {data_dir}") from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def run(
    data_dir: Path,
    mqtt_url: str,
    *,
    client_id: str | None = None,
    advertise: str | None = None,
    api_port: int = 8000,
    api_tls: bool = False,
    stop: threading.Event | None = None,
) -> int:
    """``storehub bus``: run until SIGTERM/SIGINT (or until ``stop`` is set: ``storehub sync run --bus`` runs
    the sync worker on a thread of this process and stops both with one event; ``hub.bus.services`` runs this
    on a thread of the single web worker, which sets ``stop`` when it exits)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg, db = open_db(data_dir)
    lock = acquire_lock(cfg.data_dir)
    adapters = Adapters.load(cfg.data_dir / "mqtt" / "adapters.json")
    if adapters.esphome:
        log.info("bus: ESPHome adapters for %s", ", ".join(f"{a.prefix} -> {a.device}" for a in adapters.esphome))
    bus = Bus(db, mqtt_url, client_id=client_id, adapters=adapters)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():  # a thread of the web worker: its owner stops it
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
        signal.signal(signal.SIGINT, lambda *a: stop.set())
    bus.start()
    log.info("bus: store %s, broker %s, data %s", bus.store_id, bus.url.redacted(), cfg.data_dir)
    advertiser = None
    if advertise:
        from hub.bus.discovery import Advertiser  # zeroconf: loaded only by a hub that advertises

        try:
            advertiser = Advertiser(
                store_id=bus.store_id,
                address=advertise,
                api_port=api_port,
                mqtt_port=bus.url.port,
                tls=api_tls,
                mqtt_tls=bus.url.tls,
            )
            log.info("bus: advertising the hub API :%d and broker :%d on %s (mDNS)", api_port, bus.url.port, advertise)
        except Exception:
            log.exception("bus: mDNS advertising on %s failed; continuing without it", advertise)
    started_at = now_iso()
    labelled: set = set()  # promotion versions whose shelf labels are queued (hub.promotions.labels)
    labels_at = 0.0
    try:
        while True:
            _beat(db, bus, started_at)
            if time.monotonic() - labels_at >= LABELS_EVERY_S:
                labels_at = time.monotonic()
                _promo_labels(db, labelled)
            if stop.wait(heartbeat.INTERVAL_S):
                break
    finally:
        if advertiser is not None:
            advertiser.close()
        bus.stop()
        try:
            with db.write() as conn:
                heartbeat.stopped(conn, heartbeat.BUS)
        except Exception:  # noqa: BLE001 - a stop must finish; health then sees the beat go stale
            log.warning("bus: could not record the stop in the heartbeat", exc_info=True)
        db.close()
        lock.close()
    return 0


def _promo_labels(db, done: set) -> None:
    """Shelf labels of promotions that have started, once per promotion version (hub.promotions.labels); a write
    transaction only when a promotion in force has not been seen through yet."""
    from hub.promotions import labels

    try:
        if all(v in done for v in labels.due(db.read())):
            return
        with db.write() as conn:
            for sent in labels.queue_due(conn, done=done):
                log.info("bus: %d shelf label(s) for promotion %s", len(sent["jobs"]), sent["promotion"])
    except Exception:  # noqa: BLE001 - a label run must never stop the bus; the next beat tries again
        log.warning("bus: promotion labels not queued", exc_info=True)


def _beat(db, bus: Bus, started_at: str) -> None:
    """One heartbeat; a busy database skips a beat rather than stopping the bus."""
    try:
        with db.write() as conn:
            heartbeat.beat(
                conn, heartbeat.BUS, started_at=started_at, details={"broker_connected": bus.connected.is_set()}
            )
    except Exception:  # noqa: BLE001 - e.g. database locked for longer than the busy timeout
        log.warning("bus: heartbeat not written", exc_info=True)
