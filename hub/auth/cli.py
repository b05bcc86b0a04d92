"""``storehub users …``: staff accounts from the command line."""

from __future__ import annotations

import json
import sys

import click

from hub.auth import users as users_mod
from hub.auth.users import LANGUAGES, ROLES
from hub.kernel.cliopts import data_dir_option
from hub.kernel.errors import StoreHubError
from hub.store import open_db


@click.group("users")
def users_group():
    """Staff accounts."""


@users_group.command("add")
@data_dir_option
@click.argument("name")
@click.option("--role", type=click.Choice(list(ROLES)), required=True)
@click.option("--pin", default=None)
@click.option("--password", default=None)
@click.option("--badge", default=None, help="Badge code printed on the staff card")
@click.option("--display-name", default=None)
@click.option("--language", type=click.Choice(list(LANGUAGES)), default="en")
def users_add(data_dir, name, role, pin, password, badge, display_name, language):
    """Add a user with a PIN (floor staff) and/or a password (managers, admins)."""
    cfg, db = open_db(data_dir)
    try:
        with db.write() as conn:
            u = users_mod.create(
                conn,
                username=name,
                role=role,
                pin=pin,
                password=password,
                badge=badge,
                display_name=display_name,
                language=language,
                secret_key=cfg.secret_key(),
            )
    except StoreHubError as exc:
        click.echo(json.dumps(exc.to_dict()), err=True)
        sys.exit(1)
    click.echo(f"added {u['username']} ({u['role']}) id={u['id']}")


@users_group.command("list")
@data_dir_option
def users_list(data_dir):
    _cfg, db = open_db(data_dir)
    for u in users_mod.list_all(db.read()):
        click.echo(f"{u['username']:20} {u['role']:11} {u['display_name']}")


@click.group("pii")
def pii_group():
    """Personal data at rest: the hub's key ring (docs/security.md)."""


@pii_group.command("rotate-key")
@data_dir_option
def pii_rotate_key(data_dir):
    """Encrypt every domain's personal data (members' phone, name and birthday; staff display names) under a new
    key, re-hash phones, and retire the keys nothing uses any more.

    The new key is written to pii.keys first (0600, beside hub.db), then everything is re-encrypted in one
    transaction; a crash in between leaves the old key in place and running the command again finishes."""
    from hub.members.cli import rotate

    rotate(data_dir)


@pii_group.command("keys")
@data_dir_option
def pii_keys(data_dir):
    """The personal-data key ring: key ids and dates (never key material)."""
    from hub.kernel import pii

    cfg, db = open_db(data_dir)
    db.close()
    click.echo(json.dumps(pii.describe(pii.keyring(cfg.data_dir)), indent=1))


@pii_group.command("set-central-key")
@data_dir_option
@click.argument("public_key")
def pii_set_central_key(data_dir, public_key):
    """Give this hub the central's personal-data public key (`storehub central pii-public-key` prints it): from
    then on facts carry personal fields sealed to the central."""
    from hub.kernel import pii

    cfg, db = open_db(data_dir)
    db.close()
    try:
        p = pii.set_central_key(cfg.data_dir, public_key)
    except pii.PiiError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(f"central personal-data key written to {p}")
