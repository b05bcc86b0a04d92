"""``storehub members …`` commands: key rotation, the key ring's ids, the period-end tier review, a member's till
view. Errors follow the CLI convention (a message on stderr, exit 2 for bad input, 1 for a failure)."""

from __future__ import annotations

import json

import click

from hub.kernel import pii
from hub.kernel.cliopts import cli_actor, data_dir_option
from hub.kernel.errors import StoreHubError
from hub.members import identity, tiers
from hub.store import open_db


@click.group("members")
def members_group() -> None:
    """Members and loyalty."""


def rotate(data_dir) -> None:
    """``storehub pii rotate-key`` (and its alias ``storehub members rotate-key``)."""
    cfg, db = open_db(data_dir)
    try:
        ring = pii.keyring(cfg.data_dir)
        new = ring.add_key()
        with db.write() as conn:
            out = identity.reencrypt_all(conn, actor=cli_actor())
    finally:
        db.close()
    click.echo(json.dumps({"new_key": new, **out}))


@members_group.command("rotate-key")
@data_dir_option
def rotate_key_cmd(data_dir):
    """Same as ``storehub pii rotate-key``: every domain's personal data under a new key (members and staff)."""
    rotate(data_dir)


@members_group.command("keys")
@data_dir_option
def keys_cmd(data_dir):
    """The personal-data key ring: key ids and dates (never key material)."""
    cfg, db = open_db(data_dir)
    db.close()
    click.echo(json.dumps(pii.describe(pii.keyring(cfg.data_dir)), indent=1))


@members_group.command("review-tiers")
@data_dir_option
def review_tiers_cmd(data_dir):
    """The period-end tier review (once per period; before the period end it does nothing)."""
    _cfg, db = open_db(data_dir)
    try:
        with db.write() as conn:
            out = tiers.review(conn, actor=cli_actor())
    finally:
        db.close()
    click.echo(json.dumps(out))


@members_group.command("show")
@data_dir_option
@click.argument("phone_or_card")
def show_cmd(data_dir, phone_or_card):
    """A member's till view, found by phone or by card (SHM-…): masked, as the till shows it."""
    _cfg, db = open_db(data_dir)
    try:
        conn = db.read()
        text = phone_or_card.strip()
        try:
            found = identity.recognise(conn, text)
            mid = found["id"] if found else identity.find_by_phone(conn, text)
            if mid is None:
                raise click.ClickException("no member has this phone number")
            click.echo(json.dumps(identity.till_view(conn, mid), ensure_ascii=False))
        except StoreHubError as exc:
            click.echo(exc.message, err=True)
            raise SystemExit(2) from None
    finally:
        db.close()
