"""``storehub barcode …`` and ``storehub epc …`` commands.

``storehub barcode parse CODE --json`` is a fixed interface other tools call: it
prints one JSON object with the keys of :data:`hub.identify.barcode.RESULT_KEYS` (null when
absent), or ``{"error": {"code", "message"}}`` and exits 1 when the code cannot be
read."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

import click

from hub.identify import barcode
from hub.kernel.cliopts import cli_actor


def _store_settings(data_dir: Path | None) -> dict:
    """The hub's settings when a data directory is given (--data-dir or STOREHUB_DATA_DIR) and
    holds a database; else the defaults, with no barcode region. Opens the database read-only."""
    from hub.kernel import settings

    if data_dir is None:
        env = os.environ.get("STOREHUB_DATA_DIR")
        data_dir = Path(env) if env else None
    db_path = (data_dir / "hub.db") if data_dir else None
    if db_path is None or not db_path.exists():
        out = settings.defaults()
        out["barcode_region"] = None
        return out
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return settings.get_all(conn)
    finally:
        conn.close()


@click.group("barcode")
def barcode_group() -> None:
    """Read scanned codes."""


@barcode_group.command("parse")
@click.argument("code")
@click.option(
    "--region",
    default=None,
    help="Region for in-store variable-measure labels (ISO 3166 alpha-2, e.g. "
    "NO, DE, US, CN); default: the hub's barcode_region when a data directory is given, else none",
)
@click.option("--gs-substitute", default=None, help="Printable character the scanner sends for FNC1/GS (default |)")
@click.option("--currency", default=None, help="Currency of AI 392n prices and layout prices (default: the hub's)")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Hub data directory whose settings to use (default $STOREHUB_DATA_DIR)",
)
def parse_cmd(code, region, gs_substitute, currency, as_json, data_dir):
    """Parse CODE (GTIN, GS1 element string, Digital Link, in-store label or StoreHub code)."""
    from hub.kernel.errors import StoreHubError

    try:
        s = _store_settings(data_dir)
        if currency:
            s["currency"] = currency.upper()
        opts = barcode.ParseOptions.from_settings(s, region=region, gs_substitute=gs_substitute)
        result = barcode.parse(code, opts).to_dict()
    except StoreHubError as exc:
        err = {"error": {"code": exc.code, "message": exc.message}}
        if as_json:
            click.echo(json.dumps(err, ensure_ascii=False))
        else:
            click.echo(f"error: {exc.code}: {exc.message}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        for k in barcode.RESULT_KEYS:
            if result[k] is not None:
                click.echo(f"{k:17} {result[k]}")


@barcode_group.command("config")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STOREHUB_DATA_DIR",
    default=None,
    help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)",
)
@click.option("--region", default=None, help="barcode_region: ISO 3166 alpha-2 (e.g. CN, US, NO); 'none' clears it")
@click.option("--gs-substitute", default=None, help="gs_substitute: printable FNC1 stand-in ('' for none)")
@click.option(
    "--layouts",
    default=None,
    help="rcn_layouts as JSON (a list of layout objects / built-in names), or @FILE holding it",
)
def config_cmd(data_dir, region, gs_substitute, layouts):
    """Show or change how this hub reads barcodes (see docs/barcodes.md)."""
    from hub.kernel import audit, settings
    from hub.kernel.errors import StoreHubError
    from hub.store import open_db

    _cfg, db = open_db(data_dir)
    try:
        changes: dict = {}
        if region is not None:
            changes["barcode_region"] = barcode.validate_region(None if region.lower() == "none" else region)
        if gs_substitute is not None:
            barcode.ParseOptions(gs_substitute=gs_substitute).separators()
            changes["gs_substitute"] = gs_substitute or None
        if layouts is not None:
            text = Path(layouts[1:]).read_text(encoding="utf-8") if layouts.startswith("@") else layouts
            try:
                specs = json.loads(text)
            except ValueError as exc:
                raise click.ClickException(f"--layouts is not JSON: {exc}") from None
            if not isinstance(specs, list):
                raise click.ClickException("--layouts must be a JSON list")
            barcode.compile_layouts(specs)
            changes["rcn_layouts"] = specs
        if changes:
            with db.write() as conn:
                for k, v in changes.items():
                    settings.put(conn, k, v)
                audit.log(conn, actor=cli_actor(), action="settings.barcode", details=changes)
        s = settings.get_all(db.read())
    except StoreHubError as exc:
        click.echo(json.dumps({"error": {"code": exc.code, "message": exc.message}}, ensure_ascii=False))
        sys.exit(1)
    finally:
        db.close()
    click.echo(
        json.dumps(
            {k: s.get(k) for k in ("barcode_region", "gs_substitute", "rcn_layouts", "currency")}, ensure_ascii=False
        )
    )


# ---------------------------------------------------------------- EPC tools
@click.group("epc")
def epc_group() -> None:
    """EPC (RFID tag) tools."""


@epc_group.command("decode")
@click.argument("hex_epc", metavar="HEX")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (fixed shape for other tools)")
def epc_decode(hex_epc: str, as_json: bool) -> None:
    """Decode an EPC (SGTIN-96, SGTIN-198, SSCC-96, GIAI-96) given as hex."""
    from hub.protocol.epc import EpcError, decode

    try:
        e = decode(hex_epc)
    except EpcError as exc:
        click.echo(json.dumps(exc.to_dict()), err=not as_json)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(e.to_json()))
        return
    for k, v in e.as_dict().items():
        if v is not None:
            click.echo(f"{k:15} {v}")
