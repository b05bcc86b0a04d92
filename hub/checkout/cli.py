"""``storehub checkout …``: verify the journal's hash chain, the X report of a till."""

from __future__ import annotations

import json
import sys

import click

from hub.checkout import journal, workflow
from hub.kernel.cliopts import data_dir_option
from hub.store import open_db


@click.group("checkout")
def checkout_group() -> None:
    """The till: sale journal and reports."""


@checkout_group.command("verify-journal")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object")
def verify_journal(data_dir, as_json):
    """Walk the sale journal's hash chain; exit 1 when an entry was changed, removed or reordered."""
    _cfg, db = open_db(data_dir)
    try:
        result = journal.verify(db.read())
    finally:
        db.close()
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    elif result["ok"]:
        click.echo(f"journal ok: {result['entries']} entries, last {result['last_seq']} {result['last_hash'][:16]}…")
    else:
        for p in result["problems"]:
            click.echo(f"entry {p['seq']}: {p['problem']}", err=True)
    sys.exit(0 if result["ok"] else 1)


@checkout_group.command("x-report")
@data_dir_option
@click.argument("till_id")
@click.option("--date", default=None, help="Business day (YYYY-MM-DD, default today)")
def x_report(data_dir, till_id, date):
    """Print a till's day totals as JSON (what the X report shows)."""
    _cfg, db = open_db(data_dir)
    try:
        click.echo(json.dumps(workflow.x_report(db.read(), till_id, date), ensure_ascii=False))
    finally:
        db.close()


@checkout_group.command("resume-payments")
@data_dir_option
def resume_payments(data_dir):
    """Ask the providers (and the tills' card terminals) about every payment-code or card tender left pending
    (run by `storehub serve` at start): a payment taken is recorded and its sale committed once, one never taken
    is failed or reversed."""
    from hub.checkout.payments import client, flow, terminal

    cfg, db = open_db(data_dir)
    try:
        config = client.load_config(cfg.data_dir)
        counts = flow.resume(db, config)
        if config.get("terminals"):
            counts["card_terminal"] = terminal.resume(db, config)
    finally:
        db.close()
    click.echo(json.dumps(counts))
