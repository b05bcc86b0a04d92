"""The accounting export: a balanced double-entry journal per store-day, with the account of each posting kind as
data (setting ``finance.accounts``), written as a voucher CSV for the Chinese packages' import (金蝶/用友 凭证
columns 日期, 凭证字, 凭证号, 摘要, 科目代码, 科目名称, 借方, 贷方) and as a beancount file.

The journal of a day (docs/finance.md "Accounting export"):

* sales by VAT rate: revenue net of tax (6001) and output VAT (2221) on the credit side, returns on the debit;
* tenders by kind (cash 1001, card / WeChat Pay / Alipay 1012.xx) on the debit side, refunds on the credit;
* cash rounding; cash over/short from the shifts' blind counts; the providers' fees from their statements;
* COGS against inventory for what the ledger sold and took back, shrink (write-offs, count and adjust
  differences) at cost — the cost is purchasing's moving average (``purchasing_items.avg_cost_minor``), else
  the catalog's cost;
* corrections of sealed days posted into this one, each naming the day it corrects.

A locked day is exported from the journal frozen at the lock (``finance_journal_lines``) and the accounts as
they were then, so re-exporting it gives the same bytes."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import date as Date
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.finance import gate, rules
from hub.kernel import settings
from hub.kernel.errors import Conflict

VOUCHER_COLUMNS = ("日期", "凭证字", "凭证号", "摘要", "科目代码", "科目名称", "借方", "贷方")
SHRINK_KINDS = ("writeoff", "count", "adjust")


def _utc_window(conn: sqlite3.Connection, business_date: str) -> tuple[str, str]:
    tz = ZoneInfo(settings.get(conn, "timezone"))
    d = Date.fromisoformat(business_date)
    start = datetime.combine(d, time(0), tz).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(d + timedelta(days=1), time(0), tz).astimezone(ZoneInfo("UTC"))
    return start.strftime("%Y-%m-%dT%H:%M:%S"), end.strftime("%Y-%m-%dT%H:%M:%S")


def _cost_lines(conn: sqlite3.Connection, business_date: str) -> tuple[int, int]:
    """(cost of goods sold net of returns, shrink) at cost for the ledger's movements of the store-local day."""
    start, end = _utc_window(conn, business_date)
    cogs = shrink = 0
    for kind, qty, unit, avg, cost in conn.execute(
        "SELECT m.kind, SUM(m.qty_delta), i.unit, p.avg_cost_minor, i.cost_minor FROM movements m"
        " JOIN items i ON i.id = m.item_id LEFT JOIN purchasing_items p ON p.item_id = m.item_id"
        " WHERE m.ts >= ? AND m.ts < ? AND m.kind IN ('sale','return','writeoff','count','adjust')"
        " GROUP BY m.kind, m.item_id ORDER BY m.kind, m.item_id",
        (start, end),
    ):
        unit_cost = avg if avg is not None else (cost or 0)
        value = rules.cost_of(-qty, unit_cost, per_kg=unit == "kg")  # stock out → positive cost
        if kind in ("sale", "return"):
            cogs += value
        else:
            shrink += value
    return cogs, shrink


def build_journal(conn: sqlite3.Connection, business_date: str) -> list[dict[str, Any]]:
    """The day's postings (account kind, debit, credit, memo), checked balanced to the fen."""
    lines: list[dict[str, Any] | None] = []
    day = business_date
    for rate, kind, net, tax in conn.execute(
        "SELECT l.tax_rate, s.kind, SUM(l.net_minor), SUM(l.tax_minor) FROM checkout_sale_lines l"
        " JOIN checkout_sales s ON s.id = l.sale_id WHERE s.business_date = ? GROUP BY l.tax_rate, s.kind"
        " ORDER BY l.tax_rate, s.kind",
        (day,),
    ):
        sign = 1 if kind == "sale" else -1
        label = "销售" if kind == "sale" else "退货"
        lines.append(
            rules.dr_cr("sales", sign * (net - tax), f"{day} {label}收入 税率{rate}", debit_when_positive=False)
        )
        lines.append(
            rules.dr_cr("output_vat", sign * tax, f"{day} {label}销项税额 税率{rate}", debit_when_positive=False)
        )
    rounding = conn.execute(
        "SELECT COALESCE(SUM(CASE kind WHEN 'sale' THEN rounding_minor ELSE -rounding_minor END), 0)"
        " FROM checkout_sales WHERE business_date = ?",
        (day,),
    ).fetchone()[0]
    lines.append(rules.dr_cr("rounding", rounding, f"{day} 现金舍入", debit_when_positive=False))
    accounts = settings.get(conn, "finance.accounts")
    for method, amount in conn.execute(
        "SELECT method, SUM(CASE direction WHEN 'in' THEN amount_minor ELSE -amount_minor END) FROM checkout_tenders"
        " WHERE business_date = ? AND state = 'paid' AND sale_id IS NOT NULL GROUP BY method ORDER BY method",
        (day,),
    ):
        account = rules.TENDER_ACCOUNT.get(method, method)
        account = account if account in accounts else "other_tender"
        lines.append(rules.dr_cr(account, amount, f"{day} 收款 {method}", debit_when_positive=True))
    over_short = conn.execute(
        "SELECT COALESCE(SUM(over_short_minor), 0) FROM checkout_shifts WHERE business_date = ? AND status = 'closed'",
        (day,),
    ).fetchone()[0]
    if over_short:
        lines.append(rules.dr_cr("cash", over_short, f"{day} 现金长短款", debit_when_positive=True))
        lines.append(rules.dr_cr("cash_over_short", over_short, f"{day} 现金长短款", debit_when_positive=False))
    for provider, fees in conn.execute(
        "SELECT s.provider, SUM(r.fee_minor) FROM finance_statements s JOIN finance_statement_rows r"
        " ON r.statement_id = s.id WHERE s.bill_date = ? GROUP BY s.provider ORDER BY s.provider",
        (day,),
    ):
        lines.append(rules.dr_cr("fees", fees, f"{day} 手续费 {provider}", debit_when_positive=True))
        lines.append(rules.dr_cr(provider, fees, f"{day} 手续费 {provider}", debit_when_positive=False))
    cogs, shrink = _cost_lines(conn, day)
    lines.append(rules.dr_cr("cogs", cogs, f"{day} 结转销售成本", debit_when_positive=True))
    lines.append(rules.dr_cr("inventory", cogs, f"{day} 结转销售成本", debit_when_positive=False))
    lines.append(rules.dr_cr("shrink", shrink, f"{day} 盘亏及报损", debit_when_positive=True))
    lines.append(rules.dr_cr("inventory", shrink, f"{day} 盘亏及报损", debit_when_positive=False))
    for debit, credit, amount, memo, corrects in conn.execute(
        "SELECT debit_account, credit_account, amount_minor, memo, corrects_date FROM finance_corrections"
        " WHERE business_date = ? ORDER BY at, id",
        (day,),
    ):
        text = f"{day} 更正{corrects}: {memo}"
        lines.append(rules.posting(debit, amount, 0, text))
        lines.append(rules.posting(credit, 0, amount, text))
    out = [ln for ln in lines if ln is not None]
    rules.check_balanced(out, business_date=day)
    return out


