"""The ``storehub`` command line."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import click

from hub import __version__


def _data_dir_option(f):
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="STOREHUB_DATA_DIR",
                        default=None, help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)")(f)


@click.group()
@click.version_option(__version__, prog_name="storehub")
def main() -> None:
    """StoreHub: the store hub, its devices and the central aggregator."""


@main.command()
@_data_dir_option
@click.option("--store", "store_id", default="store-001", show_default=True, help="Store id (unique across the chain)")
@click.option("--name", "store_name", default=None)
@click.option("--currency", default=None, help="ISO 4217 code, e.g. CNY")
@click.option("--language", type=click.Choice(["en", "zh-CN"]), default=None)
@click.option("--region", default=None, help="Barcode region for in-store labels (ISO 3166 alpha-2)")
@click.option("--timezone", default=None, help="The store's IANA timezone, e.g. Asia/Shanghai (its business day)")
def init(data_dir, store_id, store_name, currency, language, region, timezone):
    """Create (or update) a hub data directory."""
    from hub.kernel.errors import ValidationError
    from hub.store import initialise, open_db

    cfg, db = open_db(data_dir)
    try:
        s = initialise(db, store_id=store_id, store_name=store_name, currency=currency, language=language,
                       region=region, timezone=timezone)
    except ValidationError as exc:
        raise click.UsageError(exc.message) from None
    click.echo(f"hub data in {cfg.data_dir} for store {s['store_id']} ({s['currency']}, {s['language']},"
               f" {s['timezone']})")


@main.command()
@_data_dir_option
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=None, type=int, help="gunicorn worker processes")
@click.option("--mqtt", "mqtt_url", default=None, envvar="STOREHUB_MQTT_URL", help="Broker URL, e.g. mqtt://127.0.0.1:1883")
def serve(data_dir, host, port, workers, mqtt_url):
    """Serve the hub API and handheld app with gunicorn."""
    from hub.serve import run
    from hub.store import open_db

    cfg, _db = open_db(data_dir)
    run(cfg.data_dir, host, port, workers, mqtt_url)


@main.command()
@_data_dir_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(data_dir, file):
    """Online backup of the hub database and its secret key to FILE (SQLite backup API; file mode 0600)."""
    from hub.store import backup as backup_hub, open_db

    cfg, db = open_db(data_dir)
    try:
        backup_hub(cfg, db, file)
    finally:
        db.close()
    click.echo(f"backed up to {file} (it holds the hub's secret key: keep it as safe as the hub)")


@main.command()
@_data_dir_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(data_dir, file):
    """Replace the hub database with the backup FILE (stop the hub first)."""
    from hub.kernel.config import HubConfig
    from hub.store import open_db, restore as restore_hub

    cfg = HubConfig(data_dir=Path(data_dir).resolve()) if data_dir else HubConfig()
    try:
        had_key = restore_hub(cfg, file)
    except (ValueError, sqlite3.DatabaseError) as exc:
        raise click.ClickException(str(exc))
    _cfg, db = open_db(cfg.data_dir)  # apply any newer migrations to the restored data
    db.close()
    click.echo(f"restored {file} into {cfg.db_path}")
    if not had_key:
        click.echo("warning: this backup carries no secret key; staff badges must be enrolled again", err=True)


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-data"),
              show_default=True, help="Where the demo store keeps its files")
@click.option("--store", "store_id", default="demo-sh-001", show_default=True)
@click.option("--port", "hub_port", default=8000, show_default=True, type=int)
@click.option("--mqtt-port", default=1884, show_default=True, type=int, help="Embedded broker port")
@click.option("--central-port", default=8100, show_default=True, type=int)
def demo(data_dir, store_id, hub_port, mqtt_port, central_port):
    """Run the demo store: hub, simulated devices, broker and central, seeded with a supermarket."""
    from hub.demo.runner import run_demo

    sys.exit(run_demo(data_dir.resolve(), store_id, hub_port, mqtt_port, central_port))


@main.group()
def users():
    """Staff accounts."""


@users.command("add")
@_data_dir_option
@click.argument("name")
@click.option("--role", type=click.Choice(["associate", "supervisor", "manager", "admin"]), required=True)
@click.option("--pin", default=None)
@click.option("--password", default=None)
@click.option("--badge", default=None, help="Badge code printed on the staff card")
@click.option("--display-name", default=None)
@click.option("--language", type=click.Choice(["en", "zh-CN"]), default="en")
def users_add(data_dir, name, role, pin, password, badge, display_name, language):
    """Add a user with a PIN (floor staff) and/or a password (managers, admins)."""
    from hub.auth import users as users_mod
    from hub.kernel.errors import StoreHubError
    from hub.store import open_db

    cfg, db = open_db(data_dir)
    try:
        with db.write() as conn:
            u = users_mod.create(conn, username=name, role=role, pin=pin, password=password, badge=badge,
                                 display_name=display_name, language=language, secret_key=cfg.secret_key())
    except StoreHubError as exc:
        click.echo(json.dumps(exc.to_dict()), err=True)
        sys.exit(1)
    click.echo(f"added {u['username']} ({u['role']}) id={u['id']}")


@users.command("list")
@_data_dir_option
def users_list(data_dir):
    from hub.auth import users as users_mod
    from hub.store import open_db

    _cfg, db = open_db(data_dir)
    for u in users_mod.list_all(db.read()):
        click.echo(f"{u['username']:20} {u['role']:11} {u['display_name']}")


def _register_optional_commands() -> None:
    """Commands that live with their own domain modules."""
    import importlib

    for modname, attr in COMMAND_MODULES:
        mod = importlib.import_module(modname)
        main.add_command(getattr(mod, attr))


# (module, click command) pairs; each domain adds its own line.
COMMAND_MODULES: list[tuple[str, str]] = [
    ("hub.stocktake.cli", "epc_group"),
    ("hub.stocktake.cli", "stocktake_group"),
    ("hub.identify.cli", "barcode_group"),
    ("hub.identify.cli", "catalog_group"),
    ("devices.cli", "agent"),
    ("devices.cli", "sim"),
    ("sync.cli", "central"),
    ("sync.cli", "sync"),
    ("hub.orders.cli", "orders_cli"),
    ("hub.bus.cli", "bus_command"),
    ("hub.bus.cli", "broker_command"),
    ("hub.bus.cli", "devices_group"),
]

_register_optional_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
