"""Members and loyalty: enrolment with consent, identification at the till (phone, card, dynamic code), tiers as
data and a points ledger that merges across stores exactly once (docs/members.md).

Modules: ``rules`` (pure decisions), ``identity`` (members, consent, personal data at rest, codes), ``points`` (the
append-only ledger, its projection and the central's figures), ``tiers`` (upgrade at once, downgrade at the
period end), ``facts``, ``api``, ``cli``."""

from hub.domain import Domain, Setting
from hub.members.facts import FACTS
from hub.members.rules import EARN_SCHEMA, TIERS_SCHEMA

SETTINGS = (
    Setting(
        "members.enabled",
        True,
        {"type": "boolean"},
        "Members enabled",
        "When false, enrolment and points changes are refused (looking members up still works).",
    ),
    Setting(
        "members.phone_region",
        "CN",
        {"type": "string", "pattern": "^[A-Z]{2}$"},
        "Members: phone region",
        "ISO 3166 country whose numbering plan a phone typed without +country code belongs to.",
    ),
    Setting(
        "members.terms_version",
        "2025-01",
        {"type": "string", "minLength": 1, "maxLength": 32},
        "Members: terms version",
        "The version of the membership terms a member consents to at enrolment.",
    ),
    Setting(
        "members.consent_purposes",
        ["loyalty"],
        {"type": "array", "minItems": 1, "maxItems": 10, "items": {"type": "string", "pattern": "^[a-z_]{1,32}$"}},
        "Members: consent purposes",
        "Purposes a member may consent to; enrolment needs consent to 'loyalty'.",
    ),
    Setting(
        "members.tiers",
        [
            {"code": "standard", "min_spend_minor": 0, "name_en": "Standard", "name_zh": "普通"},
            {"code": "silver", "min_spend_minor": 200_000, "name_en": "Silver", "name_zh": "银卡"},
            {"code": "gold", "min_spend_minor": 1_000_000, "name_en": "Gold", "name_zh": "金卡"},
        ],
        TIERS_SCHEMA,
        "Members: tiers",
        "Tiers by 12-month rolling spend (minor units). A sale that crosses a threshold upgrades at once; a member "
        "falls back only at the period end.",
    ),
    Setting(
        "members.tier_period_end",
        "12-31",
        {"type": "string", "pattern": "^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"},
        "Members: tier period end",
        "MM-DD in the store's time zone: the day tiers are reviewed for downgrades.",
    ),
    Setting(
        "members.earn",
        {
            "points_per_unit": 1,
            "unit_minor": 100,
            "category_multipliers": {},
            "excluded_categories": ["tobacco", "gift_card"],
            "excluded_skus": [],
        },
        EARN_SCHEMA,
        "Members: earning points",
        "Points per currency unit of net paid, category multipliers, categories and SKUs that earn nothing.",
    ),
    Setting(
        "members.burn_min_points",
        100,
        {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        "Members: smallest burn",
        "A member spends at least this many points at once.",
    ),
    Setting(
        "members.burn_minor_per_point",
        1,
        {"type": "integer", "minimum": 1, "maximum": 10_000},
        "Members: value of a point",
        "Minor units (fen) one point pays when burnt at the till.",
    ),
    Setting(
        "members.points_expire_years",
        1,
        {"type": "integer", "minimum": 0, "maximum": 10},
        "Members: points expiry",
        "Points earned in a year expire at the end of the year this many years later (the central's job).",
    ),
    Setting(
        "members.offline_burn_cap",
        500,
        {"type": "integer", "minimum": 0, "maximum": 1_000_000},
        "Members: offline burn cap",
        "While the hub has not reached the central for members.offline_after_s, the points a member burns here "
        "that the central has not yet seen (beyond its last-synced balance) total at most this; never more than "
        "the balance.",
    ),
    Setting(
        "members.offline_after_s",
        600,
        {"type": "integer", "minimum": 30, "maximum": 86_400},
        "Members: offline after",
        "Seconds without an acknowledged sync after which the hub counts as offline.",
    ),
    Setting(
        "members.code_ttl_s",
        60,
        {"type": "integer", "minimum": 10, "maximum": 300},
        "Members: dynamic code lifetime",
        "Seconds a dynamic member code stays valid (it is single use).",
    ),
)

DOMAIN = Domain(
    name="members",
    summary="members and loyalty: enrolment, identification, tiers, points ledger",
    package="hub.members",
    routes=("hub.members.api:bp",),
    cli=(("members", "hub.members.cli:members_group"),),
    facts=FACTS,
    settings=SETTINGS,
    migrations=True,
    screens=("members",),
)
