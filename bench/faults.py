"""Fault run (issue 11 "Nothing acknowledged is ever lost"): the long version of ``tests/faults/``.

1. A whole store — ``storehub serve`` (gunicorn + the bus), Mosquitto from the shipped config with provisioned
   device accounts, ``storehub sync run`` and ``storehub central serve`` on the real PostgreSQL — under a steady
   load of movements through ``POST /api/v1/movements`` (idempotency keys, retried until answered) and scan
   events from device agents, while kill -9 hits in turn the bus, the web workers, the broker (with the hub down
   and behind), the sync worker and the central, the central is cut off (SIGSTOP) for a while, and everything
   is restarted. Per fault: ``acked`` (what a client was told was accepted), ``lost``, ``duplicated``,
   ``central_equals_hub`` (harness: ``tests/support/faults.py``).
2. A fuzz run of at least ``FUZZ_PAYLOADS`` MQTT payloads, good and malformed, from the generators of
   ``tests/bus/test_bus_fuzz.py``, through a real Mosquitto into a running bus: ``crashes`` counts a bus whose
   threads died, ``mismatches`` an example whose good events were not applied exactly once or whose bad
   messages were not all dead-lettered.

Needs mosquitto and PostgreSQL (``STOREHUB_TEST_PG``, default postgresql://postgres@127.0.0.1:5432/test).
Progress goes to stderr; the last line of stdout is one JSON object."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.faults import FaultConfig, run_faults  # noqa: E402
from tests.support.sync import PgSchema  # noqa: E402

FUZZ_PAYLOADS = int(os.environ.get("STOREHUB_BENCH_FUZZ_PAYLOADS", "10000"))
PHASE_S = float(os.environ.get("STOREHUB_BENCH_FAULT_PHASE_S", "20"))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fuzz(work: Path, n_payloads: int) -> dict:
    """Hypothesis streams from tests/bus/test_bus_fuzz.py through Mosquitto into a bus, until n_payloads sent."""
    from hypothesis import HealthCheck, given, settings

    import tests.bus.test_bus_fuzz as fz
    from hub.bus.mosquitto import Mosquitto
    from hub.protocol import contract
    from tests.support.bus import Device, make_hub_db, start_bus, wait_until
    from tests.support.common import free_port

    broker = Mosquitto(free_port(), work / "fuzz-broker").start()
    db = make_hub_db(work / "fuzz-hub")
    bus = start_bus(db, broker.port)
    dev = Device("fuzzer", broker.port, will=False)
    stats = {"payloads": 0, "examples": 0, "good": 0, "bad": 0, "mismatches": 0, "generator_refused": 0}
    t0 = time.perf_counter()

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(items=fz.stream)
    def one(items):
        if stats["payloads"] >= n_payloads:
            return
        tag = f"b{next(fz._tags)}"
        try:
            device_id, msgs, good, bad = fz._materialise(items, tag)
        except contract.ContractError:  # a "good" event the contract now refuses (e.g. NUL in a code)
            stats["generator_refused"] += 1
            return
        for topic, payload in msgs:
            dev.publish(topic, payload)
        dev.flush()
        try:
            wait_until(lambda: fz._counts(db, device_id, tag) == (good, bad), 30)
        except AssertionError:
            stats["mismatches"] += 1
        stats["payloads"] += len(msgs)
        stats["examples"] += 1
        stats["good"] += good
        stats["bad"] += bad

    try:
        while stats["payloads"] < n_payloads:
            one()
            log(f"fuzz: {stats['payloads']} payloads")
        alive = bool(bus._threads) and all(t.is_alive() for t in bus._threads)
    finally:
        dev.close()
        bus.stop()
        broker.stop()
        db.close()
    return {**stats, "crashes": 0 if alive else 1, "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="storehub-bench-faults-"))
    schema = PgSchema("bfaults")
    try:
        cfg = FaultConfig(
            phase_s=PHASE_S,
            hub_down_s=max(4.0, PHASE_S / 2),
            cut_s=max(6.0, PHASE_S * 0.75),
            http_clients=4,
            agents=3,
            events_per_s=30.0,
        )
        log(f"fault run in {work}: {cfg}")
        t0 = time.perf_counter()
        report = run_faults(work / "faults", schema.url, cfg, log=log)
        fault_s = time.perf_counter() - t0
    finally:
        schema.drop()
    for r in report["rows"]:
        log(
            f"{r['fault']:32} acked {r['acked']:6} lost {r['lost']:4} duplicated {r['duplicated']:4} "
            f"central_equals_hub {r['central_equals_hub']}"
        )
    fz = fuzz(work, FUZZ_PAYLOADS)
    log(f"fuzz: {fz}")
    print(
        json.dumps(
            {
                "faults": [
                    {
                        k: r[k]
                        for k in (
                            "fault",
                            "acked",
                            "lost",
                            "duplicated",
                            "central_equals_hub",
                            "acked_movements",
                            "acked_device_events",
                            "lost_movements",
                            "lost_device_events",
                            "lost_at_central",
                            "still_held_by_agents",
                        )
                    }
                    for r in report["rows"]
                ],
                "acked": report["totals"]["acked"],
                "lost": report["totals"]["lost"],
                "duplicated": report["totals"]["duplicated"],
                "central_equals_hub": all(r["central_equals_hub"] for r in report["rows"]),
                "stock_equal": report["totals"]["stock_equal"],
                "fault_run_s": round(fault_s, 1),
                "fuzz_payloads": fz["payloads"],
                "fuzz_crashes": fz["crashes"],
                "fuzz_mismatches": fz["mismatches"],
            }
        )
    )


if __name__ == "__main__":
    main()
