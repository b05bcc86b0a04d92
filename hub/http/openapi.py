"""The OpenAPI 3.1 document of an API, generated from its ``endpoint`` declarations (the hub's, or another
app's :class:`~hub.http.framework.Api`).

The document states what the framework enforces on every route besides the declared schemas: every string
(parameter, body value) carries :data:`STORABLE_TEXT` — no NUL — and every operation may answer 413 for a body
above its limit. (An unpaired surrogate, refused as well, cannot be written in UTF-8 JSON text except as a
``\\uD800`` escape; a JSON Schema pattern cannot say "unpaired" for every validator, so the description does.)"""

from __future__ import annotations

import copy
from typing import Any

from flask import Blueprint, current_app

from hub.http.framework import HUB, Api, Endpoint, declared_endpoints

bp = Blueprint("openapi", __name__)

STORABLE_TEXT = "^[^\\u0000]*$"  # what hub.http.framework refuses as unstorable_text (NUL)
_STORABLE_NOTE = "No string may hold U+0000 or an unpaired surrogate (400 unstorable_text)."

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        }
    },
}


def build(app, api: Api = HUB) -> dict[str, Any]:
    """The document of ``api`` as mounted in ``app``."""
    return document(api, declared_endpoints(app, api))


def document(api: Api, endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for ep in sorted(endpoints, key=lambda e: (e.openapi_path, e.method)):
        op: dict[str, Any] = {
            "summary": ep.summary,
            "tags": ep.tags,
            "operationId": ep.view_name.replace(".", "_") + "_" + ep.method.lower(),
        }
        if ep.description:
            op["description"] = ep.description
        params = [
            {"name": p, "in": "path", "required": True, "schema": storable(ep.path.get(p, {"type": "string"}))}
            for p in ep.path_params
        ]
        for name, spec in (ep.query or {}).items():
            schema = {k: v for k, v in spec.items() if k != "required"}
            params.append(
                {"name": name, "in": "query", "required": bool(spec.get("required")), "schema": storable(schema)}
            )
        if params:
            op["parameters"] = params
        if ep.body is not None:
            body = ep.body if ep.raw_text else storable(ep.body)
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        responses: dict[str, Any] = {
            "200": {"description": "OK", "content": {"application/json": {"schema": ep.response or {}}}},
        }
        err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        codes = set(ep.statuses) | {413}
        if ep.body is not None or ep.query or ep.path_params:
            codes.add(400)
        if not ep.public:
            codes |= {401, 403}
        if ep.path_params:
            codes.add(404)
        for code in sorted(codes):
            if code in (200, 201, 202):
                responses[str(code)] = responses.pop("200") if code != 200 else responses["200"]
                continue
            responses[str(code)] = {"description": _DESCR.get(code, "Error"), **err}
            if code == 429:
                responses["429"]["headers"] = {
                    "Retry-After": {
                        "description": "Seconds to wait before trying again",
                        "schema": {"type": "integer", "minimum": 1},
                    }
                }
        op["responses"] = responses
        if ep.public:
            op["security"] = []
        else:
            op["x-min-role"] = ep.role
        paths.setdefault(ep.openapi_path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": api.version, "description": f"{api.description} {_STORABLE_NOTE}"},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": api.auth.security_schemes,
        },
        "security": api.auth.security,
    }


_DESCR = {
    400: "Invalid input",
    401: "Not logged in",
    403: "Wrong role or CSRF",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    422: "Refused by a domain rule",
    429: "Too many attempts",
}


def storable(schema: Any) -> Any:
    """A copy of ``schema`` in which every string that may hold free text also says :data:`STORABLE_TEXT`."""
    out = copy.deepcopy(schema)
    _add_storable(out)
    return out


def _add_storable(node: Any) -> None:
    if isinstance(node, list):
        for x in node:
            _add_storable(x)
        return
    if not isinstance(node, dict):
        return
    types = node.get("type")
    is_text = types == "string" or (isinstance(types, list) and "string" in types)
    if is_text and not ({"enum", "const", "format"} & node.keys()):  # those admit no NUL already
        if "pattern" not in node:
            node["pattern"] = STORABLE_TEXT
        elif node["pattern"] != STORABLE_TEXT:  # both must hold
            node.setdefault("allOf", []).append({"pattern": STORABLE_TEXT})
    if (types == "object" or (isinstance(types, list) and "object" in types)) and "propertyNames" not in node:
        node["propertyNames"] = {"pattern": STORABLE_TEXT}  # keys are checked too
    for key, value in list(node.items()):
        if key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
            for sub in value.values():
                _add_storable(sub)
        elif key in (
            "items",
            "additionalProperties",
            "not",
            "if",
            "then",
            "else",
            "contains",
            "propertyNames",
            "prefixItems",
            "allOf",
            "anyOf",
            "oneOf",
        ):
            _add_storable(value)


def serve_document(api: Api, bp: Blueprint) -> None:
    """Declare ``GET {prefix}/openapi.json`` (public) on ``bp``, a blueprint mounted at ``api.prefix``."""

    @api.endpoint(bp, "GET", "/openapi.json", summary="This OpenAPI document", public=True, tags=["meta"])
    def openapi_json():
        return build(current_app, api)


serve_document(HUB, bp)
