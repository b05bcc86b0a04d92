"""The thin HTTP adapter of coupon reservation (docs/coupons.md): one call to the central's
``POST /sync/v1/stores/<store>/coupons/reserve`` with the store's sync credential, a short timeout, idempotent by
sale id. It returns the central's answer (``{"status": "reserved" | "refused", ...}``) for
:func:`hub.promotions.coupons.decide`, or None when the central cannot be reached — the hub is offline and the
offline rules apply. No decision is taken here."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import requests

from hub.synclink import state

log = logging.getLogger("storehub.coupons")

TIMEOUT_S = 2.0  # a cashier waits for this at most; then the offline rules decide
STORE_HEADER = "X-StoreHub-Store"  # sync.protocol.STORE_HEADER (the hub does not import sync)


def reserve(
    data_dir: Path | str,
    code: str,
    sale_id: str,
    discount_minor: int,
    *,
    member_id: str | None = None,
    timeout_s: float = TIMEOUT_S,
    session: requests.Session | None = None,
) -> dict[str, Any] | None:
    """The central's answer, or None (no credential: never synced; unreachable, timed out or a server error)."""
    cred = state.read_credentials(Path(data_dir))
    if not cred:
        return None
    http = session or requests
    try:
        r = http.post(
            f"{cred['central_url']}/sync/v1/stores/{cred['store_id']}/coupons/reserve",
            json={"code": code, "sale_id": sale_id, "discount_minor": int(discount_minor), "member_id": member_id},
            headers={"Authorization": f"Bearer {cred['secret']}", STORE_HEADER: cred["store_id"]},
            timeout=timeout_s,
            verify=cred.get("ca_bundle") or True,
        )
    except requests.RequestException as exc:
        log.warning("coupon %s: central unreachable (%s): offline rules", code, type(exc).__name__)
        return None
    if r.status_code != 200:
        log.warning("coupon %s: central answered HTTP %s: offline rules", code, r.status_code)
        return None
    body = r.json()
    return body if isinstance(body, dict) and body.get("status") in ("reserved", "refused") else None


def release(data_dir: Path | str, code: str, sale_id: str, *, timeout_s: float = TIMEOUT_S) -> dict[str, Any] | None:
    """Give back the reservation held under ``sale_id`` (the cart); None when the central cannot be reached (the
    code then stays held at head office until someone releases it there)."""
    cred = state.read_credentials(Path(data_dir))
    if not cred:
        return None
    try:
        r = requests.post(
            f"{cred['central_url']}/sync/v1/stores/{cred['store_id']}/coupons/release",
            json={"code": code, "sale_id": sale_id},
            headers={"Authorization": f"Bearer {cred['secret']}", STORE_HEADER: cred["store_id"]},
            timeout=timeout_s,
            verify=cred.get("ca_bundle") or True,
        )
    except requests.RequestException as exc:
        log.warning("coupon %s: release not sent (%s)", code, type(exc).__name__)
        return None
    return r.json() if r.status_code == 200 else None
