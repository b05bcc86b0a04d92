"""Devices on the MQTT bus over HTTP: registry, dead letters, alerts, commands, shelf bindings.

The bus process writes; these routes read, and queue commands that the bus publishes."""

from __future__ import annotations

from flask import Blueprint

from hub.bus import alerts, builtin, commands, deadletters, registry, shelf
from hub.http.context import actor, db, device
from hub.http.framework import PAGINATION_QUERY, endpoint, page
from hub.kernel import audit
from hub.kernel.errors import NotFound, ValidationError
from hub.protocol import contract

bp = Blueprint("devices", __name__)

_DEVICE_ID = {"type": "string", "pattern": r"^[a-z0-9-]{1,64}$"}
_PATH = {"device_id": _DEVICE_ID}  # the document says what _check_id enforces


def _check_id(device_id: str) -> None:
    if not contract.DEVICE_ID_RE.fullmatch(device_id):
        raise ValidationError("device ids match [a-z0-9-]{1,64}", code="bad_device_id")


@endpoint(
    bp,
    "GET",
    "/devices",
    summary="Devices with online state, last seen and counters",
    role="associate",
    query={**PAGINATION_QUERY, "kind": {"type": "string", "enum": list(contract.KINDS)}, "online": {"type": "boolean"}},
)
def list_devices(query):
    items, total = registry.list_devices(
        db().read(), kind=query.get("kind"), online=query.get("online"), limit=query["limit"], offset=query["offset"]
    )
    return page(items, total, query["limit"], query["offset"])


@endpoint(
    bp,
    "GET",
    "/devices/<device_id>",
    path=_PATH,
    summary="One device: state, counters, open alerts, recent commands",
    role="associate",
    statuses=[404],
)
def get_device(device_id):
    _check_id(device_id)
    conn = db().read()
    d = registry.get(conn, device_id)
    d["alerts"] = alerts.open_for(conn, device_id)
    d["recent_commands"] = commands.list_for_device(conn, device_id, limit=10)
    d["dead_letters"], _ = deadletters.list_dead_letters(conn, device_id=device_id, limit=5)
    if d["kind"] == "scale":
        d["weight"] = builtin.latest_weight(conn, device_id)
    if d["kind"] == "scanner":
        d["recent_scans"] = builtin.recent_scans(conn, device_id=device_id, limit=10)
    if d["kind"] == "shelf":
        try:
            d["shelf"] = shelf.get_binding(conn, device_id)
        except NotFound:
            d["shelf"] = None
    return d


@endpoint(
    bp,
    "PATCH",
    "/devices/<device_id>",
    path=_PATH,
    summary="Set a device's silence alert threshold",
    role="supervisor",
    statuses=[404],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["silence_s"],
        "properties": {"silence_s": {"type": ["integer", "null"], "minimum": 10, "maximum": 7 * 86400}},
    },
)
def patch_device(device_id, body):
    _check_id(device_id)
    with db().write() as conn:
        d = registry.set_silence(conn, device_id, body["silence_s"])
        audit.log(
            conn,
            actor=actor(),
            device=device(),
            action="device.silence",
            target=device_id,
            details={"silence_s": body["silence_s"]},
        )
    return d


@endpoint(
    bp,
    "GET",
    "/dead-letters",
    summary="Messages the bus rejected, with reasons (newest first)",
    role="supervisor",
    query={**PAGINATION_QUERY, "device_id": {"type": "string", "maxLength": 64}},
)
def list_dead_letters(query):
    conn = db().read()
    items, total = deadletters.list_dead_letters(
        conn, device_id=query.get("device_id"), limit=query["limit"], offset=query["offset"]
    )
    out = page(items, total, query["limit"], query["offset"])
    out["by_device"] = [
        {"device_id": k, "count": v}
        for k, v in sorted(deadletters.counts_by_device(conn).items(), key=lambda kv: -kv[1])
    ]
    return out


