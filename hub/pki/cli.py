"""``storehub pki …`` commands: the store CA and the hub certificate, enrolled devices, the plain-HTTP listener."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hub.kernel import settings
from hub.kernel.errors import ValidationError
from hub.pki import certs, model, workflow
from hub.store import open_db


def _data_dir_option(f):
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="STOREHUB_DATA_DIR",
        default=None,
        help="Hub data directory (default: $STOREHUB_DATA_DIR or ./storehub-data)",
    )(f)


def _store(data_dir: Path | None) -> tuple[Path, str]:
    cfg, db = open_db(data_dir)
    try:
        return cfg.data_dir, settings.get(db.read(), "store_id")
    finally:
        db.close()


@click.group("pki")
def pki_group() -> None:
    """Store certificates: the store CA, the hub's HTTPS certificate, enrolled handhelds."""


@pki_group.command("status")
@_data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON")
def status_cmd(data_dir, as_json):
    """The store CA (fingerprint to compare on a phone), the hub certificate's names and expiry."""
    d, _store_id = _store(data_dir)
    st = workflow.status(d)
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    if st["ca"] is None:
        raise click.ClickException(f"no store CA in {d / 'pki'}: run storehub init")
    click.echo(f"store CA     {st['ca']['subject']}")
    click.echo(f"fingerprint  SHA-256 {st['ca']['fingerprint_sha256']}")
    click.echo(f"CA valid to  {st['ca']['not_after']}")
    if st["hub"]:
        click.echo(f"hub cert to  {st['hub']['not_after']}")
        click.echo(f"hub names    {', '.join(st['hub']['names'])}")
    click.echo(f"renewal due  {st['renewal_due'] or 'no'}")
    if st["left_out"]:
        click.echo(f"left out     {', '.join(st['left_out'])} (outside the CA's name constraints)")


@pki_group.command("renew")
@_data_dir_option
@click.option("--name", "add", multiple=True, help="Also answer to this host name or address (kept; repeatable)")
@click.option("--forget-name", "remove", multiple=True, help="Stop answering to a name added with --name")
@click.option("--force", is_flag=True, help="Issue a new hub certificate even if the current one is good")
def renew_cmd(data_dir, add, remove, force):
    """Check the hub certificate now and issue a new one if it is due (a running hub serves it from the next
    connection on; it also checks daily by itself)."""
    d, store_id = _store(data_dir)
    files = certs.PkiFiles.in_data_dir(d)
    try:
        if add or remove:
            certs.change_extra_names(files, add=list(add), remove=list(remove))
    except ValidationError as exc:
        raise click.UsageError(exc.message) from None
    out = workflow.check(d, store_id, force=force)
    click.echo(
        f"hub certificate: {'issued (' + out.hub_issued + ')' if out.hub_issued else 'still good'}"
        f" for {', '.join(out.names)}"
    )
    if out.left_out:
        click.echo(f"left out (outside the CA's name constraints): {', '.join(out.left_out)}", err=True)


@pki_group.command("export-ca")
@_data_dir_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pem", "der"]),
    default="pem",
    show_default=True,
    help="pem for MDM consoles and computers, der for a .crt a phone installs",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (default: standard output)",
)
def export_ca_cmd(data_dir, fmt, output):
    """The store CA certificate (public) for an MDM profile, a till or another machine."""
    d, _store_id = _store(data_dir)
    try:
        data = certs.ca_bytes(certs.PkiFiles.in_data_dir(d), fmt)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from None
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output}", err=True)


@pki_group.command("enrolled")
@_data_dir_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500))
def enrolled_cmd(data_dir, limit):
    """Handhelds and tills enrolled with the store CA, newest first, one JSON object per line."""
    _cfg, db = open_db(data_dir)
    try:
        rows, _total = model.list_enrolments(db.read(), limit=limit)
    finally:
        db.close()
    for r in rows:
        click.echo(json.dumps(r, ensure_ascii=False))


@pki_group.command("serve-http")
@_data_dir_option
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int, help="Plain-HTTP port")
@click.option("--https-port", default=8000, show_default=True, type=int, help="Where the hub serves HTTPS")
def serve_http_cmd(data_dir, host, port, https_port):
    """The plain-HTTP listener: the enrolment page, the CA downloads and a redirect to HTTPS (``storehub serve``
    runs it beside the HTTPS server)."""
    # gunicorn and Flask: imported only by the command that serves, so `storehub --help` stays light
    from hub.pki.api.plain import create_plain_app
    from hub.serve import GunicornApp, gunicorn_options

    cfg, db = open_db(data_dir)
    try:
        store = settings.get(db.read(), "store_name") or settings.get(db.read(), "store_id")
    finally:
        db.close()
    options = {**gunicorn_options(host, port, workers=1, threads=8), "errorlog": "-"}
    GunicornApp(
        lambda: create_plain_app(cfg.data_dir, https_port=https_port, http_port=port, store=store), options
    ).run()
