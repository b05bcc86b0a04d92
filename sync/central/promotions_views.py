"""Head office's promotion pages (issue 14): the list, the authoring form for every type (the JSON format the engine
reads), validation naming the field, flags (conflicts, can-never-apply), a preview of a sample basket priced by the
hubs' engine, and publishing to the stores through the versioned downlink (admins only). zh-CN and en (``?lang=``,
remembered). Every decision is :mod:`sync.central.promotions`'s."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, render_template, request

from hub.kernel.errors import StoreHubError
from hub.promotions.engine import TYPES
from sync.central import officepage, stores, views
from sync.central import promotions as promo

bp = Blueprint("central_promotions_views", __name__)

T: dict[str, dict[str, str]] = {
    "title": {"en": "Promotions", "zh-CN": "促销"},
    "new": {"en": "New promotion", "zh-CN": "新建促销"},
    "edit": {"en": "Edit promotion", "zh-CN": "编辑促销"},
    "id": {"en": "ID", "zh-CN": "编号"},
    "name_en": {"en": "Name (English)", "zh-CN": "名称（英文）"},
    "name_zh": {"en": "Name (Chinese)", "zh-CN": "名称（中文）"},
    "type": {"en": "Type", "zh-CN": "类型"},
    "phase": {"en": "Phase", "zh-CN": "阶段"},
    "params": {"en": "Parameters (JSON)", "zh-CN": "参数（JSON）"},
    "skus": {"en": "SKUs", "zh-CN": "商品编码"},
    "categories": {"en": "Categories", "zh-CN": "品类"},
    "brands": {"en": "Brands", "zh-CN": "品牌"},
    "exclude_skus": {"en": "Excluded SKUs", "zh-CN": "排除商品"},
    "list_hint": {"en": "comma separated; all empty = whole basket", "zh-CN": "逗号分隔；全部留空 = 整单"},
    "exclusive": {"en": "Exclusive", "zh-CN": "独享"},
    "priority": {"en": "Priority", "zh-CN": "优先级"},
    "members_only": {"en": "Members only", "zh-CN": "仅限会员"},
    "coupon": {"en": "Coupon code", "zh-CN": "优惠券码"},
    "schedule": {"en": "Schedule", "zh-CN": "排期"},
    "valid_from": {"en": "Valid from", "zh-CN": "开始时间"},
    "valid_to": {"en": "Valid to", "zh-CN": "结束时间"},
    "time_hint": {
        "en": "ISO time with offset, e.g. 2026-12-01T00:00:00+08:00",
        "zh-CN": "带时区的 ISO 时间，例如 2026-12-01T00:00:00+08:00",
    },
    "weekdays": {"en": "Weekdays", "zh-CN": "星期"},
    "hours": {"en": "Hours (store time)", "zh-CN": "时段（门店时间）"},
    "hours_hint": {"en": "e.g. 09:00-12:00, 18:00-21:00", "zh-CN": "例如 09:00-12:00, 18:00-21:00"},
    "stores": {"en": "Target stores", "zh-CN": "目标门店"},
    "all_stores": {"en": "All stores", "zh-CN": "全部门店"},
    "basket": {"en": "Sample basket (JSON)", "zh-CN": "示例购物篮（JSON）"},
    "validate": {"en": "Validate", "zh-CN": "校验"},
    "preview": {"en": "Preview", "zh-CN": "预览"},
    "publish": {"en": "Publish", "zh-CN": "发布"},
    "acknowledge": {"en": "Publish despite the flags", "zh-CN": "忽略提示仍然发布"},
    "valid_ok": {"en": "Valid: the hubs will accept it.", "zh-CN": "校验通过：门店可以接收。"},
    "errors": {"en": "Errors", "zh-CN": "错误"},
    "field": {"en": "Field", "zh-CN": "字段"},
    "flags": {"en": "Flags", "zh-CN": "提示"},
    "never": {"en": "Can never apply", "zh-CN": "永远不会生效"},
    "conflict": {"en": "Conflict", "zh-CN": "冲突"},
    "coupon_only": {"en": "Coupon-only", "zh-CN": "仅限优惠券"},
    "no_flags": {"en": "No conflicts; it can apply.", "zh-CN": "无冲突，可以生效。"},
    "published": {"en": "Published as downlink version {versions}.", "zh-CN": "已发布，下发版本 {versions}。"},
    "admin_only": {"en": "Only a head-office admin may publish.", "zh-CN": "只有总部管理员可以发布。"},
    "sku": {"en": "SKU", "zh-CN": "商品编码"},
    "qty": {"en": "Qty / g", "zh-CN": "数量/克"},
    "gross": {"en": "Gross", "zh-CN": "原价"},
    "discount": {"en": "Discount", "zh-CN": "优惠"},
    "net": {"en": "Net", "zh-CN": "实付"},
    "why": {"en": "Applied", "zh-CN": "适用促销"},
    "total": {"en": "Total", "zh-CN": "合计"},
    "rejected": {"en": "Rejected coupons", "zh-CN": "未采用的优惠券"},
    "version": {"en": "Version", "zh-CN": "版本"},
    "target": {"en": "Stores", "zh-CN": "门店"},
    "valid": {"en": "Valid", "zh-CN": "有效期"},
    "author": {"en": "Published by", "zh-CN": "发布人"},
    "empty": {"en": "No promotions published yet.", "zh-CN": "尚未发布任何促销。"},
    "types": {"en": "Start from a type", "zh-CN": "按类型新建"},
}
TYPE_NAMES: dict[str, dict[str, str]] = {
    "percent_off": {"en": "Percent off", "zh-CN": "打折"},
    "fixed_price": {"en": "Fixed price", "zh-CN": "一口价"},
    "spend_save": {"en": "Spend and save", "zh-CN": "满减"},
    "buy_x_get_y": {"en": "Buy X get Y", "zh-CN": "买赠"},
    "bundle_price": {"en": "Bundle price", "zh-CN": "组合价"},
    "nth_item_off": {"en": "N-th item off", "zh-CN": "第N件优惠"},
}
SAMPLE_BASKET = {"coupons": [], "member": None, "lines": [{"sku": "SKU-A", "qty": 3, "unit_price_minor": 1000}]}


# the engine, the office user, the login gate and the page language: one definition for every office page module
_engine, _user, _lang = officepage.engine, officepage.user, officepage.lang
bp.before_request(officepage.require_login)


def _words(s: str) -> list[str]:
    return [w.strip() for w in s.replace("，", ",").split(",") if w.strip()]


def form_to_promotion(f: Any) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The form's fields as the JSON the engine reads; fields that cannot even be read are errors naming them."""
    errors: list[dict[str, str]] = []
    raw: dict[str, Any] = {
        "id": f.get("id", "").strip(),
        "name": {"en": f.get("name_en", "").strip(), "zh-CN": f.get("name_zh", "").strip()},
        "type": f.get("type", ""),
    }
    try:
        raw["params"] = json.loads(f.get("params") or "{}")
    except ValueError as exc:
        errors.append({"field": "params", "message": f"params: not JSON ({exc})"})
        raw["params"] = {}
    scope = {k: _words(f.get(k, "")) for k in ("skus", "categories", "brands", "exclude_skus")}
    scope = {k: v for k, v in scope.items() if v}
    if scope:
        raw["scope"] = scope
    if f.get("phase"):
        raw["phase"] = f["phase"]
    raw["exclusive"] = bool(f.get("exclusive"))
    try:
        raw["priority"] = int(f.get("priority") or 0)
    except ValueError:
        errors.append({"field": "priority", "message": "priority: a whole number"})
    raw["members_only"] = bool(f.get("members_only"))
    raw["coupon"] = f.get("coupon", "").strip() or None
    valid: dict[str, Any] = {"from": f.get("valid_from", "").strip(), "to": f.get("valid_to", "").strip()}
    days = [int(d) for d in f.getlist("weekdays") if d.isdigit()] if hasattr(f, "getlist") else []
    if days:
        valid["weekdays"] = days
    spans = []
    for i, s in enumerate(_words(f.get("hours", ""))):
        parts = [x.strip() for x in s.replace("–", "-").split("-")]
        if len(parts) != 2:
            errors.append({"field": f"valid.hours[{i}]", "message": f"valid.hours[{i}]: write HH:MM-HH:MM"})
        else:
            spans.append(parts)
    if spans:
        valid["hours"] = spans
    raw["valid"] = valid
    return raw, errors