@endpoint(
    bp,
    "GET",
    "/alerts",
    summary="Device and shelf alerts (open ones by default)",
    role="associate",
    query={
        **PAGINATION_QUERY,
        "open": {"type": "boolean", "default": True},
        "kind": {"type": "string", "enum": list(alerts.KINDS)},
        "subject": {"type": "string", "maxLength": 64},
    },
)
def list_alerts(query):
    items, total = alerts.list_alerts(
        db().read(),
        open_only=query["open"],
        kind=query.get("kind"),
        subject=query.get("subject"),
        limit=query["limit"],
        offset=query["offset"],
    )
    return page(items, total, query["limit"], query["offset"])


@endpoint(
    bp,
    "POST",
    "/alerts/<alert_id>/ack",
    summary="Acknowledge an alert (it stays open until resolved)",
    role="supervisor",
    statuses=[404],
)
def ack_alert(alert_id):
    with db().write() as conn:
        a = alerts.acknowledge(conn, alert_id, actor=actor())
        audit.log(conn, actor=actor(), device=device(), action="alert.ack", target=alert_id)
    return a


@endpoint(
    bp,
    "POST",
    "/devices/<device_id>/commands/<action>",
    path=_PATH,
    summary="Send a command to a device (QoS 1)",
    role="supervisor",
    statuses=[202, 400, 404],
    body={
        "type": "object",
        "additionalProperties": True,
        "properties": {"request_id": {"type": "string", "pattern": r"^[A-Za-z0-9._:-]{8,64}$"}},
    },
)
def post_command(device_id, action, body):
    _check_id(device_id)
    with db().write() as conn:
        registry.get(conn, device_id)  # only devices the hub knows
        payload = {k: v for k, v in body.items() if k != "request_id"}
        rid = commands.send_command(
            conn, device_id, action, payload, actor=actor(), device=device(), request_id=body.get("request_id")
        )
    return {"request_id": rid, "status": commands.get(db().read(), rid)["status"]}, 202


@endpoint(
    bp,
    "GET",
    "/device-commands/<request_id>",
    summary="A command's state and the device's result",
    role="associate",
    statuses=[404],
)
def get_command(request_id):
    return commands.get(db().read(), request_id)


@endpoint(
    bp,
    "GET",
    "/device-scans",
    summary="Recent scans reported by scanners",
    role="associate",
    query={
        "device_id": {"type": "string", "maxLength": 64},
        "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    },
)
def list_scans(query):
    rows = builtin.recent_scans(db().read(), device_id=query.get("device_id"), limit=query["limit"])
    return page(rows, None, query["limit"], 0)


@endpoint(bp, "GET", "/shelves", summary="Shelf sensors: binding, grams, units and level", role="associate")
def list_shelves():
    rows = shelf.list_shelves(db().read())
    return page(rows, len(rows), max(len(rows), 1), 0)


@endpoint(
    bp,
    "PUT",
    "/devices/<device_id>/shelf-binding",
    path=_PATH,
    summary="Bind a shelf sensor to an item at a location",
    role="supervisor",
    statuses=[400, 404, 422],
    body={
        "type": "object",
        "additionalProperties": False,
        "required": ["item_id", "location_id"],
        "properties": {
            "item_id": {"type": "string", "maxLength": 64},
            "location_id": {"type": "string", "maxLength": 64},
            "low_units": {"type": "integer", "minimum": 0, "maximum": 100000, "default": 2},
            "tare_grams": {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 0},
        },
    },
)
def put_binding(device_id, body):
    _check_id(device_id)
    with db().write() as conn:
        return shelf.bind(
            conn,
            device_id,
            item_id=body["item_id"],
            location_id=body["location_id"],
            low_units=body.get("low_units", 2),
            tare_grams=body.get("tare_grams", 0),
            actor=actor(),
            device=device(),
        )


@endpoint(
    bp,
    "DELETE",
    "/devices/<device_id>/shelf-binding",
    path=_PATH,
    summary="Unbind a shelf sensor",
    role="supervisor",
    statuses=[404],
)
def delete_binding(device_id):
    _check_id(device_id)
    with db().write() as conn:
        shelf.unbind(conn, device_id, actor=actor(), device=device())
    return {"device_id": device_id, "bound": False}
