"""Head-office web views: server-rendered HTML, SVG charts, filters, CSV export.

Login with a head-office user's password sets a signed session cookie
(HttpOnly, SameSite=Lax, Secure behind TLS); state-changing forms carry a CSRF
token bound to the session. Every report page takes its filters from the query
string and ``?format=csv`` returns exactly the rows of its main table."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date, timedelta
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, session, url_for

from hub.kernel.csvsafe import guard_cell
from sync.central import metrics, office, reports, sales_report
from sync.central.charts import bar_chart, line_chart

bp = Blueprint("central_views", __name__)

NAV = [
    ("/", "Stores"),
    ("/sales", "Sales 销售"),
    ("/finance", "P&L 损益"),
    ("/purchasing", "Purchasing 采购"),
    ("/promotions", "Promotions 促销"),
    ("/coupons", "Coupons 优惠券"),
    ("/stock", "Stock"),
    ("/movements", "Sales & movements"),
    ("/low-stock", "Low stock"),
    ("/counts", "Counts & shrink"),
    ("/orders", "Orders"),
]


def _engine():
    return current_app.extensions["central"].engine


def _csrf() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def _check_csrf() -> None:
    sent = request.form.get("csrf", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400, "CSRF token missing or wrong")


def _user():
    uid = session.get("uid")
    return office.get_user(_engine(), uid) if uid else None


@bp.before_request
def _require_login():
    if request.endpoint in ("central_views.login",):
        return None
    if _user() is None:
        return redirect(url_for("central_views.login", next=request.full_path.rstrip("?")))
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    nxt = request.values.get("next") or "/"
    if not nxt.startswith("/") or nxt.startswith("//"):
        nxt = "/"
    if request.method == "POST":
        _check_csrf()
        try:
            u = office.check_password(
                _engine(), request.form.get("username", "").strip(), request.form.get("password", "")
            )
        except office.Locked as exc:
            return render_template(
                "central_login.html", title="Log in", user=None, csrf=_csrf(), next=nxt, error=str(exc)
            ), 429
        if u:
            session.clear()
            session["uid"] = u["id"]
            session["csrf"] = secrets.token_urlsafe(24)
            return redirect(nxt)
        current_app.logger.warning("head-office login failed for %r", request.form.get("username"))
        error = "Wrong username or password."
    return render_template("central_login.html", title="Log in", user=None, csrf=_csrf(), next=nxt, error=error), (
        401 if error else 200
    )


@bp.post("/logout")
def logout():
    _check_csrf()
    session.clear()
    return redirect(url_for("central_views.login"))


# --- helpers ---------------------------------------------------------------------------------


class BadFilter(ValueError):
    pass


def _date_range() -> tuple[date, date]:
    try:
        end = (
            date.fromisoformat(request.args["end"])
            if request.args.get("end")
            else reports.today(_engine(), request.args.get("store") or None)
        )
        start = date.fromisoformat(request.args["start"]) if request.args.get("start") else end - timedelta(days=29)
    except (ValueError, OverflowError):
        raise BadFilter("dates are YYYY-MM-DD") from None
    if start > end:
        raise BadFilter("start is after end")
    if (end - start).days > 3700:
        raise BadFilter("at most ten years at once")
    return start, end


def _f(name, label, options=None, type_=None, value=None):
    return {
        "name": name,
        "label": label,
        "options": options,
        "type": type_,
        "value": value if value is not None else request.args.get(name, ""),
    }


def _csv(rows: list[dict], columns: list[str], name: str) -> Response:
    """The one CSV writer of head office's exports. Every text cell goes through the hub's formula guard: SKUs,
    names, categories and codes come from the stores (a SKU ``=HYPERLINK(...)`` must not run in a sheet)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    w.writeheader()
    w.writerows({k: guard_cell(v) for k, v in r.items()} for r in rows)
    return Response(
        "\ufeff" + buf.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _page(title: str, *, tables, charts=(), filters=(), error=None, status=200):
    q = {k: v for k, v in request.args.items() if k != "format" and v}
    q["format"] = "csv"
    return render_template(
        "central_report.html",
        title=title,
        user=_user(),
        nav=NAV,
        active=request.path,
        csrf=_csrf(),
        tables=tables,
        charts=list(charts),
        filters=list(filters),
        error=error,
        csv_query=urlencode(q),
    ), status


def _render(title, name, build):
    """Run ``build() -> (main_rows, columns, tables, charts, filters)``; HTML or CSV."""
    try:
        rows, columns, tables, charts, filters = build()
    except BadFilter as exc:
        return _page(title, tables=[], error=str(exc), status=400)
    if request.args.get("format") == "csv":
        return _csv(rows, columns, name)
    return _page(title, tables=tables, charts=charts, filters=filters)


# --- pages -----------------------------------------------------------------------------------


@bp.get("/")
def overview():
    def build():
        rows = reports.stores_overview(_engine())
        cols = [
            "store_id",
            "name",
            "status",
            "last_contact",
            "sync_lag_s",
            "data_age_s",
            "acked_seq",
            "events",
            "gaps",
            "duplicates_ignored",
            "events_refused",
            "timezone",
            "downlink_version",
            "downlink_head",
            "devices",
            "devices_offline",
            "alerts_open",
        ]
        charts = [
            bar_chart(
                [r["store_id"] for r in rows],
                [r["sync_lag_s"] or 0 for r in rows],
                title="Sync lag by store (seconds since last contact)",
                unit=" s",
            )
        ]
        al = reports.open_alerts(_engine())
        dev = reports.offline_devices(_engine())
        tables = [
            {"title": "All stores", "columns": cols, "rows": rows},
            {"title": "Open alerts", "columns": ["store_id", "severity", "message", "raised_ts"], "rows": al},
            {
                "title": "Devices offline",
                "columns": ["store_id", "device_id", "device_kind", "last_seen_ts"],
                "rows": dev,
            },
        ]
        return rows, cols, tables, charts, []

    return _render("All stores at a glance", "stores", build)


@bp.get("/stock")
def stock():
    def build():
        a = request.args
        rows = reports.stock_by_item(
            _engine(), sku=a.get("q") or None, category=a.get("category") or None, store=a.get("store") or None
        )
        cols = ["sku", "name_en", "name_zh", "unit", "store_id", "on_hand", "reserved", "available", "reorder_point"]
        per_store: dict[str, int] = {}
        for r in rows:
            per_store[r["store_id"]] = per_store.get(r["store_id"], 0) + r["on_hand"]
        charts = []
        if a.get("q") and rows:
            charts.append(
                bar_chart(
                    [f"{r['store_id']} {r['sku']}" for r in rows[:30]],
                    [r["on_hand"] for r in rows[:30]],
                    title="On hand by store",
                )
            )
        filters = [
            _f("q", "SKU or name"),
            _f("category", "Category", reports.categories(_engine())),
            _f("store", "Store", reports.store_ids(_engine())),
        ]
        return rows, cols, [{"title": "Stock by item across stores", "columns": cols, "rows": rows}], charts, filters

    return _render("Stock by item", "stock", build)


@bp.get("/movements")
def movements():
    def build():
        start, end = _date_range()
        store, kind = request.args.get("store") or None, request.args.get("kind") or None
        rows = reports.movements_by_day(_engine(), start=start, end=end, store=store, kind=kind)
        cols = ["day", "store_id", "kind", "lines", "qty_each", "qty_g", "value_minor"]
        days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
        sales: dict[str, dict[str, float]] = {}
        lines: dict[str, dict[str, float]] = {}
        for r in rows:
            if r["kind"] == "sale":
                sales.setdefault(r["store_id"], {})[r["day"]] = r["value_minor"] / 100
            lines.setdefault(r["kind"], {})
            lines[r["kind"]][r["day"]] = lines[r["kind"]].get(r["day"], 0) + r["lines"]
        charts = [
            line_chart(
                days,
                {s: [v.get(d, 0) for d in days] for s, v in sorted(sales.items())[:8]},
                title="Sales value per day by store (major units)",
            ),
            line_chart(
                days,
                {k: [v.get(d, 0) for d in days] for k, v in sorted(lines.items())},
                title="Movement lines per day by kind",
            ),
        ]
        filters = [
            _f("start", "From", type_="date", value=start.isoformat()),
            _f("end", "To", type_="date", value=end.isoformat()),
            _f("store", "Store", reports.store_ids(_engine())),
            _f(
                "kind",
                "Kind",
                [
                    "sale",
                    "receive",
                    "return",
                    "adjust",
                    "count",
                    "transfer_out",
                    "transfer_in",
                    "writeoff",
                    "reserve",
                    "release",
                    "pick",
                ],
            ),
        ]
        return rows, cols, [{"title": "Movements per day", "columns": cols, "rows": rows}], charts, filters

    return _render("Sales and movements over time", "movements", build)


@bp.get("/low-stock")
def low_stock():
    def build():
        store, cat = request.args.get("store") or None, request.args.get("category") or None
        low, transfers = reports.low_stock(_engine(), store=store, category=cat)
        cols = ["sku", "name_en", "name_zh", "unit", "store_id", "on_hand", "reorder_point"]
        tcols = ["sku", "name_en", "unit", "from", "to", "qty"]
        filters = [
            _f("store", "Store", reports.store_ids(_engine())),
            _f("category", "Category", reports.categories(_engine())),
        ]
        if request.args.get("table") == "transfers":
            return transfers, tcols, [], [], filters
        tables = [
            {"title": "At or below reorder point", "columns": cols, "rows": low},
            {
                "title": "Suggested transfers between stores (CSV: add table=transfers)",
                "columns": tcols,
                "rows": transfers,
            },
        ]
        return low, cols, tables, [], filters

    return _render("Low stock and suggested transfers", "low-stock", build)


@bp.get("/counts")
def counts():
    def build():
        start, end = _date_range()
        rows = reports.count_accuracy(_engine(), start=start, end=end, store=request.args.get("store") or None)
        cols = [
            "store_id",
            "sessions",
            "lines",
            "lines_exact",
            "line_accuracy_pct",
            "shrink_cost_minor",
            "gain_cost_minor",
            "writeoff_cost_minor",
            "expected_cost_minor",
        ]
        charts = [
            bar_chart(
                [r["store_id"] for r in rows],
                [r["line_accuracy_pct"] or 0 for r in rows],
                title="Count line accuracy by store",
                unit=" %",
            ),
            bar_chart(
                [r["store_id"] for r in rows],
                [(r["shrink_cost_minor"] + r["writeoff_cost_minor"]) / 100 for r in rows],
                title="Shrink and write-offs at cost (major units)",
            ),
        ]
        filters = [
            _f("start", "From", type_="date", value=start.isoformat()),
            _f("end", "To", type_="date", value=end.isoformat()),
            _f("store", "Store", reports.store_ids(_engine())),
        ]
        return (
            rows,
            cols,
            [{"title": "Stock-count accuracy and shrink", "columns": cols, "rows": rows}],
            charts,
            filters,
        )

    return _render("Stock-count accuracy and shrink", "counts", build)


@bp.get("/orders")
def orders():
    def build():
        start, end = _date_range()
        rows = reports.order_fulfilment(_engine(), start=start, end=end, store=request.args.get("store") or None)
        cols = [
            "store_id",
            "orders",
            "fulfilled",
            "cancelled",
            "ready_median_min",
            "fulfil_median_min",
            "fulfil_p90_min",
        ]
        charts = [
            bar_chart(
                [r["store_id"] for r in rows],
                [r["fulfil_median_min"] or 0 for r in rows],
                title="Median minutes from order to collection/shipping",
                unit=" min",
            )
        ]
        filters = [
            _f("start", "From", type_="date", value=start.isoformat()),
            _f("end", "To", type_="date", value=end.isoformat()),
            _f("store", "Store", reports.store_ids(_engine())),
        ]
        return rows, cols, [{"title": "Order fulfilment times", "columns": cols, "rows": rows}], charts, filters

    return _render("Order fulfilment times", "orders", build)


# --- sales (issue 19): figures from sync.central.metrics, shown by sync.central.sales_report -------------------------


def _sales_filters() -> tuple[metrics.Filters, str]:
    """Filters of the sales page and its export (kept in the URL); ``category=-`` is the uncategorised items."""
    a = request.args
    store = a.get("store") or None
    category = a.get("category")
    category = None if not category else ("" if category == "-" else category)
    try:
        start_s, end_s = a.get("start"), a.get("end")
        if start_s and end_s:
            start, end = date.fromisoformat(start_s), date.fromisoformat(end_s)
        else:
            start, end = sales_report.default_range(
                metrics.latest_day(_engine(), store), reports.today(_engine(), store)
            )
            start = date.fromisoformat(start_s) if start_s else start
            end = date.fromisoformat(end_s) if end_s else end
    except ValueError:
        raise BadFilter("dates") from None
    if start > end or (end - start).days > 3700:
        raise BadFilter("dates")
    f = metrics.Filters(start=start, end=end, store=store, category=category, item=a.get("item") or None)
    return f, sales_report.level_of(a.get("by"), store, category)


def _sales_link(**changes: str | None) -> str:
    q = {k: v for k, v in request.args.items() if k != "format"}
    for k, v in changes.items():
        if v is None:
            q.pop(k, None)
        else:
            q[k] = v
    return "/sales?" + urlencode({k: v for k, v in q.items() if v not in (None, "")})


def _sales_level_rows(f: metrics.Filters, level: str, lang: str):
    keys = sales_report.LEVEL_COLUMNS[level]
    rows = metrics.table(_engine(), f, level, keys=keys)
    names = metrics.item_names(_engine(), [r["item_id"] for r in rows]) if level == "item" else {}
    return rows, keys, names


@bp.get("/sales")
def sales_page():
    sr = sales_report
    lang = sr.pick_lang(request.args.get("lang"), session.get("lang"), request.accept_languages)
    if request.args.get("lang") in sr.LANGS:
        session["lang"] = lang
    try:
        f, level = _sales_filters()
    except BadFilter:
        return render_template(
            "central_sales.html",
            title=sr.tr("title", lang),
            user=_user(),
            nav=NAV,
            active="/sales",
            csrf=_csrf(),
            lang=lang,
            error=sr.tr("dates", lang),
            kpis=[],
            table=None,
            charts=[],
            filters=[],
            links={},
            crumbs=[],
            period="",
        ), 400
    cur = metrics.currency(_engine(), f.store)
    rows, keys, names = _sales_level_rows(f, level, lang)
    if request.args.get("format") == "csv":
        return _sales_csv(f, level, lang, cur, rows, keys, names)
    kpi = metrics.table(_engine(), f, "total", keys=sr.KPIS)[0]
    kpis = [
        {
            "key": k,
            "title": sr.column_title(k, lang, cur),
            "text": sr.show(metrics.BY_KEY[k], kpi[k], cur, lang),
            "formula": metrics.BY_KEY[k].formula,
        }
        for k in sr.KPIS
    ]
    drill = {
        "store": lambda r: _sales_link(store=r["store_id"], category=None, item=None, by=None),
        "category": lambda r: _sales_link(category=r["category"] or "-", item=None, by=None),
    }
    body = []
    for r in rows:
        link = drill[level](r) if level in drill else None
        cells = [
            {"text": sr.show(metrics.BY_KEY[k], r[k], cur, lang), "n": True, "opt": k in sr.OPTIONAL, "key": k}
            for k in keys
        ]
        body.append({"label": sr.label_of(level, r, lang, names), "href": link, "cells": cells})
    first = {"store": "store_id", "store_day": "store_id", "item": "item_id"}.get(level, level)
    table = {
        "title": sr.tr("by_" + level, lang),
        "label": sr.column_title(first, lang, cur),
        "columns": [{"title": sr.column_title(k, lang, cur), "opt": k in sr.OPTIONAL} for k in keys],
        "rows": body,
    }
    charts = _sales_charts(f, level, lang, cur, rows, names)
    crumbs = [{"text": sr.tr("all_stores", lang), "href": _sales_link(store=None, category=None, item=None, by=None)}]
    if f.store:
        crumbs.append({"text": f.store, "href": _sales_link(category=None, item=None, by=None)})
    if f.category is not None:
        crumbs.append({"text": f.category or sr.tr("uncategorised", lang), "href": None})
    stores = reports.store_ids(_engine())
    filters = [
        {"name": "start", "label": sr.tr("from", lang), "type": "date", "value": f.start.isoformat()},
        {"name": "end", "label": sr.tr("to", lang), "type": "date", "value": f.end.isoformat()},
        {"name": "store", "label": sr.tr("store_id", lang), "options": stores, "value": f.store or ""},
        {
            "name": "by",
            "label": sr.tr("show", lang),
            "options": ["store", "category", "item", "day", "hour"],
            "value": request.args.get("by", ""),
        },
    ]
    hidden = {k: v for k, v in request.args.items() if k in ("category", "item", "lang") and v}
    links = {"csv": _sales_link(format="csv"), "en": _sales_link(lang="en"), "zh": _sales_link(lang="zh-CN")}
    period = sr.tr("period", lang).format(start=f.start.isoformat(), end=f.end.isoformat(), cur=cur)
    return render_template(
        "central_sales.html",
        title=sr.tr("title", lang),
        user=_user(),
        nav=NAV,
        active="/sales",
        csrf=_csrf(),
        lang=lang,
        error=None,
        kpis=kpis,
        table=table,
        charts=charts,
        filters=filters,
        hidden=hidden,
        links=links,
        crumbs=crumbs,
        period=period,
        labels={k: sr.tr(k, lang) for k in ("apply", "export", "all", "none")},
    )


def _sales_charts(f, level, lang, cur, rows, names) -> list[str]:
    sr = sales_report
    digits = sr.CURRENCIES.get(cur, ("", 2))[1]
    scale = 10**digits
    days = metrics.table(_engine(), f, "day", keys=["net_sales", "net_sales_ly"])
    by_day = {r["day"]: r for r in days}
    xs = [(f.start + timedelta(days=i)).isoformat() for i in range(f.days)]
    series = {sr.tr("this_year", lang): [(by_day.get(d, {}).get("net_sales") or 0) / scale for d in xs]}
    if any(r.get("net_sales_ly") is not None for r in days):
        series[sr.tr("last_year", lang)] = [(by_day.get(d, {}).get("net_sales_ly") or 0) / scale for d in xs]
    out = [line_chart(xs, series, title=f"{sr.tr('chart_day', lang)} ({cur})")]
    if f.category is None and not f.item:
        hours = metrics.table(_engine(), f, "hour", keys=["net_sales"], with_ly=False)
        out.append(
            bar_chart(
                [f"{int(r['hour']):02d}:00" for r in hours],
                [(r["net_sales"] or 0) / scale for r in hours],
                title=f"{sr.tr('chart_hour', lang)} ({cur})",
            )
        )
    if level in ("store", "category", "item"):
        top = rows[:15]
        out.append(
            bar_chart(
                [sr.label_of(level, r, lang, names) for r in top],
                [(r["net_sales"] or 0) / scale for r in top],
                title=f"{sr.tr('chart_level', lang)}: {sr.tr('by_' + level, lang)} ({cur})",
            )
        )
    return out


def _sales_csv(f, level, lang, cur, rows, keys, names) -> Response:
    """The main table of the page as CSV: the same figures (sync.central.metrics), human titles in the page's
    language, money in major units of the currency named in the title; text cells go through the formula guard."""
    sr = sales_report
    dims = list(metrics.DIMENSIONS[level])
    titles: list[str] = []
    out: list[dict] = []
    dim_titles = {d: sr.column_title(d, lang, cur) for d in dims}
    if level == "item":
        dim_titles = {"item_id": sr.column_title("item_id", lang, cur), "sku": sr.tr("sku", lang)}
    titles = list(dim_titles.values()) + [sr.column_title(k, lang, cur, csv=True) for k in keys]
    for r in rows:
        row: dict = {}
        for d, title in dim_titles.items():
            if level == "item" and d == "item_id":
                n = names.get(r["item_id"], {})
                row[title] = (n.get("name_zh") if lang == "zh-CN" else None) or n.get("name_en") or r["item_id"]
            elif level == "item" and d == "sku":
                row[title] = names.get(r["item_id"], {}).get("sku", "")
            elif d == "hour":
                row[title] = f"{int(r['hour']):02d}:00"
            elif d == "category":
                row[title] = r["category"] or sr.tr("uncategorised", lang)
            else:
                row[title] = r[d]
        for k in keys:
            row[sr.column_title(k, lang, cur, csv=True)] = sr.plain(metrics.BY_KEY[k], r[k], cur)
        out.append(row)
    name = f"sales-{level}-{f.start.isoformat()}-{f.end.isoformat()}"
    return _csv(out, titles, name)
