"""Inventory: the stock ledger (``ledger``: every change one immutable movement, the ``stock`` projection),
locations, the catalog and its CSV import/export, item pictures (``pictures``), and their routes (``api/``)."""

from hub.domain import Domain
from hub.inventory.facts import FACTS

DOMAIN = Domain(
    name="inventory",
    summary="stock ledger, locations, catalog and catalog CSV",
    package="hub.inventory",
    facts=FACTS,
    routes=(
        "hub.inventory.api.items:bp",
        "hub.inventory.api.locations:bp",
        "hub.inventory.api.stock:bp",
        "hub.inventory.api.pictures:bp",
    ),
    cli=(("catalog", "hub.inventory.cli:catalog_group"),),
    migrations=True,  # 0060: item pictures
    screens=("item",),
)