def promotion_to_form(raw: dict[str, Any]) -> dict[str, Any]:
    scope = raw.get("scope") or {}
    valid = raw.get("valid") or {}
    return {
        "id": raw.get("id", ""),
        "name_en": (raw.get("name") or {}).get("en", ""),
        "name_zh": (raw.get("name") or {}).get("zh-CN", ""),
        "type": raw.get("type", "percent_off"),
        "params": json.dumps(raw.get("params", {}), ensure_ascii=False),
        **{k: ", ".join(scope.get(k, [])) for k in ("skus", "categories", "brands", "exclude_skus")},
        "phase": raw.get("phase", ""),
        "exclusive": bool(raw.get("exclusive")),
        "priority": raw.get("priority", 0),
        "members_only": bool(raw.get("members_only")),
        "coupon": raw.get("coupon") or "",
        "valid_from": valid.get("from", ""),
        "valid_to": valid.get("to", ""),
        "weekdays": valid.get("weekdays", []),
        "hours": ", ".join(f"{a}-{b}" for a, b in valid.get("hours", [])),
    }


def _links(**extra: str) -> dict[str, str]:
    base = request.path
    return {"en": f"{base}?lang=en", "zh": f"{base}?lang=zh-CN"} | extra


def _ctx(lang: str) -> dict[str, Any]:
    return {
        "t": {k: v[lang] for k, v in T.items()},
        "type_names": {k: v[lang] for k, v in TYPE_NAMES.items()},
        "types": TYPES,
        "lang": lang,
        "user": _user(),
        "nav": views.NAV,
        "active": "/promotions",
        "csrf": views._csrf(),
        "links": _links(),
    }


