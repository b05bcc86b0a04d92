"""``storehub barcode …`` and ``storehub catalog …`` commands.

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


def _store_settings(data_dir: Path | None) -> dict:
    """The hub's settings when a data directory is given (--data-dir or STOREHUB_DATA_DIR) and
    holds a database; else the defaults, with no barcode region. Opens the database read-only."""
    from hub.kernel import settings

    if data_dir is None:
        env = os.environ.get("STOREHUB_DATA_DIR")
        data_dir = Path(env) if env else None
    db_path = (data_dir / "hub.db") if data_dir else None
    if db_path is None or not db_path.exists():
        out = dict(settings.DEFAULTS)
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
@click.option("--region", default=None, help="Region for in-store variable-measure labels (ISO 3166 alpha-2, e.g. "
              "NO, DE, US, CN); default: the hub's barcode_region when a data directory is given, else none")
@click.option("--gs-substitute", default=None, help="Printable character the scanner sends for FNC1/GS (default |)")
@click.option("--currency", default=None, help="Currency of AI 392n prices and layout prices (default: the hub's)")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Hub data directory whose settings to use (default $STOREHUB_DATA_DIR)")
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


# ---------------------------------------------------------------- catalog import / export
@click.group("catalog")
def catalog_group() -> None:
    """Import and export the item catalog as CSV."""


def _data_dir_opt(f):
    return click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="STOREHUB_DATA_DIR",
                        default=None, help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)")(f)


def _cli_actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (e.g. a container without a passwd entry)
        return "cli"


@catalog_group.command("import")
@_data_dir_opt
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing")
def catalog_import(data_dir, file, dry_run):
    """Validate every row of FILE, then create or update items by SKU in one transaction.

    If any row is bad nothing is imported: the problems are listed per row and the exit code is 1."""
    from hub.inventory import catalog_csv
    from hub.store import open_db

    _cfg, db = open_db(data_dir)
    try:
        text = catalog_csv.decode(file.read_bytes())
        total = max(text.count("\n") - 1, 0)
        with click.progressbar(length=total, label="checking", show_pos=True, file=sys.stderr,
                               hidden=total < 1000) as bar:
            plan = catalog_csv.plan_import(db.read(), text, progress=bar.update)
        if not plan.ok:
            raise catalog_csv.CatalogImportError(plan.errors)
        with click.progressbar(length=len(plan.rows), label="importing", show_pos=True, file=sys.stderr,
                               hidden=len(plan.rows) < 1000 or dry_run) as bar:
            if dry_run:
                result = catalog_csv.apply_plan(db.read(), plan, actor=_cli_actor(), dry_run=True)
            else:
                with db.write() as conn:
                    result = catalog_csv.apply_plan(conn, plan, actor=_cli_actor(), source=file.name,
                                                    progress=bar.update)
    except catalog_csv.CatalogImportError as exc:
        click.echo(f"{file}: {exc.message}", err=True)
        for e in exc.errors:
            click.echo(f"  {e}", err=True)
        sys.exit(1)
    finally:
        db.close()
    verb = "would create" if dry_run else "created"
    click.echo(f"{file}: {verb} {result.created}, {'would update' if dry_run else 'updated'} {result.updated}, "
               f"unchanged {result.unchanged}")


@catalog_group.command("export")
@_data_dir_opt
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--bom/--no-bom", default=True, show_default=True,
              help="Start the file with a UTF-8 BOM (lets spreadsheet programs detect UTF-8 Chinese names)")
def catalog_export(data_dir, file, bom):
    """Write every item to FILE as CSV (the format `catalog import` reads)."""
    from hub.inventory import catalog_csv
    from hub.store import open_db

    _cfg, db = open_db(data_dir)
    try:
        tmp = file.with_name(file.name + ".tmp")
        with open(tmp, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as out:
            n = catalog_csv.export_csv(db.read(), out)
        tmp.replace(file)
    finally:
        db.close()
    click.echo(f"exported {n} items to {file}")


@barcode_group.command("config")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar="STOREHUB_DATA_DIR",
              default=None, help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)")
@click.option("--region", default=None, help="barcode_region: ISO 3166 alpha-2 (e.g. CN, US, NO); 'none' clears it")
@click.option("--gs-substitute", default=None, help="gs_substitute: printable FNC1 stand-in ('' for none)")
@click.option("--layouts", default=None,
              help="rcn_layouts as JSON (a list of layout objects / built-in names), or @FILE holding it")
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
                raise click.ClickException(f"--layouts is not JSON: {exc}")
            if not isinstance(specs, list):
                raise click.ClickException("--layouts must be a JSON list")
            barcode.compile_layouts(specs)
            changes["rcn_layouts"] = specs
        if changes:
            with db.write() as conn:
                for k, v in changes.items():
                    settings.put(conn, k, v)
                audit.log(conn, actor=_cli_actor(), action="settings.barcode", details=changes)
        s = settings.get_all(db.read())
    except StoreHubError as exc:
        click.echo(json.dumps({"error": {"code": exc.code, "message": exc.message}}, ensure_ascii=False))
        sys.exit(1)
    finally:
        db.close()
    click.echo(json.dumps({k: s.get(k) for k in ("barcode_region", "gs_substitute", "rcn_layouts", "currency")},
                          ensure_ascii=False))
