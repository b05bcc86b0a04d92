"""How an API route is declared.

Every route under an API's prefix (the hub's ``/api/v1``) is declared with ``@endpoint``: its method, path,
the least role allowed (or ``public=True``), and JSON Schemas for its body and query. The decorator
authenticates, checks the role, checks CSRF for cookie sessions, validates input, and records the route for
the OpenAPI document — so the document is generated from the same declarations the server enforces, and
a route cannot exist without an access rule (``check_all_declared`` refuses to start an app that has one).

An API is an :class:`Api`: its path prefix, its :class:`AuthModel` (how a request is authenticated, which roles
rank above which, what else an admitted request must show) and the title of its OpenAPI document. The hub's is
:data:`HUB` (its sessions; roles associate < supervisor < manager < admin), and ``endpoint(bp, ...)`` declares a
hub route. Another app (the central) builds its own ``Api`` objects and declares with ``api.endpoint(bp, ...)``;
validation, the error body ``{"error": {"code", "message", "details"}}`` and the OpenAPI generator
(``hub.http.openapi``) are the same for every API.

Two checks every route of every API gets here, before its own code runs:

- **Body size.** A body larger than the route's ``max_body`` (:data:`DEFAULT_MAX_BODY` unless declared) is
  refused with 413 ``body_too_large`` — from its ``Content-Length`` before authentication and before a byte is
  read, and while reading when it has none (chunked) — so nobody, logged in or not, makes the server read 100 MB.
- **Storable text.** A path parameter, query value or body string (or object key) holding NUL (U+0000) or an
  unpaired surrogate is refused with 400 ``unstorable_text`` and where it is: SQLite would keep such text, but
  PostgreSQL (the central) and strict UTF-8 encoders cannot, so one accepted value could stop a store's sync.
  The OpenAPI document says so on every string (:func:`hub.http.openapi.document`). A route that must take
  such text and refuse it piece by piece declares ``raw_text=True`` (the central's uplink: one unstorable event
  is refused on its own, never the store's whole batch).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from jsonschema import Draft202012Validator
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from hub import __version__
from hub.auth import sessions, users
from hub.kernel.errors import Forbidden, StoreHubError, Unauthorized, ValidationError
from hub.protocol.storable import unstorable_text

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
COOKIE_NAME = "storehub_session"
CSRF_COOKIE = "storehub_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_PARAM = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
# The largest request body a route takes unless it declares ``max_body``: far above any JSON document of the
# APIs (a stocktake's reads, an order with its lines); uploads such as an order import declare their own.
DEFAULT_MAX_BODY = 4 * 1024 * 1024


class BodyTooLarge(StoreHubError):
    status = 413
    code = "body_too_large"

    def __init__(self, limit: int):
        super().__init__(
            f"the request body is larger than this route takes ({limit} bytes)", details={"max_bytes": limit}
        )


def _nothing(*_args: Any) -> None:
    return None


@dataclass(frozen=True)
class AuthModel:
    """Who may call an API and how a request proves it.

    ``authenticate()`` returns the principal of the current request — a dict with at least ``role`` — or None
    (it may raise ``Unauthorized`` itself to say more precisely what is wrong); ``roles`` ranks the roles, lowest
    first; ``admit(principal)`` runs after the role check of a non-public route and may refuse (the hub's CSRF
    check); ``actor(principal)`` names who acts; ``begin()`` runs first on every request of the API."""

    roles: tuple[str, ...]
    authenticate: Callable[[], dict | None]
    actor: Callable[[dict], str]
    unauthorized: str  # message of the 401 when no one is authenticated
    admit: Callable[[dict], None] = _nothing
    begin: Callable[[], None] = _nothing
    security_schemes: dict[str, Any] = field(default_factory=dict)  # OpenAPI components.securitySchemes
    security: list[dict[str, list]] = field(default_factory=list)  # OpenAPI security of non-public routes

    def has_role(self, have: str, needed: str) -> bool:
        return have in self.roles and self.roles.index(have) >= self.roles.index(needed)


@dataclass
class Endpoint:
    method: str
    rule: str  # Flask rule relative to the API's prefix, e.g. /items/<item_id>
    summary: str
    tags: list[str]
    role: str | None
    public: bool
    body: dict | None
    query: dict | None
    response: dict | None
    statuses: list[int] = field(default_factory=list)
    path: dict[str, dict] = field(default_factory=dict)  # schemas of path parameters (default: any string)
    raw_text: bool = False  # body strings may hold NUL (the route refuses them)
    max_body: int = DEFAULT_MAX_BODY
    view_name: str = ""
    prefix: str = API_PREFIX
    description: str = ""
    api: Api | None = field(default=None, repr=False, compare=False)

    @property
    def openapi_path(self) -> str:
        return self.prefix + _PARAM.sub(r"{\1}", self.rule)

    @property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.rule)


@dataclass
class Api:
    """One HTTP API of an app: its prefix, access model and OpenAPI title; every route is declared with
    :meth:`endpoint`, and :attr:`registry` holds the declarations in order."""

    name: str
    prefix: str
    auth: AuthModel
    title: str
    description: str
    version: str = __version__
    blank_query_is_absent: bool = False  # ``?limit=`` counts as not sent (else it is an empty value)
    registry: list[Endpoint] = field(default_factory=list)

    def covers(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def endpoint(
        self,
        bp: Blueprint,
        method: str,
        rule: str,
        *,
        summary: str,
        role: str | None = None,
        public: bool = False,
        body: dict | None = None,
        query: dict | None = None,
        response: dict | None = None,
        statuses: list[int] | None = None,
        tags: list[str] | None = None,
        description: str = "",
        read_body: Callable[[], Any] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        path: dict[str, dict] | None = None,
        raw_text: bool = False,
    ) -> Callable:
        """Declare a route. ``read_body()`` returns the request's document when it is not plain JSON (e.g. the
        sync protocol's gzip); it is then validated against ``body`` like any JSON body. ``max_body``: the
        largest body in bytes the route takes (413 above it). ``path``: JSON Schemas of path parameters by name,
        checked like the body (400) and shown in the OpenAPI document. ``raw_text``: the body is not checked
        for unstorable text (the route refuses it itself, part by part)."""
        auth = self.auth
        if not public and role not in auth.roles:
            raise ValueError(f"{rule}: declare role= one of {auth.roles} or public=True")
        ep = Endpoint(
            method.upper(),
            rule,
            summary,
            tags or [bp.name],
            role,
            public,
            body,
            query,
            response,
            statuses or [],
            path=path or {},
            raw_text=raw_text,
            max_body=max_body,
            prefix=self.prefix,
            description=description,
            api=self,
        )
        unknown = set(ep.path) - set(ep.path_params)
        if unknown:
            raise ValueError(f"{rule}: path= names parameters the rule does not have: {sorted(unknown)}")
        validator = Draft202012Validator(body) if body is not None else None
        path_validator = Draft202012Validator({"type": "object", "properties": path}) if path else None
        reader = read_body or _json_body
        blank_absent = self.blank_query_is_absent

        def deco(fn: Callable) -> Callable:
            @functools.wraps(fn)
            def view(**kwargs):
                _limit_body(max_body)
                auth.begin()
                if not public:
                    principal = auth.authenticate()
                    if principal is None:
                        raise Unauthorized(auth.unauthorized)
                    if not auth.has_role(principal["role"], role):
                        raise Forbidden(
                            f"needs the {role} role or higher",
                            code="wrong_role",
                            details={"needed": role, "have": principal["role"]},
                        )
                    auth.admit(principal)
                    g.user = principal
                    g.actor = auth.actor(principal)
                else:
                    g.user = auth.authenticate()
                    g.actor = auth.actor(g.user) if g.user else "anonymous"
                _refuse_unstorable("path", kwargs)
                if path_validator is not None:
                    _validate(path_validator, kwargs, "the path parameters do not match their schema")
                if query is not None:
                    kwargs["query"] = _refuse_unstorable("query", _coerce_query(query, blank_absent))
                if validator is not None:
                    try:
                        data = reader()
                    except RequestEntityTooLarge:  # a body without Content-Length, cut off while read
                        raise BodyTooLarge(max_body) from None
                    data = _whole_numbers(_validate(validator, data))
                    kwargs["body"] = data if raw_text else _refuse_unstorable("body", data)
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
            self.registry.append(ep)
            return view

        return deco


PAGINATION_QUERY = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    "offset": {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0},
}


def page(items: list, total: int | None, limit: int, offset: int) -> dict[str, Any]:
    """The one shape of a paginated list."""
    more = (offset + len(items) < total) if total is not None else len(items) == limit
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_offset": offset + len(items) if more else None,
    }


def _coerce_query(schema: dict[str, dict], blank_is_absent: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, spec in schema.items():
        raw = request.args.get(name)
        if raw is None or (blank_is_absent and raw == ""):
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
                if spec.get("format") == "date":
                    t = "date"
                    v = date.fromisoformat(raw)
        except ValueError as exc:
            errors[name] = f"must be {t}" + (
                f" ({exc})" if str(exc) and not str(exc).startswith("invalid literal") else ""
            )
            continue
        out[name] = v
    if errors:
        raise ValidationError("invalid query parameters", details=errors)
    return out


def _limit_body(limit: int) -> None:
    """Refuse a declared oversized body before anything reads it; cap an undeclared (chunked) one while read."""
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(limit)


def _refuse_unstorable(where: str, data: Any) -> Any:
    """``data`` unchanged, or 400 ``unstorable_text`` saying where the first unstorable character is."""
    found = unstorable_text(data)
    if found:
        raise ValidationError(
            f"the request {where} holds a character that cannot be stored (NUL or an unpaired surrogate)",
            code="unstorable_text",
            details={"in": where, "problem": found},
        )
    return data


def _whole_numbers(data: Any) -> Any:
    """``data`` with every integral float (``70.0``) as an int: JSON Schema's ``integer`` admits ``70.0``, and the
    domain code's ``isinstance(qty, int)`` must then take it too (an int passes every ``number`` check as well)."""
    if isinstance(data, float):
        return int(data) if data.is_integer() else data
    if isinstance(data, dict):
        return {k: _whole_numbers(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_whole_numbers(v) for v in data]
    return data


def _json_body() -> Any:
    if not request.is_json:
        raise ValidationError("the request body must be JSON (Content-Type: application/json)", code="invalid_json")
    data = request.get_json(silent=True)
    if data is None:
        raise ValidationError("the request body is not valid JSON", code="invalid_json")
    return data


def _validate(
    validator: Draft202012Validator, data: Any, message: str = "the request body does not match the schema"
) -> Any:
    errs = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errs:
        details = [{"path": "/" + "/".join(str(p) for p in e.absolute_path), "message": e.message} for e in errs[:20]]
        raise ValidationError(message, details=details)
    return data


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one shape of an error answer."""
    return {"error": {"code": code, "message": message, "details": details}}


def json_errors(app, *apis: Api) -> None:
    """Answer errors on the paths of ``apis`` with :func:`error_body` (other paths keep Flask's own handling)."""

    def on_api() -> bool:
        return any(api.covers(request.path) for api in apis)

    @app.errorhandler(StoreHubError)
    def _domain_error(exc: StoreHubError):
        if not on_api():
            raise exc
        return jsonify(exc.to_dict()), exc.status, exc.headers()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not on_api():
            return exc
        if isinstance(exc, RequestEntityTooLarge):  # the app-wide cap (MAX_CONTENT_LENGTH), one code for 413
            return jsonify(error_body(BodyTooLarge.code, exc.description or "")), exc.code
        code = (exc.name or "error").lower().replace(" ", "_")
        return jsonify(error_body(code, exc.description or "")), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if not on_api():
            raise exc
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(error_body("internal_error", "internal error")), 500


# --- the hub's API: its sessions (hub.auth.sessions) and staff roles --------------------------------------------


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


def _note_device() -> None:
    g.device = device_id()


def _check_csrf(sess: dict) -> None:
    """A cookie session's state-changing request carries its CSRF token; the session's device is the default."""
    if sess["via"] == "cookie" and request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent or sent != sess["csrf_token"]:
            raise Forbidden("missing or wrong X-CSRF-Token", code="csrf_failed")
    g.device = g.device or sess.get("device")


HUB = Api(
    name="hub",
    prefix=API_PREFIX,
    title="StoreHub hub API",
    description="The store hub's HTTP API. Money in integer minor units; weights in grams; times UTC.",
    auth=AuthModel(
        roles=users.ROLES,
        authenticate=authenticate_request,
        actor=lambda sess: sess["user_id"],
        unauthorized="log in first (Bearer token or session cookie)",
        admit=_check_csrf,
        begin=_note_device,
        security_schemes={
            "bearer": {"type": "http", "scheme": "bearer"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": COOKIE_NAME},
        },
        security=[{"bearer": []}, {"cookie": []}],
    ),
)

REGISTRY: list[Endpoint] = HUB.registry


def endpoint(bp: Blueprint, method: str, rule: str, **kw: Any) -> Callable:
    """Declare a hub route (see :meth:`Api.endpoint`)."""
    return HUB.endpoint(bp, method, rule, **kw)


def check_all_declared(app, *apis: Api) -> None:
    """Deny by default: refuse to start if a route under an API's prefix (the hub's by default) lacks an
    ``endpoint`` declaration of that API. Routes elsewhere (HTML pages, health checks) are not API routes."""
    for api in apis or (HUB,):
        for r in app.url_map.iter_rules():
            if api.covers(r.rule):
                ep = getattr(app.view_functions[r.endpoint], "_storehub_endpoint", None)
                if ep is None:
                    raise RuntimeError(f"route {r.rule} is not declared with @endpoint (no access rule)")
                if ep.api is not api:
                    raise RuntimeError(f"route {r.rule} is declared for the {ep.api.name} API, not the {api.name} API")


def declared_endpoints(app, api: Api = HUB) -> list[Endpoint]:
    out = []
    for r in app.url_map.iter_rules():
        view = app.view_functions.get(r.endpoint)
        ep = getattr(view, "_storehub_endpoint", None)
        if ep is not None and ep.api is api and api.covers(r.rule):
            out.append(ep)
    return out
