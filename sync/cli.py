"""``storehub central ...`` (the aggregator) and ``storehub sync ...`` (the hub's worker)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from pathlib import Path

import click

from hub.synclink import state

_dir_opt = click.option(
    "--dir",
    "central_dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STOREHUB_CENTRAL_DIR",
    default=None,
    help="Central data directory (embedded SQLite, cookie key)",
)
_db_opt = click.option(
    "--db",
    "db_url",
    envvar="STOREHUB_CENTRAL_DB",
    default=None,
    help="Database URL, e.g. postgresql+psycopg://user@host/db (default: SQLite in --dir)",
)


def _config(central_dir, db_url, **kw):
    from sync.central.config import CentralConfig

    return CentralConfig(**({"data_dir": central_dir} if central_dir else {}), db_url=db_url, **kw)


def _engine(central_dir, db_url):
    from sync.central import personal
    from sync.central.db import make_engine, migrate

    cfg = _config(central_dir, db_url)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(cfg.db_url)
    migrate(engine)
    personal.attach(engine, cfg.data_dir)
    return cfg, engine


@click.group("central")
def central():
    """The central aggregator for all stores."""


@central.command("init-db")
@_dir_opt
@_db_opt
def init_db(central_dir, db_url):
    """Create or upgrade the central schema (Alembic)."""
    cfg, engine = _engine(central_dir, db_url)
    click.echo(f"central schema up to date at {engine.url.render_as_string(hide_password=True)}")


@central.command("serve")
@_dir_opt
@_db_opt
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--certfile", default=None, help="TLS certificate (serve https directly)")
@click.option("--keyfile", default=None)
@click.option("--secure-cookies/--no-secure-cookies", default=False)
@click.option(
    "--max-event-future-hours",
    type=float,
    default=None,
    help="Refuse hub events timed more than this far ahead of the central's clock (default 48, "
    "env STOREHUB_CENTRAL_MAX_EVENT_FUTURE_HOURS)",
)
@click.option(
    "--earliest-event-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Refuse hub events timed before this date (default 2020-01-01, env STOREHUB_CENTRAL_EARLIEST_EVENT_DATE)",
)
def serve(
    central_dir,
    db_url,
    host,
    port,
    workers,
    certfile,
    keyfile,
    secure_cookies,
    max_event_future_hours,
    earliest_event_date,
):
    """Serve the sync endpoints, head-office views and read API with gunicorn."""
    from sync.central.serve import run

    kw = {}
    if max_event_future_hours is not None:
        if max_event_future_hours < 0:
            raise click.BadParameter("must be >= 0", param_hint="--max-event-future-hours")
        kw["max_event_future_hours"] = max_event_future_hours
    if earliest_event_date is not None:
        kw["earliest_event_date"] = earliest_event_date.date()
    run(
        _config(central_dir, db_url, secure_cookies=secure_cookies or bool(certfile), **kw),
        host,
        port,
        workers,
        certfile=certfile,
        keyfile=keyfile,
    )


@central.command("add-store")
@_dir_opt
@_db_opt
@click.argument("store_id")
@click.option("--name", default="")
@click.option(
    "--hub-data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also write the credential into this hub's data directory",
)
@click.option("--central-url", default=None, help="URL the hub uses to reach this central (with --hub-data-dir)")
@click.option("--exist-ok", is_flag=True, help="If the store exists, issue it a new secret")
def add_store(central_dir, db_url, store_id, name, hub_data_dir, central_url, exist_ok):
    """Register a store and issue its credential (printed once, or written to the hub)."""
    from hub.kernel import pii
    from hub.synclink.state import write_credentials
    from sync.central import personal, stores

    cfg, engine = _engine(central_dir, db_url)
    try:
        secret = stores.add_store(engine, store_id, name)
    except stores.StoreExists:
        if not exist_ok:
            raise click.ClickException(f"store {store_id} exists (use --exist-ok to issue a new secret)") from None
        secret = stores.rotate_secret(engine, store_id)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if hub_data_dir:
        if not central_url:
            raise click.ClickException("--central-url is required with --hub-data-dir")
        p = write_credentials(hub_data_dir, central_url=central_url, store_id=store_id, secret=secret)
        pii.set_central_key(hub_data_dir, personal.public_key(cfg.data_dir))  # personal fields sealed to us
        click.echo(f"store {store_id} registered; credential written to {p} (the personal-data key beside it)")
    else:
        click.echo(f"store {store_id} registered; secret (shown once): {secret}")


@central.command("add-user")
@_dir_opt
@_db_opt
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "admin"]), default="viewer", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def add_user(central_dir, db_url, username, role, password):
    """Add a head-office user (password login to the views and read API)."""
    from hub.kernel.errors import StoreHubError
    from sync.central import office

    _cfg, engine = _engine(central_dir, db_url)
    try:
        office.add_user(engine, username, password, role)
    except StoreHubError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"head-office user {username} ({role}) added")


@central.command("publish")
@_dir_opt
@_db_opt
@click.argument("kind", type=click.Choice(["item", "setting", "user", "promotion", "policy"]))
@click.argument("payload")
@click.option("--key", default="", help="Setting key / promotion id (items are keyed by sku)")
@click.option("--scope", default="*", show_default=True, help="'*' for every store, or one store id")
def publish(central_dir, db_url, kind, payload, key, scope):
    """Author a change for the stores (PAYLOAD is JSON), e.g. publish item '{"sku":...}'."""
    from hub.kernel.errors import StoreHubError
    from sync.central import downlink

    _cfg, engine = _engine(central_dir, db_url)
    try:
        row = downlink.author(engine, kind, json.loads(payload), key=key, scope=scope, author="cli")
    except (StoreHubError, ValueError) as exc:
        raise click.ClickException(getattr(exc, "message", str(exc))) from None
    click.echo(f"published {kind} {row['key']} as version {row['version']} to {scope}")


@central.command("issue-coupons")
@_dir_opt
@_db_opt
@click.argument("promotion_id")
@click.argument("n", type=click.IntRange(1, 10_000))
@click.option("--member", default=None, help="Bind every code to this member id")
@click.option("--offline", is_flag=True, help="Usable offline (a store accepts it without asking head office)")
@click.option("--store", default=None, help="Issue for (and deliver to) this store only")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Write the codes here as CSV")
def issue_coupons(central_dir, db_url, promotion_id, n, member, offline, store, csv_path):
    """Issue N single-use coupon codes for a coupon-gated promotion (docs/coupons.md); prints the codes, one a
    line (ABCD-EFGH-JKLM-NP), or writes them as CSV."""
    from pathlib import Path

    from hub.kernel.errors import StoreHubError
    from hub.promotions.coupons import printed
    from sync.central import coupons

    _cfg, engine = _engine(central_dir, db_url)
    try:
        got = coupons.issue(engine, promotion_id, n, member_id=member, offline=offline, store_id=store, actor="cli")
    except StoreHubError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    if csv_path:
        Path(csv_path).write_text(coupons.batch_csv(engine, got["batch_id"]), encoding="utf-8")
        click.echo(f"batch {got['batch_id']}: {len(got['codes'])} codes written to {csv_path}")
    else:
        for code in got["codes"]:
            click.echo(printed(code))


@central.command("forecast")
@_dir_opt
@_db_opt
@click.option("--today", default=None, help="YYYY-MM-DD: forecast from this day (default: today, UTC)")
@click.option("--horizon", default=42, show_default=True, type=click.IntRange(7, 365), help="Days ahead")
@click.option("--window", default=112, show_default=True, type=click.IntRange(28, 730), help="Days of history")
@click.option("--no-publish", is_flag=True, help="Evaluate and forecast only; send nothing down")
def forecast_cmd(central_dir, db_url, today, horizon, window, no_publish):
    """Forecast demand per store × item from daily sales (statsforecast), report the error against the naive
    baseline on held-out weeks, and send the forecasts down to the hubs (for a nightly timer)."""
    from datetime import date

    from sync.central import forecast

    _cfg, engine = _engine(central_dir, db_url)
    day = date.fromisoformat(today) if today else date.today()
    out = forecast.run(engine, today=day, horizon=horizon, window_days=window, publish_down=not no_publish)
    click.echo(
        json.dumps(
            {k: out.get(k) for k in ("series", "skipped", "seconds", "published", "evaluation")}, ensure_ascii=False
        )
    )


@central.command("stores")
@_dir_opt
@_db_opt
def list_stores(central_dir, db_url):
    """Stores with their sync position."""
    from sync.central import stores

    _cfg, engine = _engine(central_dir, db_url)
    for s in stores.list_stores(engine):
        click.echo(
            f"{s['store_id']:16} hw={s['hw_seq']:<10} events={s['events_total']:<10} "
            f"last_push={s['last_push_at'] or '-'} downlink={s['downlink_version']}"
        )


@central.command("partitions")
@_dir_opt
@_db_opt
@click.option(
    "--detach",
    "detach",
    default=None,
    metavar="YYYY-MM",
    help="Detach this month's events partition (archive it, then drop it yourself)",
)
def partitions_cmd(central_dir, db_url, detach):
    """List the monthly partitions of the event log (PostgreSQL), or detach one."""
    from datetime import date

    from sync.central.db import detach_month, partitions

    _cfg, engine = _engine(central_dir, db_url)
    if detach:
        try:
            y, m = (int(x) for x in detach.split("-"))
            click.echo(f"detached {detach_month(engine, date(y, m, 1))}")
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        return
    for name in partitions(engine):
        click.echo(name)


# --- hub side ---------------------------------------------------------------------------------

_hub_dir = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="STOREHUB_DATA_DIR",
    default=None,
    help="Hub data directory",
)


# --- personal data (sync/central/personal.py, docs/security.md) --------------------------------------------------
def _actor() -> str:
    from hub.kernel.cliopts import cli_actor

    return cli_actor()


def _personal_call(fn, *args, **kw):
    from hub.kernel.errors import StoreHubError

    try:
        return fn(*args, **kw)
    except StoreHubError as exc:
        click.echo(json.dumps(exc.to_dict(), ensure_ascii=False), err=True)
        sys.exit(2)


@central.command("pii-public-key")
@_dir_opt
def pii_public_key(central_dir):
    """Print the public key hubs seal personal data to (give it to a hub: `storehub pii set-central-key KEY`)."""
    from sync.central import personal

    cfg = _config(central_dir, None)
    click.echo(personal.public_key(cfg.data_dir))


@central.command("rotate-pii-key")
@_dir_opt
@_db_opt
@click.option(
    "--seal-pair",
    is_flag=True,
    help="Also make a new key pair current for the hubs to seal to (they learn it from the downlink; the old pairs "
    "stay in pii-seal.keys to open what was sealed to them)",
)
def rotate_pii_key(central_dir, db_url, seal_pair):
    """Re-encrypt every member's and staff member's personal data under a new key of the central's key ring
    (pii.keys in --dir, 0600), re-hash phones, retire the old key."""
    from sync.central import personal

    cfg, engine = _engine(central_dir, db_url)
    try:
        out = personal.rotate(engine, actor=_actor())
        if seal_pair:
            out["new_seal_key"] = personal.seal_keys(cfg.data_dir).add_pair()
        click.echo(json.dumps(out))
    finally:
        engine.dispose()


@central.command("member-find")
@_dir_opt
@_db_opt
@click.argument("phone")
@click.option("--region", default="CN", show_default=True, help="numbering plan of a phone typed without +country")
def member_find(central_dir, db_url, phone, region):
    """Find a member by phone (keyed hash; audited)."""
    from sync.central import personal

    _cfg, engine = _engine(central_dir, db_url)
    try:
        out = _personal_call(personal.find_by_phone, engine, phone, actor=_actor(), region=region)
    finally:
        engine.dispose()
    click.echo(json.dumps(out, ensure_ascii=False))


@central.command("member-export")
@_dir_opt
@_db_opt
@click.argument("member_id")
def member_export(central_dir, db_url, member_id):
    """One member's personal data, consents and points history as JSON (their access request; audited)."""
    from sync.central import personal

    _cfg, engine = _engine(central_dir, db_url)
    try:
        out = _personal_call(personal.export, engine, member_id, actor=_actor())
    finally:
        engine.dispose()
    click.echo(json.dumps(out, ensure_ascii=False, indent=1))


