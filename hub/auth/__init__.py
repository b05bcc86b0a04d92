"""Staff access: accounts and roles (``users``), sessions with CSRF tokens (``sessions``), the per-source login
throttle (``login_throttle``) and the login/logout routes (``api``)."""

from hub.auth.facts import FACTS
from hub.domain import Domain, Setting

SETTINGS = (
    Setting(
        "handheld_idle_lock_s",
        300,
        {"type": "integer", "minimum": 0, "maximum": 86_400},
        "Handheld idle lock",
        "Seconds without a touch or scan before a handheld locks and its user must enter their PIN again;"
        " 0 never locks.",
    ),
)

DOMAIN = Domain(
    name="auth",
    summary="staff accounts, roles, PIN/password/badge login, sessions, login throttle",
    package="hub.auth",
    facts=FACTS,
    routes=("hub.auth.api:bp",),
    cli=(("users", "hub.auth.cli:users_group"), ("pii", "hub.auth.cli:pii_group")),
    settings=SETTINGS,
    migrations=True,
)
