"""StoreHub hub: the store service (domain, storage, HTTP API, MQTT bus)."""

__version__ = "0.1.0"
API_VERSION = "1"
