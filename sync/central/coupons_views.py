"""Head office's coupon page (``/coupons``, issue 14): issue a batch of single-use codes for a promotion (and
download it as CSV), the batches with what was redeemed against each promotion's budget, and the codes redeemed
twice (two stores offline) found at sync. zh-CN and en (``?lang=``, remembered); every figure is
:mod:`sync.central.coupons`'s, the same the read API returns."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from hub.kernel.errors import StoreHubError
from sync.central import coupons, officepage, views
from sync.central import sales_report as sr

bp = Blueprint("central_coupons_views", __name__)

TEXT: dict[str, dict[str, str]] = {
    "title": {"en": "Coupons", "zh-CN": "优惠券"},
    "issue": {"en": "Issue codes", "zh-CN": "发放券码"},
    "promotion": {"en": "Promotion", "zh-CN": "促销"},
    "n": {"en": "How many", "zh-CN": "数量"},
    "member": {"en": "Member (optional)", "zh-CN": "会员（可选）"},
    "store": {"en": "Only for store (optional)", "zh-CN": "仅限门店（可选）"},
    "offline": {"en": "Usable offline", "zh-CN": "可离线使用"},
    "submit": {"en": "Issue", "zh-CN": "发放"},
    "issued": {"en": "Issued", "zh-CN": "已发放"},
    "batches": {"en": "Batches", "zh-CN": "批次"},
    "batch": {"en": "Batch", "zh-CN": "批次"},
    "redeemed": {"en": "Redeemed", "zh-CN": "已核销"},
    "budget": {"en": "Budget used", "zh-CN": "预算使用"},
    "csv": {"en": "CSV", "zh-CN": "CSV"},
    "doubles": {"en": "Redeemed twice (found at sync)", "zh-CN": "重复核销（同步时发现）"},
    "code": {"en": "Code", "zh-CN": "券码"},
    "sales": {"en": "Sales", "zh-CN": "销售单"},
    "none_doubles": {"en": "No code was redeemed twice.", "zh-CN": "没有重复核销的券码。"},
    "empty": {"en": "No coupons issued yet.", "zh-CN": "尚未发放优惠券。"},
    "admin_only": {"en": "Only an administrator issues codes.", "zh-CN": "仅管理员可发放券码。"},
}


# the engine, the office user, the login gate and the page language: one definition for every office page module
_engine, _user, _lang = officepage.engine, officepage.user, officepage.lang
bp.before_request(officepage.require_login)


def _budget(b: dict[str, Any] | None) -> str:
    if not b:
        return "-"
    out = [f"{b['redemptions']}" + (f" / {b['max_redemptions']}" if b["max_redemptions"] is not None else "")]
    cap = b["max_discount_minor"]
    out.append(sr.money(b["discount_minor"], "CNY") + (f" / {sr.money(cap, 'CNY')}" if cap is not None else ""))
    return " · ".join(out)


def _page(lang: str, *, error: str | None = None, issued: dict[str, Any] | None = None, status: int = 200):
    user = _user()
    rows = [
        {
            "batch": b["batch_id"],
            "promotion": b["promotion_id"],
            "n": b["n"],
            "member": b["member_id"] or "",
            "store": b["issuer_store"] or "",
            "offline": bool(b["offline"]),
            "issued": b["issued_at"],
            "redeemed": b["redeemed"],
            "budget": _budget(b["budget"]),
        }
        for b in coupons.batches(_engine())
    ]
    doubles = [
        {
            "code": d["code"],
            "promotion": d["promotion_id"],
            "sales": "; ".join(f"{r['store_id']} {r['sale_id']} ({r['at']})" for r in d["redemptions"]),
        }
        for d in coupons.double_redemptions(_engine())
    ]
    return (
        render_template(
            "central_coupons.html",
            title=TEXT["title"][lang],
            lang=lang,
            user=user,
            nav=views.NAV,
            active="/coupons",
            csrf=views._csrf(),
            t={k: v[lang] for k, v in TEXT.items()},
            rows=rows,
            doubles=doubles,
            error=error,
            issued=issued,
            admin=bool(user and user.get("role") == "admin"),
        ),
        status,
    )


@bp.get("/coupons")
def coupons_page():
    return _page(_lang())


@bp.post("/coupons")
def issue_form():
    views._check_csrf()
    lang = _lang()
    user = _user()
    if not user or user.get("role") != "admin":
        return _page(lang, error=TEXT["admin_only"][lang], status=403)
    f = request.form
    try:
        n = int(f.get("n") or 0)
        got = coupons.issue(
            _engine(),
            (f.get("promotion_id") or "").strip(),
            n,
            member_id=(f.get("member_id") or "").strip() or None,
            offline=f.get("offline") == "1",
            store_id=(f.get("store_id") or "").strip() or None,
            actor=str(user.get("username") or "office")[:64],
        )
    except ValueError:
        return _page(lang, error=TEXT["n"][lang], status=400)
    except StoreHubError as exc:
        return _page(lang, error=f"{exc.code}: {exc.message}", status=exc.status)
    return _page(lang, issued={"batch": got["batch_id"], "n": len(got["codes"])})


@bp.get("/coupons/<batch_id>.csv")
def batch_download(batch_id: str):
    user = _user()
    if not user or user.get("role") != "admin":
        return Response("forbidden", status=403)
    try:
        data = coupons.batch_csv(_engine(), batch_id)
    except StoreHubError as exc:
        return Response(exc.message, status=exc.status)
    safe = "".join(ch for ch in batch_id if ch.isalnum() or ch in "-_")
    return Response(
        data, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="coupons-{safe}.csv"'}
    )
