"""Browser: camera scanning through BarcodeDetector (Chromium's fake camera + a detector that reads one code) and
the manual entry fallback."""

from __future__ import annotations

import pytest

from tests.support.ui import login, shot

pytestmark = pytest.mark.browser

# Desktop Chromium on Linux has no BarcodeDetector; this stands in for the platform detector with the same API.
FAKE_DETECTOR = """
window.BarcodeDetector = class {
  static async getSupportedFormats() { return ['ean_13', 'qr_code']; }
  constructor(opts) { this.formats = (opts && opts.formats) || []; this.calls = 0; }
  async detect(source) {
    if (!(source instanceof HTMLVideoElement) || !source.srcObject) throw new Error('no video');
    this.calls += 1;
    return this.calls < 3 ? [] : [{rawValue: '5901234123457', format: 'ean_13'}];
  }
};
"""


def test_camera_scan_opens_item(phone):
    phone.context.add_init_script(FAKE_DETECTOR)
    phone.context.grant_permissions(["camera"])
    login(phone)
    camera = phone.locator("#btn-camera")
    assert camera.is_visible()
    camera.click()
    phone.wait_for_selector("[data-screen='item'] [data-testid='item-name']")
    assert phone.get_by_test_id("item-name").inner_text() == "Milk 1L"
    assert phone.locator("[data-testid='camera-dialog']").count() == 0
    # the camera was released
    assert phone.evaluate("document.querySelectorAll('video').length") == 0


def test_no_detector_means_no_camera_button_and_manual_entry_works(phone):
    login(phone)
    assert not phone.locator("#btn-camera").is_visible()
    phone.get_by_test_id("manual-entry").click()
    phone.wait_for_selector("[data-testid='manual-dialog']")
    phone.get_by_test_id("manual-code").fill("96385074")
    shot(phone, "09-manual-entry")
    phone.get_by_test_id("manual-ok").click()
    phone.wait_for_selector("[data-screen='item'] [data-testid='item-name']")
    assert phone.get_by_test_id("item-name").inner_text() == "Rice 5kg"
