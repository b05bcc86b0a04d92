"""The fault suite (issue 11), short version for CI (about two minutes): under a steady load of movements
through the HTTP API and device events through Mosquitto, kill -9 the bus, the web workers, the broker (with
the hub down and behind), the sync worker and the central, cut the central for a while, restart everything
— then nothing a client was told was accepted is missing or counted twice, at the hub or at the central.

``STOREHUB_FAULTS_PHASE_S`` lengthens every phase; ``python bench/faults.py`` is the long run with a report."""

from __future__ import annotations

import json
import os

import pytest

from hub.bus.mosquitto import Mosquitto
from tests.support.faults import FaultConfig, run_faults
from tests.support.sync import PgSchema, pg_available

pytestmark = [
    pytest.mark.faults,
    pytest.mark.slow,
    pytest.mark.mqtt,
    pytest.mark.postgres,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not Mosquitto.available(), reason="mosquitto not installed"),
    pytest.mark.skipif(not pg_available(), reason="PostgreSQL not reachable"),
]

FAULTS = [
    "bus_kill9",
    "web_workers_kill9",
    "broker_kill9_hub_down_behind",
    "sync_worker_kill9",
    "central_kill9",
    "central_cut",
    "restart_everything",
]


def test_nothing_acknowledged_is_lost_or_doubled_under_faults(tmp_path):
    schema = PgSchema("faults")
    try:
        cfg = FaultConfig(phase_s=float(os.environ.get("STOREHUB_FAULTS_PHASE_S", "6")))
        report = run_faults(tmp_path, schema.url, cfg, log=lambda m: None)
    finally:
        schema.drop()
    rows = {r["fault"]: r for r in report["rows"]}
    print(json.dumps(report, indent=1))
    assert set(FAULTS) <= set(rows), rows.keys()
    for name in FAULTS:
        r = rows[name]
        assert r["acked_movements"] > 0 and r["acked_device_events"] > 0, r  # the load ran through the fault
        assert r["lost"] == 0 and r["duplicated"] == 0 and r["central_equals_hub"], r
    assert not report["totals"]["refused_movements"], report["totals"]
    assert report["totals"]["stock_equal"] and report["totals"]["all_facts_equal"], report["totals"]
