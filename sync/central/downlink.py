"""Centrally authored changes that flow down to hubs.

Every change gets the next ``version`` from the single ``downlink_head`` row,
taken under a row lock in the same transaction that stores the change — so
versions are assigned in commit order and a hub that has read everything up to
``V`` can never later miss a change numbered below ``V`` (a plain sequence would
allow that: two transactions can commit out of number order).

Kinds (``key`` in brackets):
  item [sku]           full item, validated with the hub's own ``catalog.validate_item``
  setting [key]        ``{"value": ...}``
  user [username]      role, display name, language, scrypt hashes of PIN/password, active
  promotion [id]       the head-office format of docs/promotions.md, checked by ``hub.promotions.validation``
  policy [overrides]   what stores may override locally (see docs/sync.md)
  forecast [item id]   demand per day for one store's item, written by the forecasting job only
                       (sync/central/forecast.py ``publish``; not authored through ``author``)
  transfer [id:stage]  a transfer between stores: proposed by head office (to the sender), shipped (to the
                       receiver), received (back to the sender), relayed by sync/central/transfers.py
Scope ``*`` reaches every store, otherwise the one store named."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Engine

from hub import domains as hub_domains
from hub.auth.users import LANGUAGES, ROLES, hash_secret, validate_password, validate_pin
from hub.inventory import catalog
from hub.kernel.errors import ValidationError
from hub.promotions import coupons as coupon_codes
from hub.promotions.validation import parse_promotion
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso
from sync.central import personal
from sync.central import schema as t

KINDS = ("item", "setting", "user", "promotion", "policy", "transfer", "coupon")
DEFAULT_POLICY = {
    "item_fields": ["price_minor", "safety_stock", "reorder_point"],
    "settings": ["store_name", "language", "gs_substitute", "rcn_layouts"],
}
OVERRIDABLE_ITEM_FIELDS = {"price_minor", "safety_stock", "reorder_point", "active", "name_zh", "name_en"}
PROTECTED_SETTINGS = {"store_id"}


def _latest(conn, kind: str, key: str, scope: str | None = None):
    q = select(t.downlink_changes).where(t.downlink_changes.c.kind == kind, t.downlink_changes.c.key == key)
    if scope is not None:
        q = q.where(t.downlink_changes.c.scope == scope)
    return conn.execute(q.order_by(t.downlink_changes.c.version.desc()).limit(1)).mappings().first()


def validate(kind: str, key: str, payload: dict[str, Any], conn=None) -> tuple[str, dict[str, Any]]:
    """Check a change; returns (key, payload) to store."""
    if kind not in KINDS:
        raise ValidationError(f"kind must be one of {', '.join(KINDS)}", code="invalid_kind")
    if not isinstance(payload, dict):
        raise ValidationError("payload must be an object")
    if kind == "item":
        clean = catalog.validate_item(payload)
        prior = _latest(conn, "item", clean["sku"]) if conn is not None else None
        clean["id"] = payload.get("id") or (prior["payload"]["id"] if prior else new_id())
        return clean["sku"], clean
    if kind == "setting":
        if not key or key in PROTECTED_SETTINGS or "value" not in payload:
            raise ValidationError("a setting needs a key (not store_id) and a value", code="invalid_setting")
        hub_domains.validate_setting(key, payload["value"])
        return key, {"value": payload["value"]}
    if kind == "user":
        username = (payload.get("username") or key or "").strip()
        role = payload.get("role")
        if not username or role not in ROLES or payload.get("language", "en") not in LANGUAGES:
            raise ValidationError("a user needs username, role and a known language", code="invalid_user")
        out = {
            "username": username,
            "role": role,
            "display_name": payload.get("display_name") or username,
            "language": payload.get("language", "en"),
            "active": bool(payload.get("active", True)),
        }
        prior = _latest(conn, "user", username) if conn is not None else None
        out["id"] = payload.get("id") or (prior["payload"]["id"] if prior else new_id())
        _encrypt_user_name(conn, username, out)
        for plain, hashed, check in (
            ("pin", "pin_hash", validate_pin),
            ("password", "password_hash", validate_password),
        ):
            if payload.get(plain) is not None:
                out[hashed] = hash_secret(check(payload[plain]))
            elif payload.get(hashed):
                out[hashed] = payload[hashed]
            elif prior and prior["payload"].get(hashed):
                out[hashed] = prior["payload"][hashed]
        if role in ("manager", "admin") and not out.get("password_hash"):
            raise ValidationError(f"a {role} needs a password", code="password_required")
        if not out.get("pin_hash") and not out.get("password_hash"):
            raise ValidationError("give a PIN or a password", code="no_credential")
        return username, out
    if kind == "promotion":
        # the hubs' own validator (docs/promotions.md): what it refuses, no hub could price
        pid = str(payload.get("id") or key or "").strip()
        clean = {**payload, "id": pid}
        parse_promotion(clean)
        return pid, clean
    if kind == "transfer":
        return _transfer(payload)
    if kind == "coupon":  # a batch of single-use codes (sync/central/coupons.py)
        return _coupon_batch(payload)
    # policy
    fields = payload.get("item_fields", [])
    sets = payload.get("settings", [])
    if (
        not isinstance(fields, list)
        or set(fields) - OVERRIDABLE_ITEM_FIELDS
        or not isinstance(sets, list)
        or set(sets) & PROTECTED_SETTINGS
    ):
        raise ValidationError(
            f"item_fields must be a subset of {sorted(OVERRIDABLE_ITEM_FIELDS)}; settings a list (never store_id)",
            code="invalid_policy",
        )
    return "overrides", {"item_fields": sorted(set(fields)), "settings": sorted(set(sets))}


MAX_COUPON_BATCH = 10_000


def _coupon_batch(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A batch of coupon codes (sync/central/coupons.py issues them): ``{batch_id, promotion_id, member_id,
    offline, issuer_store, codes}``; its key is the batch id. Every code is checked as the hubs check it."""
    batch_id, pid, got = payload.get("batch_id"), payload.get("promotion_id"), payload.get("codes")
    if not batch_id or not pid or not isinstance(got, list) or not got or len(got) > MAX_COUPON_BATCH:
        raise ValidationError("a coupon batch names its id, promotion and codes", code="invalid_coupon_batch")
    return str(batch_id), {**payload, "codes": [coupon_codes.well_formed(c) for c in got]}


