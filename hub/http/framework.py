"""How an API route is declared.

Every route under ``/api/v1`` is declared with ``@endpoint``: its method, path,
the least role allowed (or ``public=True``), and JSON Schemas for its body and
query. The decorator authenticates, checks the role, checks CSRF for cookie
sessions, validates input, and records the route for the OpenAPI document — so
the document is generated from the same declarations the server enforces, and
a route cannot exist without an access rule (``check_all_declared`` refuses to
start an app that has one).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, current_app, g, jsonify, request
from jsonschema import Draft202012Validator

from hub.auth import sessions, users
from hub.kernel.errors import Forbidden, Unauthorized, ValidationError

API_PREFIX = "/api/v1"
COOKIE_NAME = "storehub_session"
CSRF_COOKIE = "storehub_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class Endpoint:
    method: str
    rule: str               # Flask rule relative to /api/v1, e.g. /items/<item_id>
    summary: str
    tags: list[str]
    role: str | None
    public: bool
    body: dict | None
    query: dict | None
    response: dict | None
    statuses: list[int] = field(default_factory=list)
    view_name: str = ""

    @property
    def openapi_path(self) -> str:
        return API_PREFIX + re.sub(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>", r"{\1}", self.rule)

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>", self.rule)


REGISTRY: list[Endpoint] = []

PAGINATION_QUERY = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    "offset": {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0},
}


def page(items: list, total: int | None, limit: int, offset: int) -> dict[str, Any]:
    """The one shape of a paginated list."""
    more = (offset + len(items) < total) if total is not None else len(items) == limit
    return {"items": items, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + len(items) if more else None}


def _coerce_query(schema: dict[str, dict]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, spec in schema.items():
        raw = request.args.get(name)
        if raw is None:
            if "default" in spec:
                out[name] = spec["default"]
            elif spec.get("required"):
                errors[name] = "required"
            continue
        t = spec.get("type", "string")
        try:
            if t == "integer":
                v: Any = int(raw)
                if "minimum" in spec and v < spec["minimum"]:
                    raise ValueError(f">= {spec['minimum']}")
                if "maximum" in spec and v > spec["maximum"]:
                    raise ValueError(f"<= {spec['maximum']}")
            elif t == "boolean":
                if raw.lower() not in ("true", "false", "1", "0"):
                    raise ValueError("true or false")
                v = raw.lower() in ("true", "1")
            else:
                v = raw
                if "enum" in spec and v not in spec["enum"]:
                    raise ValueError("one of " + ", ".join(spec["enum"]))
                if len(v) > spec.get("maxLength", 500):
                    raise ValueError("too long")
        except ValueError as exc:
            errors[name] = f"must be {t}" + (f" ({exc})" if str(exc) and not str(exc).startswith("invalid literal") else "")
            continue
        out[name] = v
    if errors:
        raise ValidationError("invalid query parameters", details=errors)
    return out


def _validate_body(schema: dict) -> Any:
    if not request.is_json:
        raise ValidationError("the request body must be JSON (Content-Type: application/json)", code="invalid_json")
    data = request.get_json(silent=True)
    if data is None:
        raise ValidationError("the request body is not valid JSON", code="invalid_json")
    errs = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errs:
        details = [{"path": "/" + "/".join(str(p) for p in e.absolute_path), "message": e.message} for e in errs[:20]]
        raise ValidationError("the request body does not match the schema", details=details)
    return data


def current_credential() -> tuple[str | None, str]:
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), "token"
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        return cookie, "cookie"
    return None, ""


def authenticate_request() -> dict | None:
    token, via = current_credential()
    if not token:
        return None
    sess = sessions.resolve(current_app.extensions["storehub"].db.read(), token)
    if sess is None:
        return None
    if via == "cookie" and sess["kind"] != "cookie":
        return None
    sess["via"] = via
    return sess


def device_id() -> str | None:
    dev = request.headers.get("X-Device-Id")
    if dev and re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", dev):
        return dev
    return None


def endpoint(bp: Blueprint, method: str, rule: str, *, summary: str, role: str | None = None, public: bool = False,
             body: dict | None = None, query: dict | None = None, response: dict | None = None,
             statuses: list[int] | None = None, tags: list[str] | None = None) -> Callable:
    if not public and role not in users.ROLES:
        raise ValueError(f"{rule}: declare role= one of {users.ROLES} or public=True")
    ep = Endpoint(method.upper(), rule, summary, tags or [bp.name], role, public, body, query, response,
                  statuses or [])

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def view(**kwargs):
            g.device = device_id()
            if not public:
                sess = authenticate_request()
                if sess is None:
                    raise Unauthorized("log in first (Bearer token or session cookie)")
                if not users.has_role(sess["role"], role):
                    raise Forbidden(f"needs the {role} role or higher", code="wrong_role",
                                    details={"needed": role, "have": sess["role"]})
                if sess["via"] == "cookie" and request.method not in SAFE_METHODS:
                    sent = request.headers.get("X-CSRF-Token", "")
                    if not sent or sent != sess["csrf_token"]:
                        raise Forbidden("missing or wrong X-CSRF-Token", code="csrf_failed")
                g.user = sess
                g.actor = sess["user_id"]
                g.device = g.device or sess.get("device")
            else:
                g.user = authenticate_request()
                g.actor = g.user["user_id"] if g.user else "anonymous"
            if query is not None:
                kwargs["query"] = _coerce_query(query)
            if body is not None:
                kwargs["body"] = _validate_body(body)
            result = fn(**kwargs)
            if isinstance(result, tuple):
                data, status = result
                return jsonify(data), status
            if isinstance(result, (dict, list)):
                return jsonify(result)
            return result

        view._storehub_endpoint = ep  # type: ignore[attr-defined]
        ep.view_name = f"{bp.name}.{fn.__name__}"
        bp.add_url_rule(rule, endpoint=fn.__name__, view_func=view, methods=[ep.method])
        REGISTRY.append(ep)
        return view

    return deco


def check_all_declared(app) -> None:
    """Deny by default: refuse to start if any /api/v1 route lacks an @endpoint declaration."""
    for r in app.url_map.iter_rules():
        if r.rule.startswith(API_PREFIX):
            view = app.view_functions[r.endpoint]
            if not hasattr(view, "_storehub_endpoint"):
                raise RuntimeError(f"route {r.rule} is not declared with @endpoint (no access rule)")


def declared_endpoints(app) -> list[Endpoint]:
    out = []
    for r in app.url_map.iter_rules():
        view = app.view_functions.get(r.endpoint)
        ep = getattr(view, "_storehub_endpoint", None)
        if ep is not None and r.rule.startswith(API_PREFIX):
            out.append(ep)
    return out
