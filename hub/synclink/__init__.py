"""The hub's side of sync with the central: the sync bookkeeping (``state``), applying the central's downlink
with the local override policy (``downlink``) and the sync status/override routes (``api``). The push worker
and the central itself live in the top-level ``sync`` package, which imports this one — never the reverse."""

from hub.domain import Domain
from hub.synclink.facts import FACTS

DOMAIN = Domain(
    name="synclink",
    summary="uplink cursor, downlink apply, local overrides of central values",
    package="hub.synclink",
    facts=FACTS,
    routes=("hub.synclink.api:bp",),
    migrations=True,
)
