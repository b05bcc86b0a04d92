"""Applying centrally authored changes on a hub — atomically, with the override policy.

``apply_page`` runs in ONE ``db.write()`` transaction: every change of the page,
the new downlink version, an outbox fact (``sync.downlink_applied``) and an audit
entry commit together or not at all, so a crash mid-page re-applies the page from
the old version and nothing is applied twice (all changes are full-state upserts
anyway). A change the hub cannot take (e.g. a GTIN that a local item already
uses) is rolled back to its savepoint, reported up as ``sync.downlink_rejected``
and skipped; the rest of the page still applies.

Override policy: the central's ``policy/overrides`` change lists the item fields
and setting keys a store may override. A store manager sets an override through
the hub API (``set_override``); while the policy allows it, central values for
that field are remembered (``central_value``) but the local value stays. When the
policy stops allowing the field, or the override is removed, the central value is
restored."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.auth import users
from hub.inventory import catalog
from hub.kernel import audit, outbox, settings
from hub.kernel.db import Database
from hub.kernel.errors import Forbidden, NotFound, StoreHubError, ValidationError
from hub.members import downlink as member_downlink
from hub.protocol.timeutil import now_iso
from hub.purchasing import forecasts as purchasing_forecasts
from hub.synclink import state

DEFAULT_POLICY = {
    "item_fields": ["price_minor", "safety_stock", "reorder_point"],
    "settings": ["store_name", "language", "gs_substitute", "rcn_layouts"],
}
ACTOR = "system:sync"


def version(conn: sqlite3.Connection) -> int:
    return int(state.get(conn, "downlink_version", 0))


def policy(conn: sqlite3.Connection) -> dict[str, list[str]]:
    return state.get(conn, "policy", DEFAULT_POLICY)


def _overrides(conn, entity: str, key: str) -> dict[str, Any]:
    return {
        r[0]: json.loads(r[1])
        for r in conn.execute(
            "SELECT field, value FROM sync_overrides WHERE entity = ? AND entity_key = ?", (entity, key)
        )
    }


def _remember_central(conn, entity: str, key: str, field: str, value: Any) -> None:
    conn.execute(
        "UPDATE sync_overrides SET central_value = ? WHERE entity = ? AND entity_key = ? AND field = ?",
        (json.dumps(value), entity, key, field),
    )


def _apply_item(conn, p: dict[str, Any], pol: dict) -> None:
    data = {k: v for k, v in p.items() if k != "id"}
    local = (
        conn.execute("SELECT id FROM items WHERE id = ?", (p["id"],)).fetchone()
        or conn.execute("SELECT id FROM items WHERE sku = ?", (p["sku"],)).fetchone()
    )
    if local is None:
        catalog.create_item(conn, {**data, "id": p["id"]}, actor=ACTOR)
        return
    item_id = local[0]
    for field, _val in _overrides(conn, "item", item_id).items():
        if field in pol["item_fields"] and field in data:
            _remember_central(conn, "item", item_id, field, data.pop(field))
    catalog.update_item(conn, item_id, data, actor=ACTOR)


def _apply_setting(conn, key: str, value: Any, pol: dict) -> None:
    if key == "store_id":
        raise ValidationError("store_id is never set from the central")
    settings.validate(key, value)
    if key in pol["settings"] and "value" in _overrides(conn, "setting", key):
        _remember_central(conn, "setting", key, "value", value)
        return
    settings.put(conn, key, value)
    audit.log(conn, actor=ACTOR, action="setting.update", target=key, details={"value": value})


def _apply_user(conn, p: dict[str, Any]) -> None:
    row = (
        conn.execute("SELECT id FROM users WHERE id = ?", (p["id"],)).fetchone()
        or conn.execute("SELECT id FROM users WHERE username = ?", (p["username"],)).fetchone()
    )
    uid = row[0] if row is not None else p["id"]
    cols = {
        "username": p["username"],
        "display_name": users.encrypt_name(conn, uid, p["display_name"]),  # encrypted at rest (hub/auth/users.py)
        "role": p["role"],
        "language": p["language"],
        "pin_hash": p.get("pin_hash"),
        "password_hash": p.get("password_hash"),
        "active": 1 if p.get("active", True) else 0,
    }
    if row is None:
        conn.execute(
            "INSERT INTO users(id, username, display_name, role, language, pin_hash, password_hash, active, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (p["id"], *cols.values(), now_iso()),
        )
        uid, action = p["id"], "user.create"
    else:
        uid, action = row[0], "user.update"
        conn.execute(f"UPDATE users SET {', '.join(k + ' = ?' for k in cols)} WHERE id = ?", (*cols.values(), uid))
        if not cols["active"]:
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (uid,))
    outbox.record(conn, "user.upsert", users.fact(conn, uid))
    audit.log(
        conn,
        actor=ACTOR,
        action=action,
        target=uid,
        details={"username": p["username"], "role": p["role"], "active": bool(cols["active"])},
    )


def _apply_promotion(conn, p: dict[str, Any], downlink_version: int) -> None:
    """Keep the promotion as authored, one row per id (table ``central_promotions``, not a settings blob)."""
    conn.execute(
        "INSERT INTO central_promotions(id, body, downlink_version, received_at) VALUES (?,?,?,?) "
        "ON CONFLICT(id) DO UPDATE SET body = excluded.body, downlink_version = excluded.downlink_version,"
        " received_at = excluded.received_at",
        (p["id"], json.dumps(p, ensure_ascii=False), downlink_version, now_iso()),
    )
    audit.log(conn, actor=ACTOR, action="promotion.upsert", target=p["id"], details={"type": p.get("type")})


def promotions(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    """Every promotion the central has delivered, by id, as authored."""
    return {r[0]: json.loads(r[1]) for r in conn.execute("SELECT id, body FROM central_promotions ORDER BY id")}


def _apply_policy(conn, p: dict[str, Any]) -> None:
    state.put(conn, "policy", p)
    # Overrides the policy no longer allows give way to the central value.
    for entity, key, field, central in conn.execute(
        "SELECT entity, entity_key, field, central_value FROM sync_overrides"
    ).fetchall():
        allowed = field in p["item_fields"] if entity == "item" else key in p["settings"]
        if not allowed:
            _drop_override(conn, entity, key, field, central, reason="policy")


def _drop_override(conn, entity: str, key: str, field: str, central: str | None, *, reason: str, actor: str = ACTOR):
    conn.execute("DELETE FROM sync_overrides WHERE entity = ? AND entity_key = ? AND field = ?", (entity, key, field))
    if central is not None:
        value = json.loads(central)
        if entity == "item":
            catalog.update_item(conn, key, {field: value}, actor=actor)
        else:
            settings.put(conn, key, value)
    outbox.record(conn, "override.removed", {"entity": entity, "key": key, "field": field, "reason": reason})
    audit.log(
        conn,
        actor=actor,
        action="override.remove",
        target=f"{entity}:{key}",
        details={"field": field, "reason": reason, "restored": central is not None},
    )


def apply_page(db: Database, changes: list[dict[str, Any]], through: int) -> dict[str, Any]:
    """Apply one downlink page in one transaction; returns {version, applied, rejected}."""
    applied, rejected = 0, []
    with db.write() as conn:
        current = version(conn)
        if through <= current:
            return {"version": current, "applied": 0, "rejected": []}
        for ch in sorted(changes, key=lambda c: c["version"]):
            if ch["version"] <= current:
                continue
            conn.execute("SAVEPOINT dl_change")
            try:
                kind, p = ch["kind"], ch["payload"]
                if kind == "item":
                    _apply_item(conn, p, policy(conn))
                elif kind == "setting":
                    _apply_setting(conn, ch["key"], p["value"], policy(conn))
                elif kind == "user":
                    _apply_user(conn, p)
                elif kind == "promotion":
                    _apply_promotion(conn, p, ch["version"])
                elif kind == "policy":
                    _apply_policy(conn, p)
                elif kind == "member":
                    member_downlink.apply(conn, p, ch["version"])
                elif kind == "forecast":
                    purchasing_forecasts.apply(conn, p, ch["version"])
                elif kind == "transfer":
                    from hub.purchasing import transfers  # a transfer between stores relayed by the central

                    transfers.apply_downlink(conn, p)
                elif kind == "coupon":
                    from hub.promotions import coupons  # a batch of single-use coupon codes

                    coupons.apply_downlink(conn, p)
                else:
                    raise ValidationError(f"unknown downlink kind {kind!r}")
                conn.execute("RELEASE dl_change")
                applied += 1
            except (StoreHubError, KeyError, TypeError) as exc:
                conn.execute("ROLLBACK TO dl_change")
                conn.execute("RELEASE dl_change")
                msg = exc.message if isinstance(exc, StoreHubError) else f"malformed change: {exc!r}"
                rejected.append({"version": ch["version"], "kind": ch.get("kind"), "key": ch.get("key"), "error": msg})
                outbox.record(conn, "sync.downlink_rejected", rejected[-1])
        state.put(conn, "downlink_version", through)
        outbox.record(
            conn,
            "sync.downlink_applied",
            {"from": current, "version": through, "applied": applied, "rejected": len(rejected)},
        )
        audit.log(
            conn,
            actor=ACTOR,
            action="sync.downlink",
            target=str(through),
            details={"from": current, "applied": applied, "rejected": len(rejected)},
        )
    return {"version": through, "applied": applied, "rejected": rejected}


def status(conn: sqlite3.Connection) -> dict[str, Any]:
    """What the hub's sync status screen shows: the bookkeeping and the override policy in force."""
    return {**state.status(conn), "policy": policy(conn)}


