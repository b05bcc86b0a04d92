"""Finance: pure decisions (no database, no I/O) — the day's state machine, money from statement text, fees,
and the balance of a journal. Easy to test exhaustively."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from hub.kernel.errors import Conflict, ValidationError

# The business day of a store (docs/finance.md): each state and the states it may move on to.
STATES = ("open", "closing", "closed", "reconciled", "locked")
NEXT: dict[str, tuple[str, ...]] = {
    "open": ("closing", "closed"),
    "closing": ("closed", "open"),
    "closed": ("reconciled", "open"),
    "reconciled": ("locked", "closed"),
    "locked": (),
}
# Nothing posts into a day in these states (the till, corrections, statements that would change it).
SEALED = ("closed", "reconciled", "locked")

# Posting kind → account. Codes and names of the 企业会计准则 chart most Chinese packages start from.
DEFAULT_ACCOUNTS: dict[str, dict[str, str]] = {
    "cash": {"code": "1001", "name_zh": "库存现金", "name_en": "Cash on hand", "beancount": "Assets:Cash:Tills"},
    "card": {
        "code": "1012.03",
        "name_zh": "其他货币资金-银行卡收单",
        "name_en": "Card acquirer receivable",
        "beancount": "Assets:Clearing:Card",
    },
    "wechatpay": {
        "code": "1012.01",
        "name_zh": "其他货币资金-微信支付",
        "name_en": "WeChat Pay balance",
        "beancount": "Assets:Clearing:WeChatPay",
    },
    "alipay": {
        "code": "1012.02",
        "name_zh": "其他货币资金-支付宝",
        "name_en": "Alipay balance",
        "beancount": "Assets:Clearing:Alipay",
    },
    "points": {
        "code": "2204.01",
        "name_zh": "合同负债-会员积分",
        "name_en": "Loyalty points liability",
        "beancount": "Liabilities:Loyalty:Points",
    },
    "other_tender": {
        "code": "1012.99",
        "name_zh": "其他货币资金-其他",
        "name_en": "Other tenders",
        "beancount": "Assets:Clearing:Other",
    },
    "sales": {"code": "6001", "name_zh": "主营业务收入", "name_en": "Sales revenue", "beancount": "Income:Sales"},
    "output_vat": {
        "code": "2221.01.02",
        "name_zh": "应交税费-应交增值税(销项税额)",
        "name_en": "Output VAT",
        "beancount": "Liabilities:Tax:OutputVAT",
    },
    "rounding": {
        "code": "6603.03",
        "name_zh": "财务费用-现金舍入",
        "name_en": "Cash rounding",
        "beancount": "Expenses:Finance:Rounding",
    },
    "cogs": {"code": "6401", "name_zh": "主营业务成本", "name_en": "Cost of goods sold", "beancount": "Expenses:COGS"},
    "inventory": {
        "code": "1405",
        "name_zh": "库存商品",
        "name_en": "Merchandise inventory",
        "beancount": "Assets:Inventory",
    },
    "shrink": {
        "code": "1901",
        "name_zh": "待处理财产损溢",
        "name_en": "Inventory shrink pending",
        "beancount": "Expenses:Shrink",
    },
    "cash_over_short": {
        "code": "1901.01",
        "name_zh": "待处理财产损溢-现金长短款",
        "name_en": "Cash over/short",
        "beancount": "Expenses:CashOverShort",
    },
    "fees": {
        "code": "6603.02",
        "name_zh": "财务费用-支付手续费",
        "name_en": "Payment provider fees",
        "beancount": "Expenses:Finance:ProviderFees",
    },
    "corrections": {
        "code": "6901",
        "name_zh": "以前年度损益调整",
        "name_en": "Prior-day corrections",
        "beancount": "Equity:Corrections",
    },
}
DEFAULT_FEE_RATES: dict[str, str] = {"wechatpay": "0.006", "alipay": "0.006"}
CODE_METHODS = ("wechatpay", "alipay")
# Tender methods posted to another method's account: the integrated card terminal's payments are card receipts.
TENDER_ACCOUNT = {"card_terminal": "card"}

_CENT = Decimal("0.01")


def check_transition(current: str, target: str, *, business_date: str) -> None:
    """Refuse a move the day's state machine does not allow (a locked day never moves)."""
    if target in NEXT.get(current, ()):
        return
    if current == "locked":
        raise Conflict(
            f"the business day {business_date} is locked: it cannot become {target}",
            code="day_locked",
            details={"business_date": business_date, "state": current, "target": target},
        )
    raise Conflict(
        f"the business day {business_date} is {current}: it cannot become {target}",
        code="day_state_invalid",
        details={"business_date": business_date, "state": current, "target": target},
    )


