"""The payment simulators' daily merchant statements: what a provider's bill download gives for the trades the
simulator processed (docs/finance.md "Statements"; layouts in hub/finance/statements.py).

* ``wechat_bill(sim, "2026-12-01")``: ``pay/downloadbill`` ``bill_type=ALL`` text — 27-column detail header,
  every value of the detail and summary rows prefixed with a backtick, amounts in yuan, the summary header and row.
* ``alipay_bill_zip(sim, "2026-12-01")``: the ``csv.zip`` of ``alipay.data.dataservice.bill.downloadurl.query``
  (``bill_type=trade``): a GBK ``<pid>_<yyyymmdd>_业务明细.csv`` (``#`` lines, 25 columns, refunds negative) and
  its ``…_业务明细(汇总).csv``.

The fee is the simulated merchant's rate on each payment (a trade's own ``fee_rate``, when a test sets one, is
what the provider charged that trade), half up to the fen; a refund gives back its share.
Stdlib only (devices/ installs without the hub's stack)."""

from __future__ import annotations

import io
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

WECHAT_ALL = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,"
    "应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,"
    "手续费,费率,订单金额,申请退款金额,费率备注"
)
WECHAT_SUMMARY = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
ALIPAY_DETAIL = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,"
    "商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,"
    "商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注"
)