@central.command("member-withdraw")
@_dir_opt
@_db_opt
@click.argument("member_id")
@click.option("--purpose", default=None, help="one purpose (default: every purpose the member granted)")
def member_withdraw(central_dir, db_url, member_id, purpose):
    """Withdraw a member's consent: recorded, and no more marketing."""
    from sync.central import personal

    _cfg, engine = _engine(central_dir, db_url)
    try:
        out = _personal_call(personal.withdraw, engine, member_id, actor=_actor(), purpose=purpose)
    finally:
        engine.dispose()
    click.echo(json.dumps(out, ensure_ascii=False))


@central.command("member-erase")
@_dir_opt
@_db_opt
@click.argument("member_id")
@click.option("--yes", is_flag=True, help="do not ask")
def member_erase(central_dir, db_url, member_id, yes):
    """Erase a member's personal data here and, through the downlink, on every hub (history stays anonymous)."""
    from sync.central import personal

    if not yes:
        click.confirm(f"erase member {member_id}'s personal data everywhere? This cannot be undone", abort=True)
    _cfg, engine = _engine(central_dir, db_url)
    try:
        out = _personal_call(personal.erase, engine, member_id, actor=_actor())
    finally:
        engine.dispose()
    click.echo(json.dumps(out, ensure_ascii=False))


