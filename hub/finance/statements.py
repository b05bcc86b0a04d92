"""The payment providers' daily merchant statements, parsed from their documented layouts (pure: bytes in,
rows out; docs/finance.md "Statements").

* WeChat Pay ``pay/downloadbill`` ``bill_type=ALL``: UTF-8 text, a 27-column detail header, detail rows whose
  every value starts with a backtick, then the summary header and the summary row (amounts in yuan).
* Alipay 账单 (``alipay.data.dataservice.bill.downloadurl.query``, ``bill_type=trade``): a ``csv.zip`` holding a
  GBK ``…_业务明细.csv``: ``#`` lines (title, ``#账号：[…]``, dates, the list's start), the 25-column header, the
  rows (业务类型 ``交易`` or ``退款``, a refund's 商家实收 negative), the list's end and ``#`` summary lines.

Anything else — another layout, a column missing or moved, a summary that does not add up — is refused as a
whole (``statement_layout``): nothing of a file is imported unless all of it is understood."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

from hub.finance.rules import fen
from hub.kernel.errors import ValidationError

WECHAT_ALL = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
).split(",")
WECHAT_SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额".split(
    ","
)

ALIPAY_DETAIL = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
    "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,"
    "商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
).split(",")


def _layout_error(provider: str, why: str, **details: Any) -> ValidationError:
    return ValidationError(
        f"not a {provider} statement in the documented layout: {why}",
        code="statement_layout",
        details={"provider": provider, "reason": why, **details},
    )


def parse_wechat(data: bytes) -> dict[str, Any]:
    """A ``downloadbill`` ALL statement → ``{merchant_id, layout, rows, totals}``."""
    if data[:1] == b"<":
        raise _layout_error("wechatpay", "the file is an XML error answer, not a bill")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _layout_error("wechatpay", "not UTF-8 text") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 3:
        raise _layout_error("wechatpay", "too short (header, rows, summary header and summary expected)")
    header = [h.strip() for h in lines[0].split(",")]
    if header != WECHAT_ALL:
        raise _layout_error("wechatpay", "the detail header is not the 27 columns of bill_type ALL", header=header[:30])
    if [h.strip() for h in lines[-2].split(",")] != WECHAT_SUMMARY:
        raise _layout_error("wechatpay", "the summary header is missing or not ALL's")
    rows: list[dict[str, Any]] = []
    merchants: set[str] = set()
    for n, line in enumerate(lines[1:-2], start=2):
        values = line.split(",")
        if len(values) != len(WECHAT_ALL) or not all(v.startswith("`") for v in values):
            raise _layout_error("wechatpay", f"line {n} is not 27 backtick-prefixed values", line_no=n)
        r = dict(zip(WECHAT_ALL, (v[1:].strip() for v in values), strict=True))
        merchants.add(r["商户号"])
        status = r["交易状态"]
        refund = status == "REFUND"
        amount = -fen(r["退款金额"], field="退款金额") if refund else fen(r["应结订单金额"], field="应结订单金额")
        fee_minor = fen(r["手续费"], field="手续费")
        if status not in ("SUCCESS", "REFUND", "REVOKED"):
            raise _layout_error("wechatpay", f"line {n}: unknown 交易状态 {status!r}", line_no=n)
        rows.append(
            {
                "line_no": n,
                "kind": "refund" if refund else "payment",
                "out_trade_no": r["商户订单号"],
                "refund_no": r["商户退款单号"] if refund else None,
                "provider_ref": r["微信订单号"],
                "status": status,
                "amount_minor": amount,
                "fee_minor": -abs(fee_minor) if refund else fee_minor,
                "ts": r["交易时间"],
            }
        )
    summary_values = lines[-1].split(",")
    if len(summary_values) != len(WECHAT_SUMMARY) or not all(v.startswith("`") for v in summary_values):
        raise _layout_error("wechatpay", "the summary row is not 7 backtick-prefixed values")
    s = dict(zip(WECHAT_SUMMARY, (v[1:].strip() for v in summary_values), strict=True))
    totals = {
        "count": len(rows),
        "payments_minor": sum(r["amount_minor"] for r in rows if r["kind"] == "payment"),
        "refunds_minor": -sum(r["amount_minor"] for r in rows if r["kind"] == "refund"),
        "fees_minor": sum(r["fee_minor"] for r in rows),
    }
    stated = {
        "count": int(s["总交易单数"]) if s["总交易单数"].isdigit() else -1,
        "payments_minor": fen(s["应结订单总金额"], field="应结订单总金额"),
        "refunds_minor": fen(s["退款总金额"], field="退款总金额"),
        "fees_minor": fen(s["手续费总金额"], field="手续费总金额"),
    }
    if stated != totals:
        raise _layout_error(
            "wechatpay", "the summary row does not add up to the detail rows", stated=stated, rows=totals
        )
    if len(merchants) > 1:
        raise _layout_error("wechatpay", "rows of several merchants in one statement", merchants=sorted(merchants))
    return {
        "provider": "wechatpay",
        "layout": "wechatpay.downloadbill.ALL",
        "merchant_id": next(iter(merchants), ""),
        "bill_date": None,
        "rows": rows,
        "totals": totals,
    }


_ACCOUNT = re.compile(r"^#账号：\[(\d+)\]")
_DATES = re.compile(r"^#起始日期：\[(\d{4})年(\d{2})月(\d{2})日")
_TRADE_TOTAL = re.compile(r"^#交易合计：(\d+)笔")
_REFUND_TOTAL = re.compile(r"^#退款合计：(\d+)笔")


def parse_alipay(data: bytes) -> dict[str, Any]:
    """An Alipay ``csv.zip`` trade statement → ``{merchant_id, bill_date, layout, rows, totals}``."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _layout_error("alipay", "not a csv.zip") from None
    names = [n for n in zf.namelist() if n.endswith("_业务明细.csv")]
    if len(names) != 1:
        raise _layout_error("alipay", "the zip holds no (or several) …_业务明细.csv", files=zf.namelist())
    try:
        text = zf.read(names[0]).decode("gbk")
    except UnicodeDecodeError:
        raise _layout_error("alipay", "the 业务明细 file is not GBK text") from None
    lines = text.splitlines()
    merchant = bill_date = None
    header_at = None
    for i, line in enumerate(lines):
        if m := _ACCOUNT.match(line):
            merchant = m.group(1)
        elif m := _DATES.match(line):
            bill_date = f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
        elif not line.startswith("#"):
            header_at = i
            break
    if merchant is None or bill_date is None or header_at is None:
        raise _layout_error("alipay", "the # header lines (账号, 起始日期) are missing")
    header = [h.strip() for h in next(csv.reader([lines[header_at]]))]
    if header != ALIPAY_DETAIL:
        raise _layout_error("alipay", "the header is not the 25 columns of 业务明细", header=header[:30])
    rows: list[dict[str, Any]] = []
    end = None
    for n, values in enumerate(csv.reader(lines[header_at + 1 :]), start=header_at + 2):
        if values and values[0].startswith("#"):
            end = n
            break
        if not values:
            continue
        if len(values) != len(ALIPAY_DETAIL):
            raise _layout_error("alipay", f"line {n} has {len(values)} columns, not 25", line_no=n)
        r = dict(zip(ALIPAY_DETAIL, (v.strip() for v in values), strict=True))
        kind = {"交易": "payment", "退款": "refund"}.get(r["业务类型"])
        if kind is None:
            raise _layout_error("alipay", f"line {n}: unknown 业务类型 {r['业务类型']!r}", line_no=n)
        received = fen(r["商家实收（元）"], field="商家实收")
        fee_minor = abs(fen(r["服务费（元）"], field="服务费"))
        if (kind == "refund") != (received < 0):
            raise _layout_error("alipay", f"line {n}: a refund's 商家实收 must be negative, a trade's not", line_no=n)
        rows.append(
            {
                "line_no": n,
                "kind": kind,
                "out_trade_no": r["商户订单号"],
                "refund_no": (r["退款批次号/请求号"] or r["商户订单号"]) if kind == "refund" else None,
                "provider_ref": r["支付宝交易号"],
                "status": r["业务类型"],
                "amount_minor": received,
                "fee_minor": -fee_minor if kind == "refund" else fee_minor,
                "ts": r["完成时间"] or r["创建时间"],
            }
        )
    if end is None:
        raise _layout_error("alipay", "the 业务明细列表结束 line is missing (a cut file?)")
    trades = sum(1 for r in rows if r["kind"] == "payment")
    refunds = len(rows) - trades
    for line in lines[end:]:
        if (m := _TRADE_TOTAL.match(line)) and int(m.group(1)) != trades:
            raise _layout_error("alipay", "交易合计 does not count the trade rows", stated=int(m.group(1)), rows=trades)
        if (m := _REFUND_TOTAL.match(line)) and int(m.group(1)) != refunds:
            raise _layout_error(
                "alipay", "退款合计 does not count the refund rows", stated=int(m.group(1)), rows=refunds
            )
    totals = {
        "count": len(rows),
        "payments_minor": sum(r["amount_minor"] for r in rows if r["kind"] == "payment"),
        "refunds_minor": -sum(r["amount_minor"] for r in rows if r["kind"] == "refund"),
        "fees_minor": sum(r["fee_minor"] for r in rows),
    }
    return {
        "provider": "alipay",
        "layout": "alipay.trade.业务明细",
        "merchant_id": merchant,
        "bill_date": bill_date,
        "rows": rows,
        "totals": totals,
    }


def parse(provider: str, data: bytes) -> dict[str, Any]:
    if provider == "wechatpay":
        return parse_wechat(data)
    if provider == "alipay":
        return parse_alipay(data)
    raise ValidationError(
        f"unknown statement provider {provider!r}", code="statement_provider_unknown", details={"provider": provider}
    )
