"""``GET /``: the version document."""
from __future__ import annotations

from nova_tx.placement.api import microversion
from nova_tx.placement.api.app import route
from nova_tx.placement.api.wire import PlacementResponse


@route("/", "GET")
async def home(api, req) -> PlacementResponse:
    return PlacementResponse(body={"versions": [{
        "id": "v1.0",
        "max_version": str(microversion.MAX_VERSION),
        "min_version": str(microversion.MIN_VERSION),
        "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}],
    }]})