def _transfer(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A transfer between stores (sync/central/transfers.py): ``{"stage": "proposed"|"shipped"|"received", "transfer": {id,
    from_store, to_store, lines: [{line_no, item_id, sku, qty, ...}]}}``; its key is ``<id>:<stage>``."""
    stage = payload.get("stage")
    doc = payload.get("transfer")
    if stage not in ("proposed", "shipped", "received") or not isinstance(doc, dict):
        raise ValidationError("a transfer change needs a stage and a transfer", code="invalid_transfer")
    lines = doc.get("lines")
    if (
        not doc.get("id")
        or not doc.get("from_store")
        or not doc.get("to_store")
        or doc["from_store"] == doc["to_store"]
        or not isinstance(lines, list)
        or not lines
        or any(not isinstance(ln, dict) or not ln.get("sku") or not isinstance(ln.get("qty"), int) for ln in lines)
        or any(ln["qty"] <= 0 for ln in lines)
    ):
        raise ValidationError(
            "a transfer names its id, two different stores and lines with sku and qty", code="invalid_transfer"
        )
    return f"{doc['id']}:{stage}", {"stage": stage, "transfer": doc}


def author(
    engine: Engine,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str = "",
    scope: str = "*",
    author: str = "system:central",
) -> dict[str, Any]:
    """Store one change; returns it with its version."""
    with engine.begin() as conn:
        if (
            scope != "*"
            and conn.execute(select(t.stores.c.store_id).where(t.stores.c.store_id == scope)).first() is None
        ):
            raise ValidationError(f"no store {scope}", code="unknown_store")
        key, clean = validate(kind, key, payload, conn)
        head = conn.execute(
            select(t.downlink_head.c.version).where(t.downlink_head.c.id == 1).with_for_update()
        ).scalar()
        version = head + 1
        conn.execute(update(t.downlink_head).where(t.downlink_head.c.id == 1).values(version=version))
        row = {
            "version": version,
            "scope": scope,
            "kind": kind,
            "key": key,
            "payload": clean,
            "author": author,
            "created_at": now_iso(),
        }
        conn.execute(t.downlink_changes.insert().values(**row))
    return row


def changes_for(engine: Engine, store_id: str, after: int, limit: int = 500) -> dict[str, Any]:
    with engine.connect() as conn:
        c = t.downlink_changes.c
        # Head first: every version <= head is committed (head moves in the same transaction).
        latest = conn.execute(select(t.downlink_head.c.version).where(t.downlink_head.c.id == 1)).scalar() or 0
        rows = (
            conn.execute(
                select(c.version, c.kind, c.key, c.payload, c.scope)
                .where(c.version > after, c.version <= latest, or_(c.scope == "*", c.scope == store_id))
                .order_by(c.version)
                .limit(limit)
            )
            .mappings()
            .all()
        )
    changes = [dict(r) for r in rows]
    _open_user_names(engine, changes)
    # When nothing more is visible to this store, let it jump to the head so it reports the version it runs.
    upto = changes[-1]["version"] if len(changes) == limit else latest
    return {"changes": changes, "through": upto, "latest": latest}


def report_applied(engine: Engine, store_id: str, version: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(t.stores)
            .where(t.stores.c.store_id == store_id)
            .values(downlink_version=version, downlink_reported_at=now_iso())
        )


def current_policy(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        r = _latest(conn, "policy", "overrides", "*")
    return r["payload"] if r else dict(DEFAULT_POLICY)


def head(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.max(t.downlink_head.c.version))).scalar() or 0


# --- staff names authored at head office: encrypted at rest in downlink_changes (issue 20) ---------------------------
# A user change is kept with ``display_name_ct`` (the central's key ring, hub.kernel.pii, keys in the central's data
# directory) instead of the name; a page opens it for the store that reads it (over TLS), and the hub encrypts it
# under its own key as it applies it. A central without a key directory (a bare test engine) keeps the name as is.


def _encrypt_user_name(conn, username: str, out: dict[str, Any]) -> None:
    d = personal.key_dir(conn) if conn is not None else None
    if d is None:
        return
    name = out.pop("display_name")
    out["display_name_ct"] = personal.ring(d).encrypt(name, context=f"{personal.USER_NAME_CONTEXT}|{username}")


def _open_user_names(engine: Engine, changes: list[dict[str, Any]]) -> None:
    d = personal.key_dir_of(engine)
    for ch in changes:
        p = ch["payload"]
        if ch["kind"] != "user" or not isinstance(p, dict) or "display_name_ct" not in p:
            continue
        if d is None:
            raise RuntimeError("a user change holds an encrypted name but this central has no key directory")
        q = {k: v for k, v in p.items() if k != "display_name_ct"}
        q["display_name"] = personal.ring(d).decrypt(
            p["display_name_ct"], context=f"{personal.USER_NAME_CONTEXT}|{ch['key']}"
        )
        ch["payload"] = q
