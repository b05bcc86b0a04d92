"""HTTP API blueprints, all mounted under /api/v1. Add a module's ``bp`` here."""

from . import admin, auth, health, items, locations, openapi, stock
from . import live

BLUEPRINTS = [health.bp, auth.bp, items.bp, locations.bp, stock.bp, admin.bp, openapi.bp]
BLUEPRINTS.append(live.bp)
from . import scan  # noqa: E402
BLUEPRINTS.append(scan.bp)
from . import orders  # noqa: E402
BLUEPRINTS.append(orders.bp)
from . import sync as sync_api  # noqa: E402
BLUEPRINTS.append(sync_api.bp)
from . import stocktake  # noqa: E402
BLUEPRINTS.append(stocktake.bp)
from . import devices  # noqa: E402
BLUEPRINTS.append(devices.bp)
