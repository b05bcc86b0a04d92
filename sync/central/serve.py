"""``storehub central serve``: gunicorn in front of the same app factory the tests use."""

from __future__ import annotations

from hub.serve import GunicornApp
from sync.central.config import CentralConfig


def run(
    config: CentralConfig,
    host: str,
    port: int,
    workers: int = 2,
    threads: int = 8,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> None:
    from sync.central.app import create_app

    create_app(config)  # migrate once before the workers start
    GunicornApp(
        lambda: create_app(config),
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 120,
            "graceful_timeout": 10,
            "keepalive": 5,
            "errorlog": "-",
            "loglevel": "warning",
            "certfile": certfile,
            "keyfile": keyfile,
        },
    ).run()
