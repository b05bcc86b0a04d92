"""The central's Flask app factory (served by gunicorn via ``storehub central serve``).

Two JSON APIs declared with the hub's endpoint framework — the read API for office tools (``/api/v1``, its
OpenAPI document at ``/api/v1/openapi.json``) and the sync API the stores' hubs call (``/sync/v1``, document at
``/sync/v1/openapi.json``) — and the office's HTML pages."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, jsonify
from sqlalchemy.engine import Engine

from hub.http.framework import DEFAULT_MAX_BODY, check_all_declared, json_errors
from sync.central import (
    analytics_api,
    api_sync,
    einvoice,
    finance_api,
    finance_views,
    read_api,
    staff_api,
    transfers_api,
    views,
)
from sync.central.access import READ_API, SYNC_API
from sync.central.config import CentralConfig
from sync.central.db import make_engine, migrate


@dataclass
class CentralContext:
    config: CentralConfig
    engine: Engine


def create_app(config: CentralConfig | None = None, *, engine: Engine | None = None) -> Flask:
    config = config or CentralConfig()
    config.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or make_engine(config.db_url)
    migrate(engine)
    app = Flask(__name__, template_folder="../templates")
    app.config.update(
        SECRET_KEY=config.secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        SESSION_COOKIE_NAME="storehub_central",
        # the office pages' forms; each API route sets its own limit (hub.http.framework)
        MAX_CONTENT_LENGTH=DEFAULT_MAX_BODY,
        TESTING=config.testing,
    )
    app.extensions["central"] = CentralContext(config, engine)
    from sync.central import personal, personal_api  # personal data at rest (issues 15, 20)

    personal.attach(engine, config.data_dir)  # the personal-data key files beside the config (never in the DB)

    app.register_blueprint(api_sync.bp)
    app.register_blueprint(read_api.bp)
    app.register_blueprint(analytics_api.bp)  # /api/v1/analytics/... (issue 19)
    app.register_blueprint(personal_api.bp)  # /api/v1/members/... personal data (issues 15, 20)
    app.register_blueprint(finance_api.bp)  # /api/v1/finance/...: P&L and budgets (issue 18)
    app.register_blueprint(transfers_api.bp)  # /api/v1/transfers, /api/v1/recall (issue 16)
    from sync.central import coupons_api, coupons_views  # single-use coupons (issue 14, docs/coupons.md)

    app.register_blueprint(coupons_api.bp)  # /api/v1/coupons
    app.register_blueprint(coupons_views.bp)  # /coupons: issue codes, batches and budgets, double redemptions
    app.register_blueprint(staff_api.bp)  # /api/v1/staff/payroll.csv: payroll across stores (issue 17)
    app.register_blueprint(views.bp)
    app.register_blueprint(finance_views.bp)  # /finance: the P&L and budget pages (issue 18)
    app.register_blueprint(einvoice.bp)  # /invoice/<store>/<receipt>: the customers' e-invoice page (issue 18)
    from sync.central import scorecard_api, scorecard_views  # purchasing at head office (issue 16)

    app.register_blueprint(scorecard_api.bp)  # /api/v1/purchasing/scorecard, /api/v1/purchasing/forecasts
    app.register_blueprint(scorecard_views.bp)  # /purchasing: supplier scorecard and forecasts
    from sync.central import promotions_views  # promotion authoring at head office (issue 14)

    app.register_blueprint(promotions_views.bp)  # /promotions: author, check, preview, publish
    app.extensions["einvoice"] = einvoice.from_env()  # None: not offered; tests set their own provider
    # deny by default on the two JSON APIs (the office pages and /healthz are not API routes)
    check_all_declared(app, READ_API, SYNC_API)
    json_errors(app, READ_API, SYNC_API)

    @app.get("/healthz")
    def healthz():
        return jsonify({"ok": True})

    return app
