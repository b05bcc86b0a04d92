"""Promotions: the pricing engine every sale goes through, and today's promotions for the handheld.

Head office authors promotions; the downlink delivers them into ``central_promotions`` (owned and written by
``hub.synclink``); this domain reads them, validates them with the same rules the central used before publishing,
and prices baskets with the pure engine (``engine.py``). Pricing changes nothing, and the sale that uses a price
records it (see docs/promotions.md). Single-use coupons (docs/coupons.md) are the domain's one table,
``coupon_codes``, and its one fact, ``coupon.redeemed`` (hub/promotions/coupons.py)."""

from hub.domain import Domain
from hub.promotions.facts import FACTS

DOMAIN = Domain(
    name="promotions",
    summary="promotions from head office: the explainable pricing engine, today's promotions",
    package="hub.promotions",
    routes=("hub.promotions.api:bp",),
    cli=(("promotions", "hub.promotions.cli:promotions_group"),),
    screens=("promotions",),
    facts=FACTS,
    migrations=True,  # coupon_codes (hub/promotions/coupons.py)
)
