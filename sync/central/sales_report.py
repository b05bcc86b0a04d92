"""The sales report for people: page language, human column titles, money from minor units, drill-down.

Figures come from :mod:`sync.central.metrics` only; this module decides how they are *shown* (zh-CN or en, the
store currency, percentages) and which level a page shows: the group by store → a store by category → a
category by item (``by`` in the URL overrides: day or hour). The CSV export writes the same rows with the same
human titles, money in major units with the currency in the title (a sheet can still add them up)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sync.central import metrics

LANGS = ("en", "zh-CN")

# Currency symbol and minor digits; an unknown code shows itself with 2 digits.
CURRENCIES: dict[str, tuple[str, int]] = {
    "CNY": ("¥", 2),
    "HKD": ("HK$", 2),
    "USD": ("$", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
    "JPY": ("¥", 0),
    "TWD": ("NT$", 2),
    "SGD": ("S$", 2),
}

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Sales", "zh-CN": "销售报表"},
    "store_id": {"en": "Store", "zh-CN": "门店"},
    "category": {"en": "Category", "zh-CN": "品类"},
    "item_id": {"en": "Item", "zh-CN": "商品"},
    "sku": {"en": "SKU", "zh-CN": "货号"},
    "day": {"en": "Day", "zh-CN": "日期"},
    "hour": {"en": "Hour", "zh-CN": "时段"},
    "all_stores": {"en": "All stores", "zh-CN": "全部门店"},
    "by_store": {"en": "Sales by store", "zh-CN": "各门店销售"},
    "by_category": {"en": "Sales by category", "zh-CN": "各品类销售"},
    "by_item": {"en": "Sales by item", "zh-CN": "各商品销售"},
    "by_day": {"en": "Sales by day", "zh-CN": "每日销售"},
    "by_hour": {"en": "Sales by hour of day", "zh-CN": "分时段销售"},
    "by_store_day": {"en": "Sales by store and day", "zh-CN": "门店每日销售"},
    "chart_day": {"en": "Net sales per day: this year and last year", "zh-CN": "每日净销售额:今年与去年同期"},
    "chart_hour": {"en": "Net sales by hour of day", "zh-CN": "各时段净销售额"},
    "chart_level": {"en": "Net sales", "zh-CN": "净销售额"},
    "this_year": {"en": "This year", "zh-CN": "今年"},
    "last_year": {"en": "Last year", "zh-CN": "去年"},
    "from": {"en": "From", "zh-CN": "开始日期"},
    "to": {"en": "To", "zh-CN": "结束日期"},
    "show": {"en": "Show", "zh-CN": "显示"},
    "apply": {"en": "Apply", "zh-CN": "应用"},
    "export": {"en": "Export CSV", "zh-CN": "导出 CSV"},
    "all": {"en": "all", "zh-CN": "全部"},
    "none": {"en": "Nothing sold in these days.", "zh-CN": "所选日期内没有销售。"},
    "uncategorised": {"en": "(no category)", "zh-CN": "(未分类)"},
    "days_unit": {"en": " days", "zh-CN": " 天"},
    "period": {
        "en": "Local days {start} to {end}; money in {cur}",
        "zh-CN": "门店当地日期 {start} 至 {end};金额单位 {cur}",
    },
    "back": {"en": "Up one level", "zh-CN": "返回上一级"},
    "dates": {
        "en": "Dates are YYYY-MM-DD, start not after end, at most ten years.",
        "zh-CN": "日期格式为 YYYY-MM-DD,开始不晚于结束,最长十年。",
    },
}

# Columns of the main table per level: the figures a regional manager reads first (fits a laptop; the ones
# marked optional are hidden on a phone).
LEVEL_COLUMNS: dict[str, list[str]] = {
    "store": [
        "net_sales",
        "vs_ly",
        "transactions",
        "basket_size",
        "units_per_basket",
        "gross_margin",
        "returns_rate",
        "discount_share",
    ],
    "category": ["net_sales", "vs_ly", "units", "gross_margin", "returns_rate", "discount_share"],
    "item": ["net_sales", "vs_ly", "units", "gross_margin", "returns_rate", "discount_share"],
    "day": ["net_sales", "net_sales_ly", "vs_ly", "transactions", "basket_size", "gross_margin"],
    "hour": ["net_sales", "net_sales_ly", "vs_ly", "transactions", "basket_size", "units_per_basket"],
    "store_day": ["net_sales", "net_sales_ly", "transactions", "basket_size", "units", "gross_margin"],
}
OPTIONAL = {"units_per_basket", "discount_share", "returns_rate", "net_sales_ly", "units"}
KPIS = [
    "net_sales",
    "vs_ly",
    "transactions",
    "basket_size",
    "units_per_basket",
    "gross_margin",
    "returns_rate",
    "discount_share",
    "member_share",
    "shrink_rate",
    "stock_out_rate",
    "days_of_inventory",
]


def pick_lang(arg: str | None, remembered: str | None, accept: Any) -> str:
    """The page language: an explicit ``?lang=`` toggle, else the one remembered, else the browser's."""
    for v in (arg, remembered):
        if v in LANGS:
            return v
    best = accept.best_match(["en", "zh-CN", "zh", "zh-Hans", "zh-TW", "zh-HK"]) if accept else None
    return "zh-CN" if best and best.startswith("zh") else "en"


