"""The handheld Devices screen (supervisors): devices, alerts, rejected messages, a command."""

from __future__ import annotations

import pytest

from hub.bus import commands
from hub.bus.writer import Bus, _Msg
from hub.protocol import contract
from tests.handheld.test_ui_a11y import _audit  # the shell's contrast / names / target-size audit
from tests.support.ui import login, shot

pytestmark = pytest.mark.browser
STORE = "test-store"


def _feed(db, *msgs):
    Bus(db, "mqtt://127.0.0.1:1", store_id=STORE).apply_batch(
        [_Msg(t, p if isinstance(p, bytes) else contract.encode(p), i, 1, False, 0) for i, (t, p) in enumerate(msgs)]
    )


def test_devices_screen_lists_devices_alerts_and_sends_a_command(phone, hub_server):
    db = hub_server.db
    _feed(
        db,
        (contract.status_topic(STORE, "scale-1"), b"online"),
        (contract.info_topic(STORE, "scale-1"), contract.make_info("scale", "Ariva-S", "2.1")),
        (contract.event_topic(STORE, "scale-1", "weight"), contract.make_event("weight", grams=1250, stable=True)),
        (contract.status_topic(STORE, "printer-1"), b"online"),
        (contract.status_topic(STORE, "printer-1"), b"offline"),
        (contract.event_topic(STORE, "scale-1", "weight"), b"{broken"),
    )
    login(phone, "supervisor", "2222")
    phone.goto("/#/devices")
    rows = phone.locator('[data-testid="device-row"]')
    rows.first.wait_for()
    assert rows.count() == 2
    assert phone.locator('[data-device="scale-1"]').get_attribute("data-online") == "1"
    assert phone.locator('[data-device="printer-1"]').get_attribute("data-online") == "0"
    assert phone.locator('[data-testid="device-alert"][data-kind="device_offline"]').count() == 1
    assert "malformed JSON" in phone.locator('[data-testid="dead-letter"]').first.inner_text()
    _audit(phone, "devices list")
    shot(phone, "devices-list")
    phone.locator('[data-device="scale-1"]').click()
    phone.locator('[data-testid="device-id"]').wait_for()
    assert "Ariva-S" in phone.locator(".kv").inner_text()
    phone.locator('[data-testid="cmd-tare"]').click()
    phone.locator('[data-testid="command-result"]').filter(has_text="request").wait_for()
    pend = commands.pending(db.read())
    assert [(p["device_id"], p["action"]) for p in pend] == [("scale-1", "tare")]
    _audit(phone, "device detail")
    shot(phone, "devices-detail")
    assert not phone.errors, phone.errors


def test_devices_screen_is_for_supervisors(phone, hub_server):
    login(phone, "associate", "1111")
    assert phone.locator('[data-screen="devices"]').count() == 0
    phone.goto("/#/devices")
    phone.wait_for_timeout(500)
    assert phone.locator('[data-testid="device-list"]').count() == 0
