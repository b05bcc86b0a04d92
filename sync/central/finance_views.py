"""Head office's P&L pages (issue 18): the group's month (or day) per store with actual vs budget, adverse
variances highlighted, and the drill-down group → store → category. zh-CN and en (``?lang=``, remembered), money
from minor units; every figure is :mod:`sync.central.finance`'s, the same the read API returns."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for

from hub.kernel.errors import StoreHubError
from sync.central import finance, metrics, officepage, views
from sync.central import sales_report as sr

bp = Blueprint("central_finance_views", __name__)

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "P&L and budgets", "zh-CN": "损益与预算"},
    "group": {"en": "Group", "zh-CN": "集团"},
    "month": {"en": "Month", "zh-CN": "月份"},
    "day": {"en": "Day (instead of month)", "zh-CN": "日期（代替月份）"},
    "apply": {"en": "Show", "zh-CN": "显示"},
    "store": {"en": "Store", "zh-CN": "门店"},
    "category": {"en": "Category", "zh-CN": "品类"},
    "uncategorised": {"en": "(uncategorised)", "zh-CN": "（未分类）"},
    "total": {"en": "Total", "zh-CN": "合计"},
    "stores": {"en": "Stores", "zh-CN": "各门店"},
    "categories": {"en": "Categories", "zh-CN": "各品类"},
    "expenses": {"en": "Other expenses", "zh-CN": "其他费用"},
    "budget": {"en": "Actual vs budget", "zh-CN": "实际与预算"},
    "line": {"en": "Line", "zh-CN": "项目"},
    "actual": {"en": "Actual", "zh-CN": "实际"},
    "budgeted": {"en": "Budget", "zh-CN": "预算"},
    "variance": {"en": "Variance", "zh-CN": "差异"},
    "variance_pct": {"en": "Variance %", "zh-CN": "差异 %"},
    "adverse": {"en": "adverse beyond {pct} %", "zh-CN": "不利差异超过 {pct}%"},
    "sales": {"en": "Net sales ex VAT", "zh-CN": "不含税净销售额"},
    "margin": {"en": "Gross margin", "zh-CN": "毛利"},
    "empty": {"en": "Nothing to show.", "zh-CN": "暂无数据。"},
    "gross_sales_minor": {"en": "Gross sales", "zh-CN": "销售总额"},
    "promotion_cost_minor": {"en": "Promotion cost", "zh-CN": "促销成本"},
    "net_sales_minor": {"en": "Net sales", "zh-CN": "净销售额"},
    "vat_minor": {"en": "VAT", "zh-CN": "增值税"},
    "net_sales_ex_vat_minor": {"en": "Net sales ex VAT", "zh-CN": "不含税净销售额"},
    "cogs_minor": {"en": "COGS", "zh-CN": "销售成本"},
    "gross_margin_minor": {"en": "Gross margin", "zh-CN": "毛利"},
    "shrink_minor": {"en": "Shrink", "zh-CN": "损耗"},
    "points_liability_minor": {"en": "Points liability", "zh-CN": "积分负债"},
    "expenses_minor": {"en": "Other expenses", "zh-CN": "其他费用"},
    "operating_result_minor": {"en": "Operating result", "zh-CN": "经营利润"},
}
FIGURES = (
    "gross_sales_minor",
    "promotion_cost_minor",
    "net_sales_minor",
    "vat_minor",
    "net_sales_ex_vat_minor",
    "cogs_minor",
    "gross_margin_minor",
    "shrink_minor",
    "points_liability_minor",
    "expenses_minor",
    "operating_result_minor",
)


def _t(key: str, lang: str, **kw: Any) -> str:
    return TEXT[key][lang].format(**kw)


# the engine, the office user, the login gate and the page language: one definition for every office page module
_engine, _user, _lang = officepage.engine, officepage.user, officepage.lang
bp.before_request(officepage.require_login)


def _csrf() -> str:
    return views._csrf()


def _nav():
    return views.NAV


def _row(label: str, href: str | None, figures: dict[str, int], cur: str) -> dict[str, Any]:
    return {"label": label, "href": href, "cells": [sr.money(figures.get(k), cur) for k in FIGURES]}


@bp.get("/finance")
@bp.get("/finance/<store_id>")
def pnl_page(store_id: str | None = None):
    lang = _lang()
    cur = metrics.currency(_engine(), store_id)
    day = request.args.get("day") or None
    month = request.args.get("month") or (None if day else date.today().isoformat()[:7])
    args: dict[str, Any] = {k: v for k, v in (("month", None if day else month), ("day", day)) if v}
    error, rows, total, budget, expenses = None, [], None, None, []
    crumbs: list[dict[str, Any]] = [{"text": _t("group", lang), "href": url_for(".pnl_page", **args)}]
    try:
        if store_id is None:
            pnl = finance.consolidated(_engine(), month=None if day else month, day=day)
            rows = [
                _row(s["name"], url_for(".pnl_page", store_id=s["store_id"], **args), s, cur) for s in pnl["stores"]
            ]
            total = _row(_t("total", lang), None, pnl["total"], cur)
            if not day and month:
                budget = finance.actual_vs_budget(_engine(), month)
        else:
            pnl = finance.store_pnl(_engine(), store_id, month=None if day else month, day=day)
            crumbs.append({"text": store_id, "href": None})
            rows = [_row(c["category"] or _t("uncategorised", lang), None, c, cur) for c in pnl["categories"]]
            total = _row(_t("total", lang), None, pnl["total"], cur)
            expenses = [{"line": e["line"], "amount": sr.money(e["amount_minor"], cur)} for e in pnl["expenses"]]
    except StoreHubError as exc:
        error = str(exc)
    budget_rows = []
    if budget is not None:
        for s in budget["stores"]:
            for x in s["lines"]:
                budget_rows.append(
                    {
                        "store": s["name"],
                        "line": _t(x["line"], lang),
                        "actual": sr.money(x["actual_minor"], cur),
                        "budget": sr.money(x["budget_minor"], cur),
                        "variance": sr.money(x["variance_minor"], cur),
                        "pct": "—" if x["variance_pct"] is None else f"{x['variance_pct']:+.1f}",
                        "adverse": x["adverse"],
                    }
                )
    here = {k: v for k, v in request.args.items() if k != "lang"}
    return render_template(
        "central_finance.html",
        title=_t("title", lang),
        lang=lang,
        user=_user(),
        nav=_nav(),
        active="/finance",
        csrf=_csrf(),
        t={k: v[lang] for k, v in TEXT.items()},
        columns=[_t(k, lang) for k in FIGURES],
        first=_t("stores" if store_id is None else "categories", lang),
        rows=rows,
        total=total,
        budget_rows=budget_rows,
        adverse_note=_t("adverse", lang, pct=int(finance.ADVERSE_PCT)) if budget_rows else "",
        expenses=expenses,
        crumbs=crumbs,
        month=month or "",
        day=day or "",
        error=error,
        links={
            "en": "?" + urlencode({**here, "lang": "en"}),
            "zh": "?" + urlencode({**here, "lang": "zh-CN"}),
        },
    ), (400 if error else 200)