@click.group("sync")
def sync():
    """The hub's link to the central aggregator."""


@sync.command("configure")
@_hub_dir
@click.option("--central", "central_url", required=True, help="Central base URL (https:// in production)")
@click.option("--secret", required=True, help="The store secret issued by `storehub central add-store`")
@click.option(
    "--ca-bundle",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="CA bundle to verify the central's certificate",
)
@click.option(
    "--pii-key",
    default=None,
    help="The central's personal-data public key (`storehub central pii-public-key`): facts then carry personal "
    "fields sealed to the central",
)
def configure(data_dir, central_url, secret, ca_bundle, pii_key):
    """Store the central URL and this store's credential (file mode 0600)."""
    from hub.kernel import pii, settings
    from hub.store import open_db
    from hub.synclink.state import write_credentials

    cfg, db = open_db(data_dir)
    store_id = settings.get(db.read(), "store_id")
    p = write_credentials(
        cfg.data_dir,
        central_url=central_url,
        store_id=store_id,
        secret=secret,
        ca_bundle=str(Path(ca_bundle).resolve()) if ca_bundle else None,
    )
    if pii_key:
        try:
            pii.set_central_key(cfg.data_dir, pii_key)
        except pii.PiiError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"sync configured for store {store_id} -> {central_url} ({p})")


