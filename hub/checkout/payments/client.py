"""The one module of the hub that talks to the payment providers. It speaks their documented protocols through
kept SDKs — ``wechatpy`` (WeChat Pay API v2: micropay, orderquery, reverse, refund; XML signed with the API key)
and ``python-alipay-sdk`` (``alipay.trade.pay`` scene ``bar_code``, ``.query``, ``.cancel``, ``.refund``; RSA2
signed both ways) — and turns every answer into one small :class:`Answer` the tender state machine understands.

Nothing here touches the database: the caller (``flow``) has committed the tender's state before it calls in.
Both SDKs are pointed at a configured base URL (the store's own endpoint, a provider's, or the local simulators
of ``storehub sim wechatpay|alipay``). A request that never reached the provider (connection refused, no route,
DNS) raises :class:`Unreachable` — safe to call a payment failed; a request that may have reached it (read
timeout, a connection cut mid-answer, a 5xx) is ``unknown`` and must be asked about again."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hub.checkout.payments.base import (
    ALI_UNKNOWN,
    CONFIG_FILE,
    WX_FAILED,
    WX_UNKNOWN,
    Answer,
    Unreachable,
    load_config,
    yuan,
)
from hub.kernel.errors import Unprocessable

if TYPE_CHECKING:  # for annotations only: the adapters are imported on use (below)
    from hub.checkout.payments.alipay_sdk import AlipayProvider
    from hub.checkout.payments.wechat import WeChatPayProvider

    Provider = WeChatPayProvider | AlipayProvider

__all__ = [
    "ALI_UNKNOWN",
    "CONFIG_FILE",
    "WX_FAILED",
    "WX_UNKNOWN",
    "Answer",
    "Unreachable",
    "load_config",
    "provider",
    "yuan",
]

# Each provider's SDK (wechatpy, python-alipay-sdk: ~36 MB together) is imported by name, on the first payment
# with that provider, so a web worker of a store that takes no payment codes never carries them.
_ADAPTERS = {
    "wechatpay": ("hub.checkout.payments.wechat", "WeChatPayProvider"),
    "alipay": ("hub.checkout.payments.alipay_sdk", "AlipayProvider"),
}


def provider(config: dict[str, Any], name: str) -> Provider:
    """The configured provider ``name``; ``payment_not_configured`` (422) when the store has no merchant
    account for it."""
    cfg = config.get(name)
    if not cfg or name not in _ADAPTERS:
        raise Unprocessable(
            f"{name} is not set up on this hub (payments.json)",
            code="payment_not_configured",
            details={"provider": name},
        )
    module, cls = _ADAPTERS[name]
    return getattr(importlib.import_module(module), cls)(cfg)  # type: ignore[no-any-return]
