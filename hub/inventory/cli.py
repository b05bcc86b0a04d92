"""``storehub catalog …``: import and export the item catalog as CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hub.kernel.cliopts import cli_actor, data_dir_option


@click.group("catalog")
def catalog_group() -> None:
    """Import and export the item catalog as CSV."""


@catalog_group.command("import")
@data_dir_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and show what would change; write nothing")
@click.option(
    "--pictures",
    "pictures_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder the picture column's file names are relative to",
)
def catalog_import(data_dir, file, dry_run, pictures_dir):
    """Validate every row of FILE, then create or update items by SKU in one transaction.

    If any row is bad nothing is imported: the problems are listed per row and the exit code is 1.

    A `picture` column names each item's picture: a file in the --pictures folder or an http(s) URL. Pictures are
    read and checked after the items; one that cannot be read or is refused is listed with its row and the rest
    are attached (exit code 3 when any was refused)."""
    from hub.inventory import catalog_csv
    from hub.store import open_db

    picture_errors: list = []
    attached = 0
    _cfg, db = open_db(data_dir)
    try:
        text = catalog_csv.decode(file.read_bytes())
        total = max(text.count("\n") - 1, 0)
        with click.progressbar(
            length=total, label="checking", show_pos=True, file=sys.stderr, hidden=total < 1000
        ) as bar:
            plan = catalog_csv.plan_import(db.read(), text, progress=bar.update)
        if not plan.ok:
            raise catalog_csv.CatalogImportError(plan.errors)
        with click.progressbar(
            length=len(plan.rows),
            label="importing",
            show_pos=True,
            file=sys.stderr,
            hidden=len(plan.rows) < 1000 or dry_run,
        ) as bar:
            if dry_run:
                result = catalog_csv.apply_plan(db.read(), plan, actor=cli_actor(), dry_run=True)
            else:
                with db.write() as conn:
                    result = catalog_csv.apply_plan(
                        conn, plan, actor=cli_actor(), source=file.name, progress=bar.update
                    )
        if plan.pictures:
            from hub.inventory import catalog_pictures  # Pillow and urllib only when the file names pictures

            with click.progressbar(
                length=len(plan.pictures),
                label="pictures",
                show_pos=True,
                file=sys.stderr,
                hidden=len(plan.pictures) < 20,
            ) as bar:
                todo = catalog_pictures.plan(plan.pictures, pictures_dir, progress=bar.update)
            if not dry_run and todo.ready:
                with db.write() as conn:
                    attached = catalog_pictures.attach(conn, todo, actor=cli_actor())
            else:
                attached = len(todo.ready)
            picture_errors = todo.errors
    except catalog_csv.CatalogImportError as exc:
        click.echo(f"{file}: {exc.message}", err=True)
        for e in exc.errors:
            click.echo(f"  {e}", err=True)
        sys.exit(1)
    finally:
        db.close()
    verb = "would create" if dry_run else "created"
    click.echo(
        f"{file}: {verb} {result.created}, {'would update' if dry_run else 'updated'} {result.updated}, "
        f"unchanged {result.unchanged}"
        + (f"; pictures {'would attach' if dry_run else 'attached'} {attached}" if plan.pictures else "")
    )
    if picture_errors:
        click.echo(f"{file}: {len(picture_errors)} picture(s) refused (their items were imported without):", err=True)
        for e in picture_errors:
            click.echo(f"  {e}", err=True)
        sys.exit(3)


@catalog_group.command("export")
@data_dir_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--bom/--no-bom",
    default=True,
    show_default=True,
    help="Start the file with a UTF-8 BOM (lets spreadsheet programs detect UTF-8 Chinese names)",
)
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