# --- local overrides (hub API) ---------------------------------------------------------------

OVERRIDE_ENTITIES = ("item", "setting")


def set_override(
    conn: sqlite3.Connection, entity: str, key: str, field: str, value: Any, *, actor: str, device: str | None = None
) -> dict[str, Any]:
    if entity not in OVERRIDE_ENTITIES:
        raise NotFound(f"no override entity {entity}")
    pol = policy(conn)
    if entity == "item":
        if field not in pol["item_fields"]:
            raise Forbidden(
                f"the central's policy does not let stores override item {field}", code="override_not_allowed"
            )
        before = catalog.get_item(conn, key)
        catalog.update_item(conn, key, {field: value}, actor=actor, device=device)
        central = before[field]
    elif entity == "setting":
        if field != "value" or key not in pol["settings"]:
            raise Forbidden(
                f"the central's policy does not let stores override setting {key}", code="override_not_allowed"
            )
        settings.validate(key, value)
        central = settings.get(conn, key)
        settings.put(conn, key, value)
    prior = conn.execute(
        "SELECT central_value FROM sync_overrides WHERE entity=? AND entity_key=? AND field=?", (entity, key, field)
    ).fetchone()
    central_json = prior[0] if prior else json.dumps(central)
    conn.execute(
        "INSERT INTO sync_overrides(entity, entity_key, field, value, central_value, set_by, set_at) VALUES (?,?,?,?,?,?,?)"
        " ON CONFLICT(entity, entity_key, field) DO UPDATE SET value=excluded.value, set_by=excluded.set_by,"
        " set_at=excluded.set_at",
        (entity, key, field, json.dumps(value), central_json, actor, now_iso()),
    )
    fact = {"entity": entity, "key": key, "field": field, "value": value}
    outbox.record(conn, "override.set", fact)
    audit.log(conn, actor=actor, device=device, action="override.set", target=f"{entity}:{key}", details=fact)
    return fact


def remove_override(conn: sqlite3.Connection, entity: str, key: str, field: str, *, actor: str) -> None:
    row = conn.execute(
        "SELECT central_value FROM sync_overrides WHERE entity=? AND entity_key=? AND field=?", (entity, key, field)
    ).fetchone()
    if row is None:
        raise NotFound("no such override", code="override_not_found")
    _drop_override(conn, entity, key, field, row[0], reason="removed", actor=actor)


def list_overrides(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {
            "entity": r[0],
            "key": r[1],
            "field": r[2],
            "value": json.loads(r[3]),
            "central_value": json.loads(r[4]) if r[4] is not None else None,
            "set_by": r[5],
            "set_at": r[6],
        }
        for r in conn.execute(
            "SELECT entity, entity_key, field, value, central_value, set_by, set_at "
            "FROM sync_overrides ORDER BY entity, entity_key, field"
        )
    ]
