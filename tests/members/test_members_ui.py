"""Browser (real Chromium): enrol a member on the handheld with consent, enrol the same phone again (found, not
duplicated), then identify them by phone and by a dynamic member code scanned into the field — and the same code
a second time (a screenshot) is refused."""

from __future__ import annotations

import pytest
import requests

from tests.support.ui import login, scan, shot

pytestmark = pytest.mark.browser


def test_enrol_and_identify_on_the_handheld(phone, hub_server):
    phone.set_default_timeout(30000)
    login(phone)
    phone.get_by_test_id("tile-members").click()
    phone.get_by_test_id("members-enrol-phone").fill("138 1234 5678")
    phone.get_by_test_id("members-enrol-name").fill("王小明")
    phone.get_by_test_id("members-enrol-go").click()  # no consent yet: refused on the device
    phone.wait_for_selector("text=Ask the customer to agree to the terms first")
    phone.get_by_test_id("members-enrol-consent").check()
    phone.get_by_test_id("members-enrol-go").click()
    phone.wait_for_selector("[data-testid='members-enrolled']")
    assert "new member" in phone.get_by_test_id("members-enrolled").inner_text()
    assert phone.get_by_test_id("members-phone").inner_text() == "138****5678"
    card = phone.get_by_test_id("members-card-no").inner_text()
    shot(phone, "members-01-enrolled")

    phone.get_by_test_id("members-enrol-phone").fill("+86 138-1234-5678")  # the same phone typed another way
    phone.get_by_test_id("members-enrol-consent").check()
    phone.get_by_test_id("members-enrol-go").click()
    phone.wait_for_selector("text=Already a member")
    assert phone.get_by_test_id("members-card-no").inner_text() == card

    phone.get_by_test_id("members-q").fill("13812345678")
    phone.get_by_test_id("members-find-go").click()
    phone.wait_for_function(
        "document.querySelector('[data-testid=members-card-no]')"
        " && !document.querySelector('[data-testid=members-enrolled]')"
    )
    assert phone.get_by_test_id("members-tier").inner_text() == "Standard"
    assert phone.get_by_test_id("members-points").inner_text() == "0"

    api = hub_server.url + "/api/v1"
    token = requests.post(f"{api}/auth/login", json={"user": "associate", "pin": "1111"}, timeout=30).json()["token"]
    hdr = {"Authorization": f"Bearer {token}"}
    member = requests.post(f"{api}/members/identify", json={"phone": "13812345678"}, headers=hdr, timeout=30).json()
    code = requests.post(f"{api}/members/{member['id']}/code", headers=hdr, timeout=30).json()["code"]
    phone.get_by_test_id("members-result").evaluate("el => el.replaceChildren()")
    phone.get_by_test_id("members-q").click()
    scan(phone, code)  # the member's phone screen, scanned
    phone.wait_for_selector("[data-testid='members-card-no']")
    assert phone.get_by_test_id("members-card-no").inner_text() == card
    shot(phone, "members-02-identified-by-code")
    phone.get_by_test_id("members-q").click()
    scan(phone, code)  # the same code again: a screenshot
    phone.wait_for_selector("[data-testid='members-error']")
    assert "already used" in phone.get_by_test_id("members-error").inner_text()