def _fee(amount: int, rate: str) -> int:
    return int((Decimal(amount) * Decimal(rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _yuan(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def _day(date: str) -> str:
    return date.replace("-", "")


def wechat_rows(sim: Any, bill_date: str, fee_rate: str) -> list[dict[str, Any]]:
    """The day's charged trades and refunds (times in China time, as the simulator stamps them)."""
    day = _day(bill_date)
    out: list[dict[str, Any]] = []
    for t in sim.ledger.snapshot().values():
        if not t["charges"]:
            continue
        if t["time_end"][:8] == day:
            out.append(
                {
                    "kind": "payment",
                    "t": t,
                    "at": t["time_end"],
                    "amount": t["total_fee"],
                    "fee": _fee(t["total_fee"], t.get("fee_rate", fee_rate)),
                }
            )
        refunds = dict(t["refunds"])
        if t.get("reversed_at") and t["refunded"] and not refunds:  # a paid code order revoked: all of it back
            refunds[t["out_trade_no"]] = {
                "refund_fee": t["total_fee"],
                "refund_id": "5030" + t["transaction_id"][4:],
                "at": t["reversed_at"],
            }
        for no, r in refunds.items():
            if r.get("at", t["time_end"])[:8] == day:
                out.append(
                    {
                        "kind": "refund",
                        "t": t,
                        "at": r.get("at", t["time_end"]),
                        "no": no,
                        "refund_id": r["refund_id"],
                        "amount": r["refund_fee"],
                        "fee": _fee(r["refund_fee"], t.get("fee_rate", fee_rate)),
                    }
                )
    return sorted(out, key=lambda x: (x["at"], x["t"]["out_trade_no"], x["kind"]))


def wechat_bill(sim: Any, bill_date: str, *, fee_rate: str = "0.006") -> bytes:
    rows = wechat_rows(sim, bill_date, fee_rate)
    rate = f"{Decimal(fee_rate) * 100:.2f}%"
    lines = [WECHAT_ALL]
    for x in rows:
        t, at = x["t"], x["at"]
        ts = f"{at[0:4]}-{at[4:6]}-{at[6:8]} {at[8:10]}:{at[10:12]}:{at[12:14]}"
        refund = x["kind"] == "refund"
        status = "REFUND" if refund else ("REVOKED" if t.get("reversed_at") else "SUCCESS")
        values = [
            ts,
            sim.appid,
            sim.mch_id,
            "0",
            "",
            t["transaction_id"],
            t["out_trade_no"],
            "oSIM" + t["out_trade_no"][-8:],
            "MICROPAY",
            status,
            "CFT",
            "CNY",
            "0.00" if refund else _yuan(x["amount"]),
            "0.00",
            x["refund_id"] if refund else "0",
            x["no"] if refund else "0",
            _yuan(x["amount"]) if refund else "0.00",
            "0.00",
            "ORIGINAL" if refund else "",
            "SUCCESS" if refund else "",
            "StoreHub till",
            "",
            _yuan(-x["fee"] if refund else x["fee"]),
            rate,
            _yuan(t["total_fee"]),
            _yuan(x["amount"]) if refund else "0.00",
            "",
        ]
        lines.append(",".join("`" + v for v in values))
    pays = [x for x in rows if x["kind"] == "payment"]
    refs = [x for x in rows if x["kind"] == "refund"]
    fees = sum(x["fee"] for x in pays) - sum(x["fee"] for x in refs)
    lines.append(WECHAT_SUMMARY)
    summary = [
        str(len(rows)),
        _yuan(sum(x["amount"] for x in pays)),
        _yuan(sum(x["amount"] for x in refs)),
        "0.00",
        _yuan(fees),
        _yuan(sum(x["t"]["total_fee"] for x in pays)),
        _yuan(sum(x["amount"] for x in refs)),
    ]
    lines.append(",".join("`" + v for v in summary))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def alipay_bill_zip(sim: Any, bill_date: str, *, fee_rate: str = "0.006") -> bytes:
    day = _day(bill_date)
    rows: list[tuple[str, list[str]]] = []
    for t in sim.ledger.snapshot().values():
        if not t["charges"]:
            continue
        amount = t["total_fee"]
        if t["gmt_payment"].replace("-", "")[:8] == day:
            rows.append(
                (
                    t["gmt_payment"],
                    [
                        t["trade_no"],
                        t["out_trade_no"],
                        "交易",
                        "StoreHub till",
                        t["gmt_payment"],
                        t["gmt_payment"],
                        "S1",
                        "门店",
                        "",
                        "",
                        "sim***@example.com",
                        _yuan(amount),
                        _yuan(amount),
                        "0.00",
                        "0.00",
                        "0.00",
                        "0.00",
                        "0.00",
                        "",
                        "0.00",
                        "0.00",
                        "",
                        _yuan(-_fee(amount, t.get("fee_rate", fee_rate))),
                        "0.00",
                        "",
                    ],
                )
            )
        refunds = dict(t["refunds"])
        if t.get("reversed_at") and t["refunded"] and not refunds:
            refunds[t["out_trade_no"]] = {"refund_fee": amount, "at": t["reversed_at"]}
        for no, r in refunds.items():
            at = r.get("at", t["gmt_payment"])
            if at.replace("-", "")[:8] == day:
                rows.append(
                    (
                        at,
                        [
                            t["trade_no"],
                            t["out_trade_no"],
                            "退款",
                            "StoreHub till",
                            t["gmt_payment"],
                            at,
                            "S1",
                            "门店",
                            "",
                            "",
                            "sim***@example.com",
                            _yuan(amount),
                            _yuan(-r["refund_fee"]),
                            "0.00",
                            "0.00",
                            "0.00",
                            "0.00",
                            "0.00",
                            "",
                            "0.00",
                            "0.00",
                            no,
                            _yuan(_fee(r["refund_fee"], t.get("fee_rate", fee_rate))),
                            "0.00",
                            "",
                        ],
                    )
                )
    rows.sort(key=lambda x: (x[0], x[1][1], x[1][2]))
    y, m, d = bill_date[:4], bill_date[5:7], bill_date[8:10]
    trades = [r for _, r in rows if r[2] == "交易"]
    refunds_ = [r for _, r in rows if r[2] == "退款"]
    out = io.StringIO()
    out.write("#支付宝业务明细查询\r\n")
    out.write(f"#账号：[{sim.pid}]\r\n")
    out.write(f"#起始日期：[{y}年{m}月{d}日 00:00:00]   终止日期：[{y}年{m}月{d}日 23:59:59]\r\n")
    out.write("#-----------------------------------------业务明细列表----------------------------------------\r\n")
    out.write(ALIPAY_DETAIL + "\r\n")
    for _, r in rows:
        out.write(",".join(v + "\t" if i in (0, 1) else v for i, v in enumerate(r)) + "\r\n")
    out.write("#-----------------------------------------业务明细列表结束------------------------------------\r\n")
    t_sum = sum(int(Decimal(r[12]) * 100) for r in trades)
    r_sum = sum(int(Decimal(r[12]) * 100) for r in refunds_)
    out.write(f"#交易合计：{len(trades)}笔，商家实收共{_yuan(t_sum)}元，商家优惠共0.00元\r\n")
    out.write(f"#退款合计：{len(refunds_)}笔，商家实收退款共{_yuan(r_sum)}元，商家优惠退款共0.00元\r\n")
    out.write(f"#导出时间：[{y}年{m}月{d}日 23:59:59]\r\n")
    summary = (
        f"#支付宝业务汇总查询\r\n#账号：[{sim.pid}]\r\n门店编号,门店名称,交易订单总笔数,退款订单总笔数,"
        f"订单金额（元）,商家实收（元）\r\nS1,门店,{len(trades)},{len(refunds_)},{_yuan(t_sum)},{_yuan(t_sum + r_sum)}\r\n"
    )
    buf = io.BytesIO()
    base = f"{sim.pid}0156_{day}"
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in ((f"{base}_业务明细.csv", out.getvalue()), (f"{base}_业务明细(汇总).csv", summary)):
            info = zipfile.ZipInfo(name, date_time=(int(y), int(m), int(d), 0, 0, 0))
            info.flag_bits |= 0x800  # UTF-8 file names
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, body.encode("gbk"))
    return buf.getvalue()
