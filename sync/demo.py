"""Demo wiring: the central on embedded SQLite and the hub's sync worker; e-invoices through the Nuonuo
simulator (docs/einvoice.md: the simulator, the central configured for it, its e-invoice worker, and the hub's
``finance.einvoice_url`` sent down so receipts carry the invoice QR).

``components`` provisions before anything starts: the central database under
``<data-dir>/central`` (migrated), the demo store registered with a fresh
credential written straight into the hub's ``sync.json`` (so nobody copies a
secret by hand), a head-office login, and a welcome promotion on the downlink."""

from __future__ import annotations

import sys

from hub.demo.context import Component, DemoContext

OFFICE_USER = ("office", "office-demo-2026")
EINVOICE_SIM_OFFSET = 66  # the Nuonuo simulator listens on the central's port + this


def einvoice_env(ctx: DemoContext) -> dict[str, str]:
    """The central's provider settings pointing at the demo's simulator (its default app key and secret)."""
    return {
        "STOREHUB_EINVOICE_API_URL": f"http://127.0.0.1:{ctx.central_port + EINVOICE_SIM_OFFSET}",
        "STOREHUB_EINVOICE_APP_KEY": "sim-app-key",
        "STOREHUB_EINVOICE_APP_SECRET": "sim-app-secret",
        "STOREHUB_EINVOICE_SELLER_TAX_ID": "91110000600037341L",
        "STOREHUB_EINVOICE_SELLER_NAME": "StoreHub 演示超市",
    }


def provision(ctx: DemoContext) -> None:
    from sqlalchemy import select

    from hub.synclink.state import write_credentials
    from sync.central import downlink, office, stores
    from sync.central import schema as t
    from sync.central.db import make_engine, migrate

    central_dir = ctx.data_dir / "central"
    central_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{central_dir / 'central.db'}")
    try:
        migrate(engine)
        try:
            secret = stores.add_store(engine, ctx.store_id, "StoreHub 演示超市 Demo Supermarket")
        except stores.StoreExists:
            secret = stores.rotate_secret(engine, ctx.store_id)
        write_credentials(ctx.data_dir, central_url=ctx.central_url, store_id=ctx.store_id, secret=secret)
        from hub.kernel import pii
        from sync.central import personal

        pii.set_central_key(ctx.data_dir, personal.public_key(central_dir))  # personal fields sealed to it
        with engine.connect() as conn:
            have_user = conn.execute(
                select(t.office_users.c.id).where(t.office_users.c.username == OFFICE_USER[0])
            ).first()
        if not have_user:
            office.add_user(engine, OFFICE_USER[0], OFFICE_USER[1], "admin")
        if downlink.head(engine) == 0:
            downlink.author(engine, "policy", dict(downlink.DEFAULT_POLICY), author="demo")
            downlink.author(
                engine,
                "setting",
                {"value": "欢迎光临 Welcome to the StoreHub demo"},
                key="receipt_footer",
                author="demo",
            )
            downlink.author(engine, "setting", {"value": ctx.central_url}, key="finance.einvoice_url", author="demo")
    finally:
        engine.dispose()


def components(ctx: DemoContext) -> list[Component]:
    provision(ctx)
    central_dir = ctx.data_dir / "central"
    sim_port = ctx.central_port + EINVOICE_SIM_OFFSET
    return [
        Component(
            "e-invoice provider simulator (Nuonuo open API)",
            [sys.executable, "-m", "sync.central.invoicing.simulator", "--port", str(sim_port)],
            wait_port=sim_port,
        ),
        Component(
            f"central (head office login {OFFICE_USER[0]} / {OFFICE_USER[1]})",
            ctx.storehub(
                "central",
                "serve",
                "--dir",
                str(central_dir),
                "--host",
                ctx.bind_host,
                "--port",
                str(ctx.central_port),
                "--workers",
                "1",
            ),
            wait_port=ctx.central_port,
            env=einvoice_env(ctx),
            url=ctx.central_url + "/",
        ),
        Component(
            "e-invoice worker",
            [sys.executable, "-m", "sync.central.einvoice"],
            env={"STOREHUB_CENTRAL_DIR": str(central_dir), **einvoice_env(ctx)},
        ),
        Component(
            "sync worker",
            ctx.storehub("sync", "run", "--data-dir", str(ctx.data_dir), "--idle-poll", "2", "--max-backoff", "30"),
        ),
    ]
