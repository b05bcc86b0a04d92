"""The kernel: what every domain stands on — storage and its one write path (``db``), configuration, errors,
the outbox of facts, the audit log, store settings and the live-event source. The kernel imports no domain.

Declared as the ``kernel`` domain for what belongs to the store as a whole: its identity settings, the audit
fact, the core schema (migration 0001), and the routes every hub serves (health, OpenAPI, live events, audit
and settings)."""

from hub.domain import Domain
from hub.kernel.facts import FACTS
from hub.kernel.settings import KERNEL_SETTINGS

DOMAIN = Domain(
    name="kernel",
    summary="the store itself: settings, audit log, health, OpenAPI, live events",
    package="hub.kernel",
    facts=FACTS,
    routes=("hub.http.health:bp", "hub.http.admin:bp", "hub.http.openapi:bp", "hub.http.live:bp"),
    settings=KERNEL_SETTINGS,
    migrations=True,
    screens=("queue", "profile"),
)
