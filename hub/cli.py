"""The ``storehub`` command line."""

from __future__ import annotations

import ipaddress
import json
import os
import sqlite3
import sys
from pathlib import Path

import click

from hub import __version__
from hub.domain import load
from hub.kernel.cliopts import data_dir_option
from hub.protocol.errors import StoreHubError

# The domains, the store and its settings are imported by the commands that use them, not here: `storehub agent`
# and `storehub sim` (device hosts, one process per device) load only what their command needs (memory).


class StoreHubCLI(click.Group):
    """The root command: its own commands, each domain's declared commands and the system commands, imported
    only when run (an agent host runs ``storehub agent`` without the hub's web stack)."""

    def _lazy(self) -> dict[str, str]:
        from hub import domains  # every domain package: only to list or find a domain's command

        return {**domains.commands(), **SYSTEM_COMMANDS}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy()})

    def invoke(self, ctx: click.Context):
        """One error convention for every command: a refusal of the hub (``StoreHubError``) or of the system (a
        missing file, no permission) is a human message on stderr — or the JSON error object on stdout when the
        command line asks for ``--json`` — with exit code 2 for bad input and 1 for a failure; no traceback."""
        try:
            return super().invoke(ctx)
        except StoreHubError as exc:
            _fail(exc.to_dict(), exc.message, 2 if exc.status in (400, 422) else 1)
        except OSError as exc:
            _fail({"error": {"code": "os_error", "message": str(exc), "details": None}}, str(exc), 1)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None and cmd_name in SYSTEM_COMMANDS:  # agents, simulators, sync: without the hub's domains
            cmd = load(SYSTEM_COMMANDS[cmd_name])
        elif cmd is None and cmd_name in self._lazy():
            cmd = load(self._lazy()[cmd_name])
        return cmd


def _fail(body: dict, message: str, code: int) -> None:
    if "--json" in sys.argv[1:]:
        click.echo(json.dumps(body, ensure_ascii=False))
    else:
        click.echo(f"storehub: {message}", err=True)
    sys.exit(code)


@click.group(cls=StoreHubCLI)
@click.version_option(__version__, prog_name="storehub")
def main() -> None:
    """StoreHub: the store hub, its devices and the central aggregator."""


@main.command()
@data_dir_option
@click.option("--store", "store_id", default="store-001", show_default=True, help="Store id (unique across the chain)")
@click.option("--name", "store_name", default=None)
@click.option("--currency", default=None, help="ISO 4217 code, e.g. CNY")
@click.option("--language", type=click.Choice(["en", "zh-CN"]), default=None)
@click.option("--region", default=None, help="Barcode region for in-store labels (ISO 3166 alpha-2)")
@click.option("--timezone", default=None, help="The store's IANA timezone, e.g. Asia/Shanghai (its business day)")
@click.option(
    "--tls-name",
    "tls_names",
    multiple=True,
    help="Another name handhelds use for the hub, e.g. hub.store.lan (kept; repeatable). The host name, "
    "its .local name and the LAN addresses are always in the certificate",
)
def init(data_dir, store_id, store_name, currency, language, region, timezone, tls_names):
    """Create (or update) a hub data directory, its store CA and HTTPS certificate."""
    # certificates (cryptography): imported only by the commands that issue them, so `storehub --help` stays quick
    from hub.kernel.errors import ValidationError
    from hub.pki import certs, workflow
    from hub.store import initialise, open_db

    cfg, db = open_db(data_dir)
    try:
        s = initialise(
            db,
            store_id=store_id,
            store_name=store_name,
            currency=currency,
            language=language,
            region=region,
            timezone=timezone,
        )
        if tls_names:
            certs.change_extra_names(certs.PkiFiles.in_data_dir(cfg.data_dir), add=list(tls_names))
    except ValidationError as exc:
        raise click.UsageError(exc.message) from None
    out = workflow.check(cfg.data_dir, s["store_id"])
    ca = certs.load_ca(certs.PkiFiles.in_data_dir(cfg.data_dir))
    click.echo(
        f"hub data in {cfg.data_dir} for store {s['store_id']} ({s['currency']}, {s['language']}, {s['timezone']})"
    )
    click.echo(f"store CA {'created' if out.ca_created else 'kept'}: SHA-256 {certs.fingerprint(ca)}")
    click.echo(f"hub certificate for {', '.join(out.names)}")
    click.echo(
        f"enrol handhelds at {workflow.enrolment_url(cfg.data_dir, 8001, out.names)}"
        " (storehub serve --port 8000; its HTTP port is --port + 1)"
    )


