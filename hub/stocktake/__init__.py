"""Stocktake: count sessions by barcode scan and RFID sweep, variances, approval, cycle counts.

Pure domain logic lives in the modules of this package (``sessions``, ``scans``,
``expected``, ``variance``, ``approval``, ``rfid``, ``cycle``, ``reports``); the
HTTP routes are in ``hub/api/stocktake.py`` and the command line in ``cli``.
See docs/stocktake.md."""

from hub.domain import Domain, Setting
from hub.stocktake.facts import FACTS

SETTINGS = (
    Setting(
        "cycle_count_days",
        {},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: {"type": "integer", "minimum": 1, "maximum": 3650} for k in ("A", "B", "C")},
        },
        "Cycle count intervals",
        "Days between counts of A, B and C items (defaults 30, 91, 365).",
    ),
    Setting(
        "stocktake_supervisor_limit_minor",
        None,
        {"type": ["integer", "null"], "minimum": 0},
        "Supervisor approval limit",
        "Largest absolute variance at cost (minor units) a supervisor may approve; above it a manager must."
        " null: the built-in limit.",
    ),
    Setting(
        "stocktake_confirm_above_minor",
        50_000,
        {"type": "integer", "minimum": 0},
        "Approval confirmation threshold",
        "Above this absolute variance at cost (minor units) approving a count needs an explicit confirmation"
        " of the figures (confirm: true); 0: every approval with a variance must be confirmed.",
    ),
)

DOMAIN = Domain(
    name="stocktake",
    summary="counts by scan and RFID sweep, variances, approval, cycle counts",
    package="hub.stocktake",
    facts=FACTS,
    routes=("hub.stocktake.api:bp",),
    cli=(("stocktake", "hub.stocktake.cli:stocktake_group"),),
    handlers=(("tags", "hub.stocktake.bus:on_tags"),),
    settings=SETTINGS,
    demo="hub.stocktake.demo:components",
    migrations=True,
    screens=("stocktake", "stocktake_count", "stocktake_sweep", "stocktake_review"),
)