def tr(key: str, lang: str) -> str:
    return TEXT[key][lang]


def money(minor: int | None, cur: str) -> str:
    """``12345`` CNY → ``¥123.45`` (thousands separated; a minus in front of the symbol)."""
    if minor is None:
        return "—"
    sym, digits = CURRENCIES.get(cur, (cur + " ", 2))
    major = Decimal(abs(int(minor))).scaleb(-digits)
    return ("−" if minor < 0 else "") + sym + f"{major:,.{digits}f}"


def money_plain(minor: int | None, cur: str) -> str:
    """Major units without symbol or separators (CSV): ``12345`` → ``123.45``."""
    if minor is None:
        return ""
    digits = CURRENCIES.get(cur, ("", 2))[1]
    return f"{Decimal(int(minor)).scaleb(-digits):.{digits}f}"


def show(m: metrics.Metric, v: Any, cur: str, lang: str) -> str:
    if v is None:
        return "—"
    if m.unit == "money":
        return money(v, cur)
    if m.unit == "ratio":
        return f"{v * 100:+.1f}%" if m.key == "vs_ly" else f"{v * 100:.1f}%"
    if m.unit == "count":
        return f"{int(v):,}"
    if m.unit == "days":
        return f"{v:,.1f}{tr('days_unit', lang)}"
    return f"{v:,.2f}"


def plain(m: metrics.Metric, v: Any, cur: str) -> Any:
    """A CSV cell: money in major units, ratios in percent (2 decimals), counts as integers."""
    if v is None:
        return ""
    if m.unit == "money":
        return money_plain(v, cur)
    if m.unit == "ratio":
        return f"{v * 100:.2f}"
    if m.unit == "count":
        return int(v)
    return f"{v:.2f}"


def column_title(key: str, lang: str, cur: str, csv: bool = False) -> str:
    if key in metrics.BY_KEY:
        m = metrics.BY_KEY[key]
        name = m.en if lang == "en" else m.zh
        if csv and m.unit == "money":
            return f"{name} ({cur})"
        if csv and m.unit == "ratio":
            return f"{name} (%)"
        return name
    return tr(key, lang)


def level_of(by: str | None, store: str | None, category: str | None) -> str:
    """Which grain the main table shows: an explicit ``by``, else the next level of the drill-down."""
    if by in metrics.GRAINS and by != "total":
        return by
    if not store:
        return "store"
    return "item" if category is not None else "category"


def default_range(latest: date | None, today: date) -> tuple[date, date]:
    end = latest or today
    return end - timedelta(days=29), end


def label_of(level: str, row: dict[str, Any], lang: str, names: dict[str, dict[str, str]]) -> str:
    if level in ("store", "store_day"):
        return str(row["store_id"]) + (f" {row['day']}" if level == "store_day" else "")
    if level == "category":
        return row["category"] or tr("uncategorised", lang)
    if level == "item":
        n = names.get(row["item_id"], {})
        name = (n.get("name_zh") if lang == "zh-CN" else None) or n.get("name_en") or n.get("sku") or row["item_id"]
        return f"{n.get('sku', '')} {name}".strip()
    if level == "hour":
        return f"{int(row['hour']):02d}:00"
    return str(row["day"])
