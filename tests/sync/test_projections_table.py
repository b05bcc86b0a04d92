"""The central's ``{kind: projector}`` table agrees with the facts the hub's domains declare, and a few projectors
fold a real fact (a payload valid against its declared schema) into the expected row of a central table."""

from __future__ import annotations

from datetime import date

import jsonschema
import pytest
from sqlalchemy import select

from hub import domains
from hub.domain import Fact
from hub.protocol.timeutil import parse_iso
from sync.central import ingest, projections, stores
from sync.central import schema as t
from sync.central.db import make_engine, migrate
from sync.protocol import validate_batch

FORMATS = jsonschema.FormatChecker()


@FORMATS.checks("date-time", raises=(ValueError, TypeError))
def _date_time(value) -> bool:
    if isinstance(value, str):
        parse_iso(value)
    return True


def table_problems(facts: dict[str, Fact], projectors: dict[str, object]) -> list[str]:
    """Every way the projector table and the fact declarations disagree (empty when they agree)."""
    out = []
    for kind, fact in sorted(facts.items()):
        if fact.projected and kind not in projectors:
            out.append(f"{kind}: declared projected=True but has no projector")
        if not fact.projected and kind in projectors:
            out.append(f"{kind}: declared projected=False but has a projector")
    out += [f"{kind}: has a projector but no domain declares the fact" for kind in sorted(set(projectors) - set(facts))]
    return out


def test_every_projected_fact_has_a_projector_and_nothing_else_does():
    assert table_problems(domains.facts(), projections.PROJECTORS) == []


def test_the_check_catches_each_kind_of_disagreement():
    facts = domains.facts()
    table = dict(projections.PROJECTORS)
    missing = {k: v for k, v in table.items() if k != "movement"}
    assert table_problems(facts, missing) == ["movement: declared projected=True but has no projector"]
    assert table_problems(facts, {**table, "shelf.level": projections._device}) == [
        "shelf.level: declared projected=False but has a projector"
    ]
    assert table_problems(facts, {**table, "device.tilt": projections._device}) == [
        "device.tilt: has a projector but no domain declares the fact"
    ]


def test_a_kind_without_a_projector_folds_to_nothing():
    f = projections.fold(
        [
            {
                "seq": 1,
                "kind": "shelf.level",
                "ts": "2026-11-20T10:00:00.000Z",
                "payload": {
                    "device_id": "shelf-1",
                    "item_id": None,
                    "location_id": None,
                    "grams": 1.5,
                    "units": None,
                    "level": "unbound",
                    "ts": "2026-11-20T10:00:00.000Z",
                },
            }
        ]
    )
    assert not any((f.stock, f.daily, f.items, f.locations, f.orders, f.devices, f.alerts, f.counts))


TS = "2026-11-20T23:30:00.000Z"  # 07:30 on the 21st in Asia/Shanghai

REAL = [
    (
        "location.upsert",
        {
            "id": "l1",
            "code": "B1",
            "name": "Bin 1",
            "kind": "bin",
            "parent_id": "l0",
            "walk_seq": 3,
            "created_at": TS,
            "label": "B1",
        },
    ),
    (
        "item.upsert",
        {
            "id": "i1",
            "sku": "MILK",
            "name_en": "Milk",
            "name_zh": "牛奶",
            "brand": "",
            "category": "dairy",
            "unit": "each",
            "price_minor": 1250,
            "cost_minor": 800,
            "variable_measure": False,
            "plu": None,
            "safety_stock": 2,
            "reorder_point": 20,
            "unit_weight_g": None,
            "active": True,
            "created_at": TS,
            "updated_at": TS,
            "gtins": ["05901234123457"],
        },
    ),
    (
        "movement",
        {
            "seq": 7,
            "id": "m1",
            "idempotency_key": "k1",
            "kind": "receive",
            "item_id": "i1",
            "location_id": "l1",
            "qty_delta": 12,
            "reserved_delta": 0,
            "reason": "delivery",
            "ref": None,
            "actor": "u1",
            "device": None,
            "ts": TS,
        },
    ),
    (
        "movement",
        {
            "seq": 8,
            "id": "m2",
            "idempotency_key": "k2",
            "kind": "sale",
            "item_id": "i1",
            "location_id": "l1",
            "qty_delta": -3,
            "reserved_delta": 0,
            "reason": "sale",
            "ref": "R-1",
            "actor": "u1",
            "device": "till-1",
            "ts": TS,
        },
    ),
    (
        "order.status",
        {
            "order_id": "o1",
            "ref": "A-1",
            "from": "picked",
            "to": "ready",
            "actor": "u1",
            "ts": "2026-11-20T09:20:00.000Z",
        },
    ),
    ("order.cancelled", {"order_id": "o2", "ref": "A-2", "reason": "customer", "refund_due_minor": 0}),
    ("device.info", {"device_id": "scale-1", "kind": "scale", "model": "S1", "firmware": "1.2"}),
    ("device.status", {"device_id": "scale-1", "status": "offline"}),
    (
        "alert.raised",
        {
            "id": "al1",
            "kind": "device_offline",
            "subject": "scale-1",
            "severity": "critical",
            "message": "scale-1 is offline",
            "details": None,
        },
    ),
    ("alert.cleared", {"id": "al1", "kind": "device_offline", "subject": "scale-1"}),
]


