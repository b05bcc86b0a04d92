"""Commands to devices: ``cmd/<action>`` with a ``request_id``, answered on ``result``.

``send_command`` only records the request (inside the caller's transaction, so
an order and its pack-label print land together); the hub's one bus process
publishes pending requests (QoS 1, never retained) and stores each result. A
request published twice (bus restart between publish and bookkeeping) carries
the same ``request_id``, which agents honour once."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.kernel import audit
from hub.kernel.errors import NotFound, ValidationError
from hub.protocol import contract
from hub.protocol.ids import new_id
from hub.protocol.timeutil import now_iso


def send_command(
    conn: sqlite3.Connection,
    device_id: str,
    action: str,
    payload: dict[str, Any] | None = None,
    *,
    actor: str,
    device: str | None = None,
    request_id: str | None = None,
) -> str:
    """Queue ``action`` for ``device_id``; returns the request_id. Idempotent for a given request_id."""
    if not contract.DEVICE_ID_RE.fullmatch(device_id or ""):
        raise ValidationError(f"bad device id {device_id!r}", code="bad_device_id")
    if action not in contract.COMMAND_ACTIONS:
        raise ValidationError(
            f"unknown command {action!r}", code="unknown_command", details={"actions": list(contract.COMMAND_ACTIONS)}
        )
    request_id = request_id or new_id()
    existing = conn.execute(
        "SELECT device_id, action FROM device_commands WHERE request_id = ?", (request_id,)
    ).fetchone()
    if existing is not None:
        return request_id
    fields = {k: v for k, v in (payload or {}).items() if k not in ("request_id", "ts")}
    try:
        message = contract.make_command(action, request_id, **fields)
    except contract.ContractError as exc:
        raise ValidationError(f"invalid {action} command: {exc.reason}", code="invalid_command") from None
    now = now_iso()
    conn.execute(
        "INSERT INTO device_commands(request_id, device_id, action, payload, status, requested_by, created_at)"
        " VALUES (?,?,?,?, 'pending', ?, ?)",
        (request_id, device_id, action, json.dumps(message, ensure_ascii=False), actor, now),
    )
    audit.log(
        conn,
        actor=actor,
        device=device,
        action=f"device.command.{action}",
        target=device_id,
        details={"request_id": request_id},
    )
    return request_id


def pending(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in conn.execute(
            "SELECT request_id, device_id, action, payload FROM device_commands WHERE status = 'pending' "
            "ORDER BY created_at LIMIT ?",
            (limit,),
        )
    ]


def mark_sent(conn: sqlite3.Connection, request_id: str, now: str | None = None) -> None:
    conn.execute(
        "UPDATE device_commands SET status = 'sent', sent_at = ? WHERE request_id = ? AND status = 'pending'",
        (now or now_iso(), request_id),
    )


def apply_result(conn: sqlite3.Connection, device_id: str, result: dict, now: str) -> bool:
    """Store a device's answer. Unknown requests and answers from the wrong device are contract errors."""
    row = conn.execute(
        "SELECT device_id, status FROM device_commands WHERE request_id = ?", (result["request_id"],)
    ).fetchone()
    if row is None:
        raise contract.ContractError(f"result for unknown request_id {result['request_id']!r}", device_id)
    if row["device_id"] != device_id:
        raise contract.ContractError(
            f"request {result['request_id']} was sent to {row['device_id']}, not {device_id}", device_id
        )
    if row["status"] in ("ok", "failed"):
        return False  # a redelivered result
    status = "ok" if result["ok"] else "failed"
    conn.execute(
        "UPDATE device_commands SET status = ?, result_at = ?, error = ?, result = ? WHERE request_id = ?",
        (status, now, result.get("error"), json.dumps(result, ensure_ascii=False), result["request_id"]),
    )
    from hub.kernel import outbox

    outbox.record(
        conn,
        "device.command_result",
        {"request_id": result["request_id"], "device_id": device_id, "ok": result["ok"], "error": result.get("error")},
        ts=now,
    )
    return True


def get(conn: sqlite3.Connection, request_id: str) -> dict[str, Any]:
    r = conn.execute("SELECT * FROM device_commands WHERE request_id = ?", (request_id,)).fetchone()
    if r is None:
        raise NotFound(f"no command {request_id}", code="command_not_found")
    d = dict(r)
    d["payload"] = json.loads(d["payload"])
    d["result"] = json.loads(d["result"]) if d["result"] else None
    return d


def list_for_device(conn: sqlite3.Connection, device_id: str, limit: int = 20) -> list[dict[str, Any]]:
    return [
        get(conn, r[0])
        for r in conn.execute(
            "SELECT request_id FROM device_commands WHERE device_id = ? ORDER BY created_at DESC LIMIT ?",
            (device_id, limit),
        )
    ]
