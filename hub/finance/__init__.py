"""Finance: declared once here (see docs/finance.md).

The store-day close (open → closing → closed → reconciled → locked), settlement of every tender against the
till's counts and the payment providers' daily statements, and the accounting export (vouchers CSV, beancount).
One entry per line in each tuple below: other finance modules add theirs beside."""

from hub.domain import Domain, Setting
from hub.finance.facts import FACTS
from hub.finance.rules import DEFAULT_ACCOUNTS, DEFAULT_FEE_RATES
from hub.finance.valuation_facts import VALUATION_FACTS

BEANCOUNT_ACCOUNT = "^(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+$"

SETTINGS = (
    Setting(
        "finance.accounts",
        DEFAULT_ACCOUNTS,
        {
            "type": "object",
            "required": list(DEFAULT_ACCOUNTS),
            "additionalProperties": {
                "type": "object",
                "required": ["code", "name_zh", "name_en", "beancount"],
                "properties": {
                    "code": {"type": "string", "pattern": "^[0-9][0-9.]{0,19}$"},
                    "name_zh": {"type": "string", "minLength": 1, "maxLength": 60},
                    "name_en": {"type": "string", "minLength": 1, "maxLength": 80},
                    "beancount": {"type": "string", "pattern": BEANCOUNT_ACCOUNT},
                },
            },
        },
        "Finance: chart of accounts",
        "Account of each posting kind in the accounting export: 科目代码, names and the beancount account.",
    ),
    Setting(
        "finance.fee_rates",
        DEFAULT_FEE_RATES,
        {"type": "object", "additionalProperties": {"type": "string", "pattern": "^0(\\.[0-9]{1,6})?$"}},
        "Finance: provider fee rates",
        'The fee each payment provider charges per payment (e.g. "0.006" = 0.6 %), checked against statements.',
    ),
    Setting(
        "finance.merchant_ids",
        {"wechatpay": "", "alipay": ""},
        {"type": "object", "additionalProperties": {"type": "string", "maxLength": 40}},
        "Finance: merchant ids",
        "The store's WeChat Pay 商户号 and Alipay account (2088…): a statement for another merchant is refused.",
    ),
    Setting(
        "finance.voucher_word",
        "记",
        {"type": "string", "minLength": 1, "maxLength": 4},
        "Finance: voucher word (凭证字)",
        "The 凭证字 of the exported vouchers.",
    ),
    Setting(
        "finance.einvoice_url",
        "",
        {"type": "string", "maxLength": 200, "pattern": "^(https?://[^\\s?#]+)?$"},
        "E-invoice page (central public URL)",
        "The central's public address, e.g. https://central.example.com: receipts then carry a QR code to "
        "request the e-invoice (数电发票) there (docs/einvoice.md). Empty: no QR.",
    ),
)

DOMAIN = Domain(
    name="finance",
    summary="store-day close, settlement against provider statements, accounting export",
    package="hub.finance",
    routes=(
        "hub.finance.api:bp",
        "hub.finance.valuation_api:bp",
    ),
    cli=(
        ("finance", "hub.finance.cli:finance_group"),
        ("valuation", "hub.finance.valuation_cli:valuation_group"),
    ),
    stock_in=("hub.finance.valuation:on_stock_in",),
    stock_out=("hub.finance.valuation:on_stock_out",),
    facts=FACTS + VALUATION_FACTS,
    settings=SETTINGS,
    migrations=True,
    screens=("finance",),
)