@main.command()
@data_dir_option
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=None,
    type=int,
    help="gunicorn worker processes (default: $STOREHUB_WEB_WORKERS, else 1 with up to 2 GB of RAM, "
    "else one per core, 2 to 4)",
)
@click.option(
    "--threads",
    default=None,
    type=click.IntRange(1, 1024),
    help="Threads per worker (default 64 with one worker, else 32: each open live stream holds one)",
)
@click.option(
    "--mqtt", "mqtt_url", default=None, envvar="STOREHUB_MQTT_URL", help="Broker URL, e.g. mqtt://127.0.0.1:1883"
)
@click.option(
    "--sync/--no-sync",
    "with_sync",
    default=False,
    envvar="STOREHUB_SERVE_SYNC",
    help="Also run the sync worker, as a thread of the bus process (or alone without --mqtt); then no "
    "separate `storehub sync run`",
)
@click.option(
    "--tls/--no-tls",
    default=None,
    help="HTTPS with the store certificate (default: on, except when --host is a loopback address)",
)
@click.option(
    "--http-port",
    default=None,
    type=click.IntRange(0, 65535),
    help="Plain-HTTP port that only redirects to HTTPS and serves /enrol (default: --port + 1; 0: none)",
)
def serve(data_dir, host, port, workers, threads, mqtt_url, with_sync, tls, http_port):
    """Serve the hub API and handheld app with gunicorn: HTTPS on --port, enrolment and redirects on --http-port.

    Checks the data directory (migrations), then becomes a lean gunicorn master (same pid) that starts the web
    workers, the bus (with --sync: and the sync worker) and restarts whichever dies (docs/architecture.md)."""
    from hub.kernel import settings
    from hub.serve import ServeSpec, exec_master  # gunicorn: imported only by the command that serves
    from hub.store import open_db
    from hub.synclink.state import read_credentials

    loopback = _is_loopback(host)
    use_tls = (not loopback) if tls is None else tls
    if not use_tls and not loopback:
        raise click.UsageError(
            f"plain HTTP is only for a loopback address, not {host}: PINs and session cookies "
            "would cross the store Wi-Fi in clear (drop --no-tls)"
        )
    if workers is not None and workers < 1:
        raise click.UsageError("--workers must be at least 1")
    cfg, db = open_db(data_dir)
    conn = db.read()
    store_id, store_name = settings.get(conn, "store_id"), settings.get(conn, "store_name")
    db.close()
    if with_sync and not read_credentials(cfg.data_dir):
        raise click.UsageError("--sync: this hub has no sync credential (storehub sync configure first)")
    exec_master(
        ServeSpec(
            data_dir=str(cfg.data_dir),
            host=host,
            port=port,
            workers=workers,
            threads=threads,
            mqtt_url=mqtt_url,
            tls=use_tls,
            store_id=store_id,
            store_name=store_name,
            http_port=(port + 1 if http_port is None else http_port) if use_tls else None,
            sync=with_sync,
        ),
        sys.argv[1:],
    )


