"""Store certificates: the store CA, the hub's TLS certificate and the handhelds enrolled with the CA (see
docs/security.md and docs/pki.md).

``certs`` issues and renews certificates (pure functions over ``<data dir>/pki``), ``names`` finds the names the
hub answers to, ``rules`` holds the pure decisions, ``model`` the enrolment records, ``page`` the enrolment page,
``tls`` what a TLS server process needs (a cached SSL context, the daily renewal); ``api/`` the routes."""

from hub.domain import Domain
from hub.pki.facts import FACTS

DOMAIN = Domain(
    name="pki",
    summary="store certificate authority, the hub's TLS certificate, enrolled handhelds",
    package="hub.pki",
    routes=("hub.pki.api.registry:bp",),
    cli=(("pki", "hub.pki.cli:pki_group"),),
    facts=FACTS,
    migrations=True,
)