@sync.command("run")
@_hub_dir
@click.option("--once", is_flag=True, help="Push and pull until caught up, then exit")
@click.option("--batch-size", type=int, default=None)
@click.option(
    "--retention-days",
    type=float,
    default=None,
    envvar="STOREHUB_SYNC_RETENTION_DAYS",
    help="Keep acknowledged outbox rows this long before pruning them (default 7; the live "
    "stream and status never need pruned rows)",
)
@click.option("--max-backoff", "max_backoff_s", type=float, default=None, help="Longest wait between retries (s)")
@click.option("--idle-poll", "idle_poll_s", type=float, default=None, help="Wait when caught up (s)")
@click.option(
    "--bus",
    "with_bus",
    is_flag=True,
    help="Run the hub's bus in this process too, the sync worker on a thread of it (what `storehub serve "
    "--sync` starts with a broker: one Python process instead of two)",
)
@click.option(
    "--mqtt",
    "mqtt_url",
    default=None,
    envvar="STOREHUB_MQTT_URL",
    help="With --bus: the broker URL, as for `storehub bus` (keep passwords in the environment)",
)
@click.option(
    "--advertise",
    default=None,
    envvar="STOREHUB_ADVERTISE_ADDRESS",
    help="With --bus: LAN address to advertise the hub API and broker on with mDNS",
)
@click.option(
    "--api-port",
    default=8000,
    show_default=True,
    type=int,
    envvar="STOREHUB_API_PORT",
    help="With --bus: hub API port to advertise",
)
def run(
    data_dir, once, batch_size, retention_days, max_backoff_s, idle_poll_s, with_bus, mqtt_url, advertise, api_port
):
    """Run the sync worker (push outbox, pull downlink) until stopped."""
    from hub.kernel import settings
    from hub.store import open_db
    from sync.worker import SingleInstance, SyncError, SyncWorker, config_from_data_dir, run_until_stopped

    if with_bus and once:
        raise click.UsageError("--bus runs until stopped: it does not go with --once")
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s sync %(levelname)s %(message)s"
        if not with_bus
        else "%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    cfg, db = open_db(data_dir)
    overrides = dict(
        batch_size=batch_size,
        retention_days=retention_days,
        max_backoff_s=max_backoff_s,
        idle_poll_s=idle_poll_s,
        base_backoff_s=min(1.0, max_backoff_s) if max_backoff_s else None,
    )
    if with_bus:
        sys.exit(_run_with_bus(cfg.data_dir, db, overrides, mqtt_url, advertise, api_port))
    wcfg = config_from_data_dir(cfg.data_dir, **overrides)
    local_store = settings.get(db.read(), "store_id")
    if local_store != wcfg.store_id:
        raise click.ClickException(f"credential is for store {wcfg.store_id} but this hub is {local_store}")
    with SingleInstance(cfg.data_dir):
        worker = SyncWorker(db, wcfg)
        if once:
            try:
                while worker.step():
                    pass
            except SyncError as exc:
                raise click.ClickException(str(exc)) from None
            click.echo(json.dumps(_status(db)))
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
        signal.signal(signal.SIGINT, lambda *a: stop.set())
        # the loop runs on its own thread: a stop is honoured within the grace even mid-request
        if not run_until_stopped(worker, stop):
            logging.getLogger("storehub.sync").info("stopped mid-step (nothing unacknowledged was marked sent)")


