"""Alembic environment for the central. Runs against ``config.attributes['connection']``
when given (the app and tests pass one), else against ``sqlalchemy.url``."""

from alembic import context
from sqlalchemy import create_engine

from sync.central.schema import metadata

config = context.config


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=metadata, version_table="central_alembic_version")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as c:
        context.configure(connection=c, target_metadata=metadata, version_table="central_alembic_version")
        with context.begin_transaction():
            context.run_migrations()


run()
