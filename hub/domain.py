"""How a domain of the hub is declared: one ``Domain`` record in the package's ``__init__.py``.

A domain (inventory, orders, stocktake, …) is a package ``hub/<name>/`` that says once, here, everything the
rest of the hub needs to know about it: its HTTP routes, its command-line group, what it does with device
events and with stock arriving, the facts it records in the outbox (each with a JSON Schema, and whether the
handheld follows it live), its settings (each with a default and a JSON Schema), its demo processes and its
migrations. ``hub/domains.py`` lists the domains in order; the app factory, the CLI, the bus, the ledger's
stock-in hooks, the live stream, settings validation and the demo iterate that list. Nothing is discovered.

Code the declaration points at is named by ``"module:attribute"`` strings and imported only by the part that
uses it: the CLI and a device agent host read the declarations without importing Flask, and a domain's
routes import its model, never the other way round.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Every JSON Schema in a declaration is draft 2020-12.
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class Fact:
    """One outbox fact kind: what its payload looks like, who may follow it live, how the central reads it.

    ``live``: sent to the handheld's live stream (``GET /api/v1/events``), which only associates' screens read —
    so personal data and audit entries are never live. ``projected``: the central folds it into a table (a
    ``{kind: projector}`` entry in ``sync/central/projections.py``); a fact that is only stored raw at the
    central says ``projected=False`` and why in ``note``."""

    kind: str
    schema: dict[str, Any]
    description: str
    live: bool = False
    projected: bool = True
    note: str = ""


@dataclass(frozen=True)
class Setting:
    """One store setting: its key, default, JSON Schema and a title people read (the settings screen, docs)."""

    key: str
    default: Any
    schema: dict[str, Any]
    title: str
    description: str = ""


@dataclass(frozen=True)
class Domain:
    """A domain's one declaration. References are ``"module:attribute"`` strings, imported on use."""

    name: str
    summary: str
    package: str  # e.g. "hub.orders" (where migrations/ lives)
    routes: tuple[str, ...] = ()  # Flask blueprints mounted under /api/v1
    cli: tuple[tuple[str, str], ...] = ()  # (command name, click command/group) added to ``storehub``
    handlers: tuple[tuple[str, str], ...] = ()  # (device event type, "module:function(conn, event)")
    stock_in: tuple[str, ...] = ()  # "module:function(conn, movement)" after stock arrives
    stock_out: tuple[str, ...] = ()  # "module:function(conn, movement)" after stock leaves
    facts: tuple[Fact, ...] = ()
    settings: tuple[Setting, ...] = ()
    demo: str | None = None  # "module:components(ctx) -> list[Component]"
    migrations: bool = False  # the package has a migrations/ folder of NNNN_name.sql
    screens: tuple[str, ...] = field(default=())  # handheld_ui/screens/<name>.js this domain owns

    @property
    def migrations_dir(self) -> Path | None:
        if not self.migrations:
            return None
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"domain {self.name}: package {self.package} not found")
        return Path(next(iter(spec.submodule_search_locations))) / "migrations"


def load(ref: str) -> Any:
    """Import what ``"module:attribute"`` names."""
    module, _, attr = ref.partition(":")
    if not module or not attr:
        raise ValueError(f"{ref!r} is not 'module:attribute'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def object_schema(
    properties: dict[str, Any], required: list[str] | None = None, *, extra: bool = True
) -> dict[str, Any]:
    """A JSON Schema for an object payload (shorthand for fact declarations).

    Facts are read by other programs that must keep working when a field is added, so by default other
    properties are allowed (``extra=True``); the named ones are checked."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }
    if not extra:
        schema["additionalProperties"] = False
    return schema
