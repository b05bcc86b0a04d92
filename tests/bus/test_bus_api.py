"""The bus's domain effects (applied through Bus.apply_batch, the path every MQTT message takes)
and the HTTP API over them: registry, dead letters, alerts, shelf sensors, scans, commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hub.bus import commands, shelf
from hub.bus.writer import Bus, _Msg
from hub.protocol import contract

STORE = "test-store"


@pytest.fixture
def bus(hubctx):
    return Bus(hubctx.db, "mqtt://127.0.0.1:1", store_id=STORE)  # never connects: we feed messages directly


def feed(bus, *msgs):
    bus.apply_batch(
        [
            _Msg(t, p if isinstance(p, bytes) else contract.encode(p), i + 1, 1, False, 0)
            for i, (t, p) in enumerate(msgs)
        ]
    )


def ev_topic(dev, t):
    return contract.event_topic(STORE, dev, t)


def test_device_list_shape_and_registry(bus, client, auth):
    feed(
        bus,
        (contract.status_topic(STORE, "scale-1"), b"online"),
        (contract.info_topic(STORE, "scale-1"), contract.make_info("scale", "MT Ariva", "2.1", ["weigh", "tare"])),
        (ev_topic("scale-1", "weight"), contract.make_event("weight", grams=1234, stable=True, net=False)),
        (ev_topic("scale-1", "weight"), contract.make_event("weight", grams=1300, stable=False)),
    )
    r = client.get("/api/v1/devices", headers=auth("associate"))
    assert r.status_code == 200
    body = r.get_json()
    assert body["total"] == 1 and set(body) >= {"items", "total", "limit", "offset"}
    d = body["items"][0]
    assert d["id"] == "scale-1" and d["kind"] == "scale" and d["online"] is True and d["last_seen"]
    assert d["model"] == "MT Ariva" and d["firmware"] == "2.1" and d["events_total"] == 2
    one = client.get("/api/v1/devices/scale-1", headers=auth("associate")).get_json()
    assert one["weight"]["grams"] == 1234  # the motion reading is not a stable weight
    assert one["event_counts"] == {"weight": 2}
    assert client.get("/api/v1/devices/nope-1", headers=auth("associate")).status_code == 404
    assert client.application.test_client().get("/api/v1/devices").status_code == 401


BAD = [
    (ev_topic("scanner-1", "scan"), b"{not json", "malformed JSON"),
    (
        ev_topic("scanner-1", "scan"),
        contract.encode({"id": "x1", "ts": "2026-01-01T00:00:00Z", "code": 5}),
        "not of type",
    ),
    (ev_topic("scanner-1", "scan"), contract.encode({"code": "123"}), "required"),
    ("storehub/test-store/dev/Bad_Device/evt/scan", b"{}", "bad device id"),
    ("storehub/test-store/dev/scanner-1/evt/teleport", b"{}", "unknown event type"),
    ("storehub/test-store/dev/scanner-1/whatever", b"{}", "unknown channel"),
    (contract.status_topic(STORE, "scanner-1"), b"maybe", "status must be"),
    (ev_topic("scanner-1", "scan"), b"\xff\xfe\x00binary", "not UTF-8"),
    ("storehub/other-store/dev/scanner-1/evt/scan", b"{}", "belongs to store"),
    (
        contract.result_topic(STORE, "scanner-1"),
        contract.encode({"request_id": "r-unknown", "ok": True}),
        "unknown request_id",
    ),
]


def test_bad_messages_are_dead_lettered_with_reasons(bus, client, auth, hubctx):
    good = contract.make_event("scan", code="12345670")
    feed(bus, *[(t, p) for t, p, _ in BAD], (ev_topic("scanner-1", "scan"), good))
    r = client.get("/api/v1/dead-letters?limit=50", headers=auth("supervisor"))
    assert r.status_code == 200
    body = r.get_json()
    assert body["total"] == len(BAD)
    reasons = [i["reason"] for i in reversed(body["items"])]
    for (_t, _p, want), got in zip(BAD, reasons):
        assert want in got, (want, got)
    binary = [i for i in body["items"] if i["payload_b64"]]
    assert len(binary) == 1 and binary[0]["payload_text"] is None
    by_dev = {x["device_id"]: x["count"] for x in body["by_device"]}
    assert by_dev["scanner-1"] == 8  # bad id / foreign store ones name no device of ours
    dev = client.get("/api/v1/devices/scanner-1", headers=auth("associate")).get_json()
    assert dev["rejected_total"] == 8 and dev["events_total"] == 1
    assert client.get("/api/v1/dead-letters", headers=auth("associate")).status_code == 403


def test_scan_is_stored_and_resolved_through_hub_scan(bus, sample, client, auth):
    e1 = contract.make_event("scan", code="5901234123457", symbology="ean13")
    e2 = contract.make_event("scan", code="0000000000017")
    feed(
        bus,
        (ev_topic("scanner-2", "scan"), e1),
        (ev_topic("scanner-2", "scan"), e2),
        (ev_topic("scanner-2", "scan"), e1),
    )
    rows = client.get("/api/v1/device-scans?device_id=scanner-2", headers=auth("associate")).get_json()["items"]
    assert len(rows) == 2
    by_code = {r["code"]: r for r in rows}
    assert by_code["5901234123457"]["item_id"] == sample["milk"]["id"]
    assert by_code["5901234123457"]["resolution"]["kind"] == "item"
    assert by_code["0000000000017"]["item_id"] is None and by_code["0000000000017"]["resolution"]["error"]


def test_shelf_sensor_units_and_alerts(bus, sample, client, auth, hubctx):
    milk = sample["milk"]  # unit_weight_g 1030
    h = auth("supervisor")
    r = client.put(
        "/api/v1/devices/shelf-a1/shelf-binding",
        headers=h,
        json={"item_id": sample["rice"]["id"], "location_id": sample["bin1"]["id"]},
    )
    assert r.status_code == 422  # rice has no unit weight
    r = client.put(
        "/api/v1/devices/shelf-a1/shelf-binding",
        headers=h,
        json={"item_id": milk["id"], "location_id": sample["bin1"]["id"], "low_units": 2, "tare_grams": 40},
    )
    assert r.status_code == 200, r.get_json()
    # readings from an hour ago (inside the contract's window around now, whatever day the suite runs)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    ts = [(base + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(6)]
    feed(bus, (ev_topic("shelf-a1", "shelf"), contract.make_event("shelf", grams=40 + 1030 * 6 + 12.5, ts=ts[0])))
    assert shelf.get_binding(hubctx.db.read(), "shelf-a1")["units"] == 6
    assert client.get("/api/v1/alerts", headers=h).get_json()["total"] == 0
    feed(bus, (ev_topic("shelf-a1", "shelf"), contract.make_event("shelf", grams=40 + 1030 * 2 - 30, ts=ts[1])))
    al = client.get("/api/v1/alerts", headers=h).get_json()["items"]
    assert [a["kind"] for a in al] == ["low_stock"] and al[0]["details"]["units"] == 2
    feed(bus, (ev_topic("shelf-a1", "shelf"), contract.make_event("shelf", grams=55.0, ts=ts[2])))
    al = client.get("/api/v1/alerts", headers=h).get_json()["items"]
    assert [a["kind"] for a in al] == ["empty_shelf"]
    # a late, older reading does not override the newer one
    feed(bus, (ev_topic("shelf-a1", "shelf"), contract.make_event("shelf", grams=9000.0, ts=ts[0])))
    assert shelf.get_binding(hubctx.db.read(), "shelf-a1")["level"] == "empty"
    # ...nor does one sent with another UTC offset: 18:00:01+08:00 is 10:00:01Z, older than ts[2]
    late = contract.make_event(
        "shelf", grams=9000.0, ts=(base + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=8))).isoformat()
    )
    feed(bus, (ev_topic("shelf-a1", "shelf"), late))
    assert shelf.get_binding(hubctx.db.read(), "shelf-a1")["level"] == "empty"
    assert hubctx.db.read().execute(
        "SELECT ts FROM device_events_processed WHERE event_id = ?", (late["id"],)
    ).fetchone()[0] == ts[1].replace("Z", ".000Z")
    feed(bus, (ev_topic("shelf-a1", "shelf"), contract.make_event("shelf", grams=40 + 1030 * 8, ts=ts[3])))
    assert client.get("/api/v1/alerts", headers=h).get_json()["total"] == 0
    closed = client.get("/api/v1/alerts?open=false", headers=h).get_json()["items"]
    assert sorted(a["kind"] for a in closed) == ["empty_shelf", "low_stock"] and all(a["cleared_at"] for a in closed)
    shelves = client.get("/api/v1/shelves", headers=h).get_json()["items"]
    assert shelves[0]["units"] == 8 and shelves[0]["sku"] == "MILK-1L"
    kinds = [r[0] for r in hubctx.db.read().execute("SELECT kind FROM outbox WHERE kind LIKE 'alert.%' ORDER BY seq")]
    assert kinds == ["alert.raised", "alert.cleared", "alert.raised", "alert.cleared"]
    assert shelf.units_for(0, 1030) == 0 and shelf.units_for(514, 1030) == 0 and shelf.units_for(516, 1030) == 1


def test_device_health_alerts_and_offline(bus, client, auth):
    feed(
        bus,
        (contract.status_topic(STORE, "printer-1"), b"online"),
        (ev_topic("printer-1", "state"), contract.make_event("state", paper="out")),
    )
    kinds = {a["kind"] for a in client.get("/api/v1/alerts", headers=auth("supervisor")).get_json()["items"]}
    assert kinds == {"paper_out"}
    feed(
        bus,
        (ev_topic("printer-1", "state"), contract.make_event("state", paper="ok", error="cover open")),
        (contract.status_topic(STORE, "printer-1"), b"offline"),
    )
    kinds = {a["kind"] for a in client.get("/api/v1/alerts", headers=auth("supervisor")).get_json()["items"]}
    assert kinds == {"device_error", "device_offline"}
    d = client.get("/api/v1/devices/printer-1", headers=auth("associate")).get_json()
    assert d["online"] is False and d["paper"] == "ok" and d["error"] == "cover open"
    feed(bus, (contract.status_topic(STORE, "printer-1"), b"online"))
    kinds = {a["kind"] for a in client.get("/api/v1/alerts", headers=auth("supervisor")).get_json()["items"]}
    assert kinds == {"device_error"}


def test_silence_alert(bus, hubctx):
    from hub.bus import registry

    feed(bus, (contract.status_topic(STORE, "shelf-b2"), b"online"))
    with hubctx.db.write() as conn:
        conn.execute("UPDATE devices SET kind='shelf', last_seen='2020-01-01T00:00:00.000Z' WHERE id='shelf-b2'")
        assert registry.check_silence(conn, "2020-01-01T00:10:00.000Z") == ["shelf-b2"]
        assert registry.check_silence(conn, "2020-01-01T00:20:00.000Z") == []  # already open
    feed(bus, (ev_topic("shelf-b2", "shelf"), contract.make_event("shelf", grams=10)))
    open_kinds = [r[0] for r in hubctx.db.read().execute("SELECT kind FROM alerts WHERE cleared_at IS NULL")]
    assert open_kinds == []


def test_commands_api_and_results(bus, client, auth, hubctx):
    feed(bus, (contract.status_topic(STORE, "printer-2"), b"online"))
    h = auth("supervisor")
    r = client.post(
        "/api/v1/devices/printer-2/commands/print",
        headers=h,
        json={"document": {"type": "pack_label", "order": "SO-1"}},
    )
    assert r.status_code == 202, r.get_json()
    rid = r.get_json()["request_id"]
    assert client.post("/api/v1/devices/printer-2/commands/print", headers=h, json={}).status_code == 400
    assert client.post("/api/v1/devices/printer-2/commands/explode", headers=h, json={}).status_code == 400
    assert client.post("/api/v1/devices/ghost-1/commands/beep", headers=h, json={}).status_code == 404
    assert client.post("/api/v1/devices/printer-2/commands/beep", headers=auth("associate"), json={}).status_code == 403
    pend = commands.pending(hubctx.db.read())
    assert [p["request_id"] for p in pend] == [rid]
    sent = json.loads(pend[0]["payload"])
    assert sent["request_id"] == rid and sent["document"]["type"] == "pack_label"
    # a result from another device is refused, the right one stored once
    feed(bus, (contract.result_topic(STORE, "scanner-7"), contract.make_result(rid, True)))
    feed(
        bus,
        (contract.result_topic(STORE, "printer-2"), contract.make_result(rid, False, "paper out")),
        (contract.result_topic(STORE, "printer-2"), contract.make_result(rid, True)),
    )
    c = client.get(f"/api/v1/device-commands/{rid}", headers=auth("associate")).get_json()
    assert c["status"] == "failed" and c["error"] == "paper out"
    dl = client.get("/api/v1/dead-letters", headers=h).get_json()["items"]
    assert any("was sent to printer-2" in d["reason"] for d in dl)
    # send_command inside another domain's transaction, idempotent per request id
    with hubctx.db.write() as conn:
        a = commands.send_command(
            conn, "printer-2", "print", {"document": {"type": "receipt"}}, actor="orders", request_id="order-SO-9-label"
        )
        b = commands.send_command(
            conn, "printer-2", "print", {"document": {"type": "receipt"}}, actor="orders", request_id="order-SO-9-label"
        )
    assert a == b == "order-SO-9-label"


def test_handler_exception_dead_letters_only_that_event(bus, hubctx):
    from hub.bus import handlers

    def boom(conn, ev):
        if ev.payload["code"] == "BOOM":
            conn.execute(
                "INSERT INTO device_scans(event_id, device_id, code, ts, received_at) VALUES ('z','z','z','z','z')"
            )
            raise RuntimeError("kaput")
        if ev.payload["code"] == "NO":
            raise handlers.Reject("not acceptable here")

    handlers.register("scan", boom)
    try:
        feed(
            bus,
            (ev_topic("scanner-5", "scan"), contract.make_event("scan", code="OK1")),
            (ev_topic("scanner-5", "scan"), contract.make_event("scan", code="BOOM")),
            (ev_topic("scanner-5", "scan"), contract.make_event("scan", code="NO")),
            (ev_topic("scanner-5", "scan"), contract.make_event("scan", code="OK2")),
        )
    finally:
        handlers.unregister("scan", boom)
    conn = hubctx.db.read()
    assert [r[0] for r in conn.execute("SELECT code FROM device_scans ORDER BY seq")] == ["OK1", "OK2"]
    reasons = [r[0] for r in conn.execute("SELECT reason FROM dead_letters ORDER BY seq")]
    assert reasons == ["handler error: RuntimeError: kaput", "not acceptable here"]
    assert conn.execute("SELECT COUNT(*) FROM device_events_processed").fetchone()[0] == 2


def test_old_event_ids_and_dead_letters_are_pruned_after_the_redelivery_window(bus, hubctx):
    from hub.bus import registry

    ev = contract.make_event("scan", code="OLD")
    feed(bus, (ev_topic("scanner-p", "scan"), ev), (ev_topic("scanner-p", "scan"), b"junk"))
    conn = hubctx.db.read()
    with hubctx.db.write() as w:
        assert registry.prune(w, "2026-01-01T00:00:00.000Z") == {"processed": 0, "dead_letters": 0}
        far = "2099-01-01T00:00:00.000Z"
        assert registry.prune(w, far) == {"processed": 1, "dead_letters": 1}
    assert conn.execute("SELECT COUNT(*) FROM device_events_processed").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM device_scans").fetchone()[0] == 1  # the scan itself stays


def test_a_poison_message_is_isolated_and_dead_lettered(bus, hubctx, monkeypatch):
    """A message whose batch can never commit (here: the registry update always fails for one device)
    is split out and dead-lettered; the rest of its batch is applied and everything is acked."""
    from hub.bus import registry, writer

    monkeypatch.setattr(writer, "POISON_ATTEMPTS", 2)
    real_touch = registry.touch_many

    def touch(conn, activity, now):
        if "poison-1" in activity:
            raise RuntimeError("disk says no")
        return real_touch(conn, activity, now)

    monkeypatch.setattr(registry, "touch_many", touch)
    acked = []
    monkeypatch.setattr(bus, "_ack", lambda batch: acked.extend(m.mid for m in batch))
    msgs = [
        _Msg(ev_topic("scanner-ok", "scan"), contract.encode(contract.make_event("scan", code="A")), 1, 1, False, 0),
        _Msg(ev_topic("poison-1", "scan"), contract.encode(contract.make_event("scan", code="P")), 2, 1, False, 0),
        _Msg(ev_topic("scanner-ok", "scan"), contract.encode(contract.make_event("scan", code="B")), 3, 1, False, 0),
    ]
    bus._commit_with_retry(msgs)
    conn = hubctx.db.read()
    assert [r[0] for r in conn.execute("SELECT code FROM device_scans ORDER BY seq")] == ["A", "B"]
    reasons = [r[0] for r in conn.execute("SELECT reason FROM dead_letters")]
    assert reasons == ["could not be applied: RuntimeError: disk says no"]
    assert sorted(acked) == [1, 2, 3]
