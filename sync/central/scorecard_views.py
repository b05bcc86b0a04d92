"""Head office's purchasing page (issue 16): the supplier scorecard across stores (each supplier's figures with a
row per store), the orders replenishment suggests in every store and the demand forecasts sent down to the stores. zh-CN and en (``?lang=``, remembered); every
figure is :mod:`sync.central.scorecard`'s / :mod:`sync.central.forecast`'s, the same the read API returns."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, render_template, request

from sync.central import forecast, metrics, officepage, scorecard, views
from sync.central import sales_report as sr

bp = Blueprint("central_purchasing_views", __name__)

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Suppliers and forecasts", "zh-CN": "供应商与需求预测"},
    "scorecard": {"en": "Supplier scorecard", "zh-CN": "供应商评分卡"},
    "supplier": {"en": "Supplier", "zh-CN": "供应商"},
    "store": {"en": "Store", "zh-CN": "门店"},
    "all_stores": {"en": "All stores", "zh-CN": "全部门店"},
    "orders": {"en": "Orders judged", "zh-CN": "已评估订单"},
    "on_time": {"en": "On time", "zh-CN": "准时率"},
    "fill": {"en": "Fill rate", "zh-CN": "满足率"},
    "lead": {"en": "Lead time (days)", "zh-CN": "实际交货期（天）"},
    "promised": {"en": "Promised (days)", "zh-CN": "承诺交货期（天）"},
    "variance": {"en": "Price variance", "zh-CN": "价格差异"},
    "quality": {"en": "Quality returns", "zh-CN": "质量退货率"},
    "suggested": {"en": "Suggested orders across stores", "zh-CN": "各门店建议订单"},
    "order": {"en": "Draft order", "zh-CN": "草稿订单"},
    "lines": {"en": "Lines", "zh-CN": "行数"},
    "total": {"en": "Total", "zh-CN": "合计"},
    "forecasts": {"en": "Demand forecasts sent to stores", "zh-CN": "下发门店的需求预测"},
    "item": {"en": "Item", "zh-CN": "商品"},
    "model": {"en": "Model", "zh-CN": "模型"},
    "start": {"en": "From", "zh-CN": "起始日"},
    "next7": {"en": "Next 7 days (units)", "zh-CN": "未来 7 天（件）"},
    "empty": {"en": "Nothing to show.", "zh-CN": "暂无数据。"},
}
MAX_FORECAST_ROWS = 500


# the engine, the office user, the login gate and the page language: one definition for every office page module
_engine, _user, _lang = officepage.engine, officepage.user, officepage.lang
bp.before_request(officepage.require_login)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def _cells(s: dict[str, Any], cur: str) -> list[str]:
    pv = s["price_variance_pct"]
    return [
        f"{s['on_time']}/{s['due']}",
        _pct(s["on_time_rate"]),
        _pct(s["fill_rate"]),
        _num(s["lead_time_days"]),
        _num(s["promised_lead_time_days"]),
        sr.money(s["price_variance_minor"], cur) + ("" if pv is None else f" ({pv:+.2f} %)"),
        _pct(s["quality_return_rate"]),
    ]


@bp.get("/purchasing")
def purchasing_page():
    lang = _lang()
    store_id = request.args.get("store") or None
    cur = metrics.currency(_engine(), store_id)
    card = scorecard.compute(_engine(), today=date.today(), store_id=store_id)
    rows = []
    for s in card["suppliers"]:
        rows.append({"label": f"{s['code']} {s['name']}", "total": True, "cells": _cells(s, cur)})
        if store_id is None:
            rows += [{"label": f"  {x['store_id']}", "total": False, "cells": _cells(x, cur)} for x in s["stores"]]
    sug = scorecard.suggested_orders(_engine(), store_id=store_id)
    suggested = [
        {
            "store": o["store_id"],
            "order": o["number"],
            "supplier": f"{o['supplier_code']} {o['supplier_name']}",
            "lines": ", ".join(f"{ln['sku'] or ln['item_id']} × {ln['qty']}" for ln in o["lines"]),
            "total": sr.money(o["total_minor"], cur),
        }
        for o in sug["orders"]
    ]
    fc = forecast.latest(_engine(), store_id=store_id)[:MAX_FORECAST_ROWS]
    forecasts = [
        {
            "store": f["store_id"],
            "item": f.get("sku") or f["item_id"],
            "model": f["model"],
            "start": f["start"],
            "next7": f"{sum(f['daily'][:7]):.1f}",
        }
        for f in fc
    ]
    here = {k: v for k, v in request.args.items() if k != "lang"}
    return render_template(
        "central_purchasing.html",
        title=TEXT["title"][lang],
        lang=lang,
        user=_user(),
        nav=views.NAV,
        active="/purchasing",
        csrf=views._csrf(),
        t={k: v[lang] for k, v in TEXT.items()},
        columns=[TEXT[k][lang] for k in ("orders", "on_time", "fill", "lead", "promised", "variance", "quality")],
        rows=rows,
        forecasts=forecasts,
        suggested=suggested,
        suggested_total=sr.money(sug["total_minor"], cur),
        store=store_id or "",
        links={"en": "?" + urlencode({**here, "lang": "en"}), "zh": "?" + urlencode({**here, "lang": "zh-CN"})},
    )