def journal(conn: sqlite3.Connection, business_date: str) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
    """(lines, accounts, frozen): a locked day's frozen journal, else the journal as it stands (closed days)."""
    state = gate.state_of(conn, business_date)
    if state == "locked":
        lines = [
            dict(r)
            for r in conn.execute(
                "SELECT account, debit_minor, credit_minor, memo FROM finance_journal_lines WHERE business_date = ?"
                " ORDER BY line_no",
                (business_date,),
            )
        ]
        accounts = json.loads(
            conn.execute(
                "SELECT accounts FROM finance_locked_accounts WHERE business_date = ?", (business_date,)
            ).fetchone()[0]
        )
        return lines, accounts, True
    if state not in rules.SEALED:
        raise Conflict(
            f"close the business day {business_date} before exporting it",
            code="day_not_closed",
            details={"business_date": business_date, "state": state},
        )
    return build_journal(conn, business_date), settings.get(conn, "finance.accounts"), False


def vouchers_csv(business_date: str, lines: list[dict[str, Any]], accounts: dict[str, Any], *, word: str) -> bytes:
    """One voucher per store-day (凭证号 = the day of the month), UTF-8 with a BOM (what the packages' importers and
    Excel read), CRLF lines, amounts in yuan with the other side empty."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(VOUCHER_COLUMNS)
    number = str(int(business_date[8:10]))
    for ln in lines:
        a = accounts[ln["account"]]
        w.writerow(
            (
                business_date,
                word,
                number,
                ln["memo"],
                a["code"],
                a["name_zh"],
                rules.yuan(ln["debit_minor"]) if ln["debit_minor"] else "",
                rules.yuan(ln["credit_minor"]) if ln["credit_minor"] else "",
            )
        )
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def beancount_text(
    business_date: str,
    lines: list[dict[str, Any]],
    accounts: dict[str, Any],
    *,
    store: str,
    currency: str,
    frozen: bool,
) -> bytes:
    used = sorted({accounts[ln["account"]]["beancount"] for ln in lines})
    out = [
        f"; StoreHub store {store}, business day {business_date}"
        + (" (locked)" if frozen else " (draft: not locked yet)"),
        f'option "title" "StoreHub {store}"',
        f'option "operating_currency" "{currency}"',
        "",
    ]
    out += [f"{business_date} open {a} {currency}" for a in used]
    out += ["", f'{business_date} * "StoreHub {store}" "门店日结 {business_date}"', f'  store: "{store}"']
    for ln in lines:
        a = accounts[ln["account"]]
        amount = ln["debit_minor"] - ln["credit_minor"]
        memo = ln["memo"].replace('"', "'")
        out.append(f"  {a['beancount']}  {rules.yuan(amount)} {currency}")
        out.append(f'    code: "{a["code"]}"')
        out.append(f'    memo: "{memo}"')
    return ("\n".join(out) + "\n").encode("utf-8")


def export(conn: sqlite3.Connection, business_date: str, fmt: str) -> tuple[str, bytes]:
    """(file name, bytes) of the day's journal as ``vouchers`` (CSV) or ``beancount``."""
    lines, accounts, frozen = journal(conn, business_date)
    store = settings.get(conn, "store_id")
    if fmt == "vouchers":
        return (
            f"vouchers-{store}-{business_date}.csv",
            vouchers_csv(business_date, lines, accounts, word=settings.get(conn, "finance.voucher_word")),
        )
    if fmt == "beancount":
        return (
            f"{store}-{business_date}.beancount",
            beancount_text(
                business_date, lines, accounts, store=store, currency=settings.get(conn, "currency"), frozen=frozen
            ),
        )
    raise Conflict(f"unknown export format {fmt!r}", code="export_format_unknown", details={"format": fmt})