@bp.get("/promotions")
def index():
    lang = _lang()
    rows = []
    for r in promo.published(_engine()):
        p = r["payload"]
        rows.append(
            {
                "id": r["key"],
                "name": (p.get("name") or {}).get(lang) or (p.get("name") or {}).get("en") or r["key"],
                "type": TYPE_NAMES.get(p.get("type"), {}).get(lang, p.get("type")),
                "scope": r["scope"],
                "valid": f"{(p.get('valid') or {}).get('from', '')} – {(p.get('valid') or {}).get('to', '')}",
                "version": r["version"],
                "author": r["author"],
                "at": r["created_at"],
            }
        )
    ctx = _ctx(lang)
    return render_template("central_promotions.html", title=ctx["t"]["title"], rows=rows, **ctx)


def _stores_list() -> list[dict[str, Any]]:
    return [{"id": s["store_id"], "name": s["name"]} for s in stores.list_stores(_engine())]


def _form_page(lang: str, form: dict[str, Any], *, targets: list[str], basket: str, status: int = 200, **result):
    ctx = _ctx(lang)
    title = ctx["t"]["edit"] if result.get("editing") else ctx["t"]["new"]
    return render_template(
        "central_promotions_form.html",
        title=title,
        form=form,
        targets=targets,
        basket=basket,
        store_list=_stores_list(),
        is_admin=(ctx["user"] or {}).get("role") == "admin",
        **ctx,
        **result,
    ), status


@bp.get("/promotions/new")
def new():
    lang = _lang()
    kind = request.args.get("type") if request.args.get("type") in TYPES else "percent_off"
    form = promotion_to_form(
        {
            "type": kind,
            "params": promo.EXAMPLE_PARAMS[kind],
            "valid": {"from": "", "to": ""},
        }
    )
    return _form_page(lang, form, targets=["*"], basket=json.dumps(SAMPLE_BASKET, ensure_ascii=False))


@bp.get("/promotions/<pid>/edit")
def edit(pid: str):
    lang = _lang()
    raw = promo.latest_payload(_engine(), pid)
    if raw is None:
        abort(404)
    return _form_page(
        lang,
        promotion_to_form(raw),
        targets=promo.targets_of(_engine(), pid),
        basket=json.dumps(SAMPLE_BASKET, ensure_ascii=False),
        editing=True,
    )


@bp.post("/promotions/check")
def submit():
    """One form, three buttons: validate (errors and flags), preview (a priced basket) and publish."""
    views._check_csrf()
    lang = _lang()
    action = request.form.get("action", "validate")
    raw, errors = form_to_promotion(request.form)
    targets = request.form.getlist("stores") or []
    if "*" in targets:
        targets = ["*"]
    basket_text = request.form.get("basket") or json.dumps(SAMPLE_BASKET)
    result: dict[str, Any] = {"checked": True, "editing": bool(request.form.get("editing"))}
    if not errors:
        _p, errors = promo.check(raw)
    status = 200
    flags: list[dict[str, Any]] = []
    if not errors:
        flags = promo.flags(_engine(), raw, targets or ["*"], lang=lang)
    result.update(errors=errors, flags=flags, raw_json=json.dumps(raw, ensure_ascii=False, indent=1))
    if errors:
        status = 400
    elif action == "preview":
        try:
            basket = json.loads(basket_text)
            result["priced"] = promo.preview(_engine(), raw, basket, targets[0] if targets else "*")
        except ValueError as exc:
            result["errors"] = [{"field": "basket", "message": f"basket: {exc}"}]
            status = 400
        except StoreHubError as exc:
            field = (getattr(exc, "details", None) or {}).get("field", "basket")
            result["errors"] = [{"field": f"basket.{field}", "message": str(exc)}]
            status = 400
    elif action == "publish":
        user = _user() or {}
        try:
            rows = promo.publish(_engine(), raw, targets, user, acknowledge=bool(request.form.get("acknowledge")))
            result["published"] = T["published"][lang].format(versions=", ".join(str(r["version"]) for r in rows))
        except StoreHubError as exc:
            status = exc.status
            if exc.code == "forbidden":
                result["errors"] = [{"field": "", "message": T["admin_only"][lang]}]
            elif exc.code != "promotion_flagged":
                field = (getattr(exc, "details", None) or {}).get("field", "")
                result["errors"] = [{"field": field, "message": str(exc)}]
            result["refused"] = True
    form = promotion_to_form(raw)
    form["params"] = request.form.get("params", form["params"])
    return _form_page(lang, form, targets=targets, basket=basket_text, status=status, **result)
