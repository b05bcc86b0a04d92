"""HTTP API blueprints, all mounted under /api/v1. Add a module's ``bp`` here."""

from hub.http import admin, health, openapi
from hub.auth import api as auth
from hub.inventory.api import items, locations, stock
from hub.http import live

BLUEPRINTS = [health.bp, auth.bp, items.bp, locations.bp, stock.bp, admin.bp, openapi.bp]
BLUEPRINTS.append(live.bp)
from hub.identify import api as scan  # noqa: E402
BLUEPRINTS.append(scan.bp)
from hub.orders import api as orders  # noqa: E402
BLUEPRINTS.append(orders.bp)
from hub.synclink import api as sync_api  # noqa: E402
BLUEPRINTS.append(sync_api.bp)
from hub.stocktake import api as stocktake  # noqa: E402
BLUEPRINTS.append(stocktake.bp)
from hub.bus import api as devices  # noqa: E402
BLUEPRINTS.append(devices.bp)
