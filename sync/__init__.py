"""Sync between store hubs and the central aggregator.

``sync.protocol``  wire format shared by both sides (gzip JSON, store credentials)
``sync.worker``    the hub-side worker: pushes the outbox, pulls the downlink
``hub.synclink.downlink``  applies centrally authored changes on a hub (atomically, with override policy)
``sync.central``   the central aggregator (Flask + SQLAlchemy Core, PostgreSQL or SQLite)
"""
