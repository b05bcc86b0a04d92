"""The central aggregator: ingest from store hubs, downlink authoring, head-office views, read API."""