def _is_loopback(host: str) -> bool:
    """Whether a bind address reaches only this box (plain HTTP is allowed there: nothing crosses the LAN)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@main.command()
@data_dir_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--encrypt", is_flag=True, help="Encrypt with a passphrase ($STOREHUB_BACKUP_PASSPHRASE, else asked twice)"
)
def backup(data_dir, file, encrypt):
    """Online backup of the hub database and its secret key to FILE (SQLite backup API; file mode 0600)."""
    from hub.store import backup as backup_hub
    from hub.store import open_db

    passphrase = _passphrase(confirm=True) if encrypt else None
    cfg, db = open_db(data_dir)
    try:
        backup_hub(cfg, db, file, passphrase=passphrase)
    finally:
        db.close()
    click.echo(
        f"backed up to {file}"
        + (
            " (encrypted)"
            if encrypt
            else " (it holds the hub's secret key and staff data: keep it as safe as the hub, or use --encrypt)"
        )
    )


def _passphrase(*, confirm: bool) -> str:
    """The backup passphrase: from $STOREHUB_BACKUP_PASSPHRASE (scripts, timers), else asked at the terminal."""
    env = os.environ.get("STOREHUB_BACKUP_PASSPHRASE")
    if env:
        return env
    if not sys.stdin.isatty():
        raise click.UsageError("no terminal to ask for the passphrase: set STOREHUB_BACKUP_PASSPHRASE")
    return click.prompt("Backup passphrase", hide_input=True, confirmation_prompt=confirm)


@main.command()
@data_dir_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Restore even a backup of another store over this one")
def restore(data_dir, file, force):
    """Replace the hub database with the backup FILE (stop the hub first).

    A backup of another store is refused unless --force; an encrypted backup asks for its passphrase
    ($STOREHUB_BACKUP_PASSPHRASE, else at the terminal)."""
    from hub.kernel.config import HubConfig
    from hub.store import is_encrypted, open_db
    from hub.store import restore as restore_hub

    cfg = HubConfig(data_dir=Path(data_dir).resolve()) if data_dir else HubConfig()
    passphrase = _passphrase(confirm=False) if is_encrypted(file) else None
    try:
        had_key = restore_hub(cfg, file, passphrase=passphrase, force=force)
    except (ValueError, sqlite3.DatabaseError) as exc:
        raise click.ClickException(str(exc)) from None
    _cfg, db = open_db(cfg.data_dir)  # apply any newer migrations to the restored data
    db.close()
    click.echo(f"restored {file} into {cfg.db_path}")
    if not had_key:
        click.echo("warning: this backup carries no secret key; staff badges must be enrolled again", err=True)


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-data"),
    show_default=True,
    help="Where the demo store keeps its files",
)
@click.option("--store", "store_id", default="demo-sh-001", show_default=True)
@click.option("--port", "hub_port", default=8000, show_default=True, type=int)
@click.option("--mqtt-port", default=1884, show_default=True, type=int, help="Embedded broker port")
@click.option("--central-port", default=8100, show_default=True, type=int)
@click.option("--lan", is_flag=True, help="Listen on every interface (phones on the store Wi-Fi); default loopback")
def demo(data_dir, store_id, hub_port, mqtt_port, central_port, lan):
    """Run the demo store: hub, simulated devices, broker and central, seeded with a supermarket."""
    from hub.demo.runner import (
        run_demo,  # starts processes: imported only by the demo command
    )

    sys.exit(run_demo(data_dir.resolve(), store_id, hub_port, mqtt_port, central_port, lan=lan))


# Commands of the parts of StoreHub that are not hub domains: device agents and simulators (``devices``), the
# hub's sync worker and the central aggregator (``sync``). The storehub command fronts everything.
SYSTEM_COMMANDS: dict[str, str] = {
    "agent": "devices.cli:agent",
    "sim": "devices.cli:sim",
    "central": "sync.cli:central",
    "sync": "sync.cli:sync",
}


@main.command("domains")
@click.option("--json", "as_json", is_flag=True, help="Print the declarations as JSON")
def domains_cmd(as_json):
    """The hub's domains, in order, and what each declares."""
    from hub import domains

    described = domains.describe()
    if as_json:
        click.echo(json.dumps(described, ensure_ascii=False, indent=2))
        return
    for d in described:
        click.echo(f"{d['name']:10} {d['summary']}")
        for key in ("routes", "commands", "handlers", "stock_in", "stock_out", "facts", "settings", "screens"):
            if d[key]:
                click.echo(f"{'':10} {key}: {', '.join(d[key])}")


if __name__ == "__main__":  # pragma: no cover
    main()
