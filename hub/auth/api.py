"""Login and logout: PIN, password or badge → bearer token (and a cookie session for the web UI)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, make_response, request

from hub.auth import login_throttle, sessions, users
from hub.http.context import db, hub
from hub.http.framework import COOKIE_NAME, CSRF_COOKIE, current_credential, endpoint
from hub.kernel import audit, settings
from hub.kernel.errors import TooManyAttempts, Unauthorized

bp = Blueprint("auth", __name__)

LOGIN_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "user": {"type": "string", "minLength": 1, "maxLength": 64},
        "pin": {"type": "string", "pattern": "^[0-9]{4,8}$"},
        "password": {"type": "string", "minLength": 1, "maxLength": 200},
        "badge": {"type": "string", "minLength": 1, "maxLength": 128},
        "device": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"},
    },
    "oneOf": [
        {"required": ["user", "pin"], "not": {"anyOf": [{"required": ["password"]}, {"required": ["badge"]}]}},
        {"required": ["user", "password"], "not": {"anyOf": [{"required": ["pin"]}, {"required": ["badge"]}]}},
        {
            "required": ["badge"],
            "not": {"anyOf": [{"required": ["pin"]}, {"required": ["password"]}, {"required": ["user"]}]},
        },
    ],
}

USER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "username": {"type": "string"},
        "role": {"type": "string"},
        "language": {"type": "string"},
    },
}


@endpoint(
    bp,
    "POST",
    "/auth/login",
    summary="Log in with user+PIN, user+password or a badge code",
    public=True,
    body=LOGIN_SCHEMA,
    statuses=[401, 429],
    tags=["auth"],
    response={
        "type": "object",
        "required": ["token", "user"],
        "properties": {
            "token": {"type": "string"},
            "expires_at": {"type": "string"},
            "csrf_token": {"type": "string"},
            "user": USER_SCHEMA,
        },
    },
)
def login(body):
    ctx = hub()
    dev = body.get("device") or g.device
    # Per-source back-off (client address and device id) on top of the per-user lockout.
    sources = login_throttle.sources(request.remote_addr, [g.device, body.get("device")])
    failure = None
    with db().write() as conn:
        try:
            login_throttle.check(conn, sources, device=dev)
            user = users.authenticate(
                conn,
                secret_key=ctx.secret_key,
                username=body.get("user"),
                pin=body.get("pin"),
                password=body.get("password"),
                badge=body.get("badge"),
                device=dev,
            )
        except login_throttle.LoginThrottled as exc:
            failure = exc  # the refusal is recorded: commit, then refuse
        except (Unauthorized, TooManyAttempts) as exc:
            failure = exc  # the failed attempt is recorded: commit, then refuse
            login_throttle.record_failure(conn, sources, device=dev)
        else:
            sessions.purge_expired(conn)  # keeps the table to the last TOKEN_TTL of logins
            token = sessions.create(conn, user["id"], kind="token", device=dev)
            cookie = sessions.create(conn, user["id"], kind="cookie", device=dev)
    if failure is not None:
        raise failure
    store = settings.get_all(db().read())
    resp = make_response(
        jsonify(
            {
                "token": token["token"],
                "expires_at": token["expires_at"],
                "csrf_token": cookie["csrf_token"],
                "user": user,
                "store": {
                    "id": store["store_id"],
                    "name": store["store_name"],
                    "currency": store["currency"],
                    "currency_exponent": store["currency_exponent"],
                },
            }
        )
    )
    secure = ctx.config.secure_cookies or request.is_secure
    resp.set_cookie(COOKIE_NAME, cookie["token"], httponly=True, samesite="Strict", secure=secure, path="/")
    resp.set_cookie(CSRF_COOKIE, cookie["csrf_token"], httponly=False, samesite="Strict", secure=secure, path="/")
    return resp


@endpoint(bp, "POST", "/auth/logout", summary="End this session", role="associate", tags=["auth"])
def logout():
    token, _via = current_credential()
    with db().write() as conn:
        sessions.revoke(conn, token)
        audit.log(conn, actor=g.actor, device=g.device, action="auth.logout")
    resp = make_response(jsonify({"ok": True}))
    secure = hub().config.secure_cookies or request.is_secure  # cleared with the flags they were set with
    resp.delete_cookie(COOKIE_NAME, path="/", secure=secure, httponly=True, samesite="Strict")
    resp.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="Strict")
    return resp


@endpoint(bp, "GET", "/auth/me", summary="Who is logged in", role="associate", tags=["auth"], response=USER_SCHEMA)
def me():
    user = users.get(db().read(), g.user["user_id"])
    user["csrf_token"] = g.user.get("csrf_token")
    return user


@endpoint(
    bp,
    "PUT",
    "/auth/me/language",
    summary="Choose this user's language",
    role="associate",
    tags=["auth"],
    body={
        "type": "object",
        "required": ["language"],
        "additionalProperties": False,
        "properties": {"language": {"type": "string", "enum": list(users.LANGUAGES)}},
    },
)
def set_language(body):
    with db().write() as conn:
        return users.set_language(conn, g.user["user_id"], body["language"], actor=g.actor, device=g.device)