def _run_with_bus(
    data_dir: Path, db, overrides: dict, mqtt_url: str | None, advertise: str | None, api_port: int
) -> int:
    """The bus (``hub.bus.runner``, main thread) and the sync worker (a thread) in one process, both stopped by
    SIGTERM. The sync worker keeps its guarantees: its single-instance lock (``sync.lock``, held for the life of
    the process), the cursor moved only after an acknowledgement. If it cannot run here (no credential, another
    store's, another worker holds the lock) the bus runs alone and the log says why: the store's devices do not
    wait on its link to the central."""
    from hub.bus.cli import _resolve_url  # the broker URL exactly as `storehub bus` resolves it
    from hub.bus.runner import BusLockError
    from hub.bus.runner import run as run_bus
    from hub.kernel import settings
    from sync.worker import SingleInstance, SyncWorker, config_from_data_dir

    log = logging.getLogger("storehub.sync")
    url = _resolve_url(data_dir, mqtt_url)
    stop = threading.Event()
    lock = worker = None
    try:
        wcfg = config_from_data_dir(data_dir, **overrides)
        local_store = settings.get(db.read(), "store_id")
        if local_store != wcfg.store_id:
            raise SystemExit(f"credential is for store {wcfg.store_id} but this hub is {local_store}")
        lock = SingleInstance(data_dir).__enter__()
        worker = SyncWorker(db, wcfg)
    except SystemExit as exc:
        log.error("sync worker not started (%s); running the bus alone", exc)
    thread = None
    if worker is not None:
        thread = threading.Thread(target=worker.run, args=(stop,), name="sync-worker", daemon=True)
        thread.start()
    try:
        return run_bus(data_dir, url, advertise=advertise, api_port=api_port, stop=stop)
    except BusLockError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        stop.set()
        if thread is not None:
            thread.join(worker.cfg.stop_grace_s)  # abandoning a step is safe: see sync.worker.run_until_stopped
        if lock is not None:
            lock.__exit__(None, None, None)


def _status(db):
    return state.status(db.read())


@sync.command("status")
@_hub_dir
def sync_status(data_dir):
    """Cursor, pending rows, last acknowledgement and downlink version."""
    from hub.store import open_db

    _cfg, db = open_db(data_dir)
    click.echo(json.dumps(_status(db), indent=2))
