"""The OpenAPI 3.1 document of an API, generated from its ``endpoint`` declarations (the hub's, or another
app's :class:`~hub.http.framework.Api`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from hub.http.framework import HUB, Api, Endpoint, declared_endpoints

bp = Blueprint("openapi", __name__)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}},
}


def build(app, api: Api = HUB) -> dict[str, Any]:
    """The document of ``api`` as mounted in ``app``."""
    return document(api, declared_endpoints(app, api))


def document(api: Api, endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict] = {}
    for ep in sorted(endpoints, key=lambda e: (e.openapi_path, e.method)):
        op: dict[str, Any] = {"summary": ep.summary, "tags": ep.tags,
                              "operationId": ep.view_name.replace(".", "_") + "_" + ep.method.lower()}
        if ep.description:
            op["description"] = ep.description
        params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in ep.path_params]
        for name, spec in (ep.query or {}).items():
            schema = {k: v for k, v in spec.items() if k != "required"}
            params.append({"name": name, "in": "query", "required": bool(spec.get("required")), "schema": schema})
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ep.body}}}
        responses: dict[str, Any] = {
            "200": {"description": "OK", "content": {"application/json": {"schema": ep.response or {}}}},
        }
        err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        codes = set(ep.statuses)
        if ep.body is not None or ep.query:
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
                responses["429"]["headers"] = {"Retry-After": {
                    "description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 1}}}
        op["responses"] = responses
        if ep.public:
            op["security"] = []
        else:
            op["x-min-role"] = ep.role
        paths.setdefault(ep.openapi_path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": api.title, "version": api.version, "description": api.description},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": api.auth.security_schemes,
        },
        "security": api.auth.security,
    }


_DESCR = {400: "Invalid input", 401: "Not logged in", 403: "Wrong role or CSRF", 404: "Not found",
          409: "Conflict", 422: "Refused by a domain rule", 429: "Too many attempts"}


def serve_document(api: Api, bp: Blueprint) -> None:
    """Declare ``GET {prefix}/openapi.json`` (public) on ``bp``, a blueprint mounted at ``api.prefix``."""

    @api.endpoint(bp, "GET", "/openapi.json", summary="This OpenAPI document", public=True, tags=["meta"])
    def openapi_json():
        return build(current_app, api)


serve_document(HUB, bp)
