"""What every head-office page module shares: the engine, the signed-in office user, the login gate and the
page language (``?lang=``, remembered in the session, else the browser's Accept-Language)."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, request, session, url_for

from sync.central import office
from sync.central import sales_report as sr


def engine() -> Any:
    return current_app.extensions["central"].engine


def user() -> dict[str, Any] | None:
    uid = session.get("uid")
    return office.get_user(engine(), uid) if uid else None


def require_login() -> Any:
    """A blueprint's ``before_request``: to the sign-in page (and back) unless an office user is signed in."""
    if user() is None:
        return redirect(url_for("central_views.login", next=request.full_path.rstrip("?")))
    return None


def lang() -> str:
    chosen = sr.pick_lang(request.args.get("lang"), session.get("lang"), request.accept_languages)
    if request.args.get("lang") in sr.LANGS:
        session["lang"] = chosen
    return chosen