@pytest.fixture
def engine(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    migrate(eng)
    stores.add_store(eng, "s1", "Store 1", secret="shs_test-secret-1")
    yield eng
    eng.dispose()


def test_real_facts_fold_into_the_expected_rows(engine):
    facts = domains.facts()
    events = []
    for seq, (kind, payload) in enumerate(REAL, start=1):
        jsonschema.Draft202012Validator(facts[kind].schema, format_checker=FORMATS).validate(payload)
        assert kind in projections.PROJECTORS
        events.append({"seq": seq, "id": f"e{seq}", "kind": kind, "ts": "2026-11-20T23:40:00.000Z", "payload": payload})
    batch = validate_batch({"store_id": "s1", "after": 0, "through": len(events), "events": events}, "s1")
    ack = ingest.apply_batch(
        engine, "s1", batch, now=parse_iso("2026-11-21T00:00:00.000Z"), timezone_name="Asia/Shanghai"
    )
    assert ack["acked_through"] == len(events) and not ack["rejected"]
    with engine.connect() as c:

        def rows(table, *cols):
            return [
                tuple(r) for r in c.execute(select(*(table.c[n] for n in cols)).order_by(*(table.c[n] for n in cols)))
            ]

        assert rows(t.stock, "item_id", "location_id", "on_hand", "reserved") == [("i1", "l1", 9, 0)]
        # the store's local day (Asia/Shanghai), from the event's time
        assert rows(t.daily_movements, "day", "item_id", "kind", "lines", "qty", "abs_qty") == [
            (date(2026, 11, 21), "i1", "receive", 1, 12, 12),
            (date(2026, 11, 21), "i1", "sale", 1, -3, 3),
        ]
        assert rows(t.store_items, "item_id", "sku", "category", "price_minor", "reorder_point", "seq") == [
            ("i1", "MILK", "dairy", 1250, 20, 2)
        ]
        assert rows(t.store_locations, "location_id", "code", "kind") == [("l1", "B1", "bin")]
        assert rows(t.order_status, "order_id", "status", "first_ts") == [
            ("o1", "ready", "2026-11-20T09:20:00.000Z"),
            ("o2", "cancelled", "2026-11-20T23:40:00.000Z"),
        ]
        assert rows(t.devices, "device_id", "device_kind", "online", "last_event") == [
            ("scale-1", "scale", False, "device.status")
        ]
        assert rows(t.alerts, "alert_id", "severity", "cleared_ts") == [("al1", "critical", "2026-11-20T23:40:00.000Z")]


def test_count_approved_folds_into_a_count_session():
    payload = {
        "session_id": "cs1",
        "approved_by": "u1",
        "ts": "2026-11-21T08:00:00.000Z",
        "totals": {
            "lines": 40,
            "lines_exact": 36,
            "lines_with_variance": 4,
            "lines_uncounted_zeroed": 0,
            "lines_excluded": 0,
            "lines_mixed": 0,
            "expected_units": 500,
            "counted_units": 490,
            "net_variance_units": -10,
            "abs_variance_units": 12,
            "shrink_cost_minor": -4200,
            "gain_cost_minor": 300,
            "net_variance_cost_minor": -3900,
            "expected_cost_minor": 100000,
            "line_accuracy_pct": 90.0,
            "unit_accuracy_pct": 98.0,
            "value_accuracy_pct": 96.1,
            "movements": 4,
        },
    }
    jsonschema.Draft202012Validator(domains.facts()["count.approved"].schema, format_checker=FORMATS).validate(payload)
    f = projections.fold([{"seq": 1, "kind": "count.approved", "ts": "2026-11-21T08:00:01.000Z", "payload": payload}])
    assert f.counts == {
        "cs1": {
            "approved_ts": "2026-11-21T08:00:00.000Z",
            "lines": 40,
            "lines_exact": 36,
            "shrink_cost_minor": -4200,
            "gain_cost_minor": 300,
            "expected_cost_minor": 100000,
        }
    }
