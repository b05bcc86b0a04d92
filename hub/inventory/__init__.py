"""Inventory: the stock ledger (``ledger``: every change one immutable movement, the ``stock`` projection),
locations, the catalog and its CSV import/export, and their routes (``api/``)."""

from hub.domain import Domain
from hub.inventory.facts import FACTS

DOMAIN = Domain(
    name="inventory",
    summary="stock ledger, locations, catalog and catalog CSV",
    package="hub.inventory",
    facts=FACTS,
    routes=("hub.inventory.api.items:bp", "hub.inventory.api.locations:bp", "hub.inventory.api.stock:bp"),
    cli=(("catalog", "hub.inventory.cli:catalog_group"),),
    screens=("item",),
)
