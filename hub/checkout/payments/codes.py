"""Which provider a scanned payment code (付款码) belongs to, decided from its documented shape alone, so a
malformed code is refused before anything leaves the hub.

* WeChat Pay: 18 digits starting 10–15 (付款码支付 rule "18位纯数字，以10、11、12、13、14、15开头").
* Alipay: 16–24 digits starting 25–30 (``alipay.trade.pay`` ``auth_code``: "25–30 开头的长度为 16–24 位的数字").
"""

from __future__ import annotations

import re

from hub.kernel.errors import ValidationError

WECHAT_RE = re.compile(r"1[0-5]\d{16}")
ALIPAY_RE = re.compile(r"(?:2[5-9]|30)\d{14,22}")
PROVIDERS = ("wechatpay", "alipay")


def recognise(code: str) -> str:
    """``wechatpay`` or ``alipay`` for a well-formed payment code, else ``bad_payment_code`` (400)."""
    text = (code or "").strip()
    if WECHAT_RE.fullmatch(text):
        return "wechatpay"
    if ALIPAY_RE.fullmatch(text):
        return "alipay"
    raise ValidationError(
        "not a WeChat Pay or Alipay payment code (scan the code on the customer's phone again)",
        code="bad_payment_code",
        details={"length": len(text)},
    )
