"""Staff access: accounts and roles (``users``), sessions with CSRF tokens (``sessions``), the per-source login
throttle (``login_throttle``) and the login/logout routes (``api``)."""

from hub.domain import Domain
from hub.auth.facts import FACTS

DOMAIN = Domain(
    name="auth",
    summary="staff accounts, roles, PIN/password/badge login, sessions, login throttle",
    package="hub.auth",
    facts=FACTS,
    routes=("hub.auth.api:bp",),
    cli=(("users", "hub.auth.cli:users_group"),),
    migrations=True,
)
