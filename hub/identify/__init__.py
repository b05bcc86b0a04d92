"""Identification: what a scanned or typed code is. ``barcode`` reads GS1 and store codes, ``resolve`` is the one
scan resolver (item, location, order, badge, EPC), ``api`` its routes and unknown-code reports."""

from hub.domain import Domain, Setting
from hub.identify.facts import FACTS

SETTINGS = (
    Setting(
        "barcode_region",
        "CN",
        {"type": ["string", "null"], "pattern": "^[A-Z]{2}$"},
        "Barcode region",
        "ISO 3166 alpha-2 country whose in-store (restricted circulation) label rules apply; null for none.",
    ),
    Setting(
        "gs_substitute",
        "|",
        {"type": ["string", "null"], "maxLength": 1},
        "GS substitute",
        "Printable character a scanner may send instead of FNC1/GS (0x1D).",
    ),
    Setting(
        "rcn_layouts",
        [],
        {"type": "array", "maxItems": 50, "items": {"type": ["object", "string"]}},
        "Variable-measure label layouts",
        "Store label layouts biip has no rules for: a layout object or a built-in layout's name (checked by"
        " barcode.compile_layouts when set).",
    ),
)

DOMAIN = Domain(
    name="identify",
    summary="barcodes, EPCs and the one scan resolver",
    package="hub.identify",
    facts=FACTS,
    routes=("hub.identify.api:bp",),
    cli=(("barcode", "hub.identify.cli:barcode_group"), ("epc", "hub.identify.cli:epc_group")),
    settings=SETTINGS,
    migrations=True,
    screens=("lookup",),
)