def settled(business_date: str, state: str) -> Conflict:
    """The refusal to change what a reconciled or locked day settled (statements, card batches)."""
    if state == "locked":
        return Conflict(
            f"the business day {business_date} is locked",
            code="day_locked",
            details={"business_date": business_date, "state": state},
        )
    return Conflict(
        f"the business day {business_date} is reconciled: its settlement is frozen",
        code="day_reconciled",
        details={"business_date": business_date, "state": state},
    )


def fen(text: str, *, field: str = "amount") -> int:
    """Yuan as a statement writes them (``12.30``, ``-0.01``, ``¥1,234.50``) → integer fen, exactly (Decimal,
    never float). More than two decimals, or not a number, is refused."""
    raw = text.strip().lstrip("`").replace(",", "").replace("¥", "").strip()
    try:
        d = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(
            f"{field}: {text!r} is not an amount", code="statement_bad_amount", details={"field": field, "value": text}
        ) from None
    if not d.is_finite() or d != d.quantize(_CENT):
        raise ValidationError(
            f"{field}: {text!r} is not an amount in yuan and fen",
            code="statement_bad_amount",
            details={"field": field, "value": text},
        )
    return int(d * 100)


def yuan(minor: int) -> str:
    """Integer fen → ``12.30`` / ``-0.01`` (what vouchers and beancount write)."""
    sign = "-" if minor < 0 else ""
    a = abs(minor)
    return f"{sign}{a // 100}.{a % 100:02d}"


def fee(amount_minor: int, rate: str) -> int:
    """The provider's fee on an amount at ``rate``, rounded half up to the fen (sign follows the amount)."""
    f = (Decimal(abs(amount_minor)) * Decimal(rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(f) if amount_minor >= 0 else -int(f)


def cost_of(qty: int, unit_cost_minor: int, *, per_kg: bool) -> int:
    """Cost of ``qty`` pieces (or grams of a kg item at a per-kg cost), half up to the fen."""
    if not per_kg:
        return qty * unit_cost_minor
    q = (Decimal(qty) * unit_cost_minor / 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(q)


def posting(account: str, debit: int, credit: int, memo: str) -> dict[str, Any]:
    return {"account": account, "debit_minor": debit, "credit_minor": credit, "memo": memo}


def dr_cr(account: str, amount: int, memo: str, *, debit_when_positive: bool) -> dict[str, Any] | None:
    """One posting of a signed amount: on its natural side when positive, the other side when negative."""
    if amount == 0:
        return None
    on_debit = (amount > 0) == debit_when_positive
    return posting(account, abs(amount) if on_debit else 0, 0 if on_debit else abs(amount), memo)


def check_balanced(lines: list[dict[str, Any]], *, business_date: str) -> None:
    debit = sum(ln["debit_minor"] for ln in lines)
    credit = sum(ln["credit_minor"] for ln in lines)
    if debit != credit:
        raise Conflict(
            f"the journal of {business_date} does not balance: debit {yuan(debit)}, credit {yuan(credit)}",
            code="journal_unbalanced",
            details={"business_date": business_date, "debit_minor": debit, "credit_minor": credit},
        )
