"""Shortcuts for route modules: the hub context of the current app."""

from __future__ import annotations

from flask import current_app, g


def hub():
    return current_app.extensions["storehub"]


def db():
    return hub().db


def actor() -> str:
    return g.get("actor", "anonymous")


def device() -> str | None:
    return g.get("device")
