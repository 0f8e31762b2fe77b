"""``/servers/{server_id}/metadata`` and ``/metadata/{key}``: a server's metadata.

As Nova's ServerMetadataController: list and show for the project's readers, the
changes for its members; a change needs the server in ACTIVE, PAUSED, SUSPENDED or
STOPPED with no task (409 otherwise, and for a locked server unless admin) and counts
against the ``metadata_items`` quota (403). ``POST`` merges (200), ``PUT`` replaces
all (200), ``PUT /metadata/{key}`` sets one item whose key must match the URL (400),
``DELETE /metadata/{key}`` removes one (204, 404 when there is none).
"""
from __future__ import annotations

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import wsgi
from nova_tx.api.compute.schemas import server_metadata as schema
from nova_tx.api.compute.servers import conflict_for_invalid_state, get_server, servers_api
from nova_tx.compute.servers import Located

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:server-metadata:%s"
BASE = "/servers/{server_id}/metadata"


async def _authorized(req, server_id: str, rule: str) -> Located:
    # Everything: an instance.update notification carries the whole server.
    located = await get_server(req, server_id)
    policy.authorize(req.context, POLICY_ROOT % rule,
                     target={"project_id": located.instance.project_id})
    return located


async def _update(req, located: Located, metadata: dict, *, delete: bool) -> dict:
    try:
        return await servers_api(req).update_metadata(req.context, located, metadata,
                                                      delete=delete)
    except exception.InstanceIsLocked as e:
        raise exception.Conflict(message=e.format_message()) from None
    except exception.InstanceInvalidState as e:
        raise conflict_for_invalid_state(e, "update metadata",
                                         located.instance.uuid) from None


@routes.get(BASE)
async def index(req, server_id):
    located = await _authorized(req, server_id, "index")
    return {"metadata": dict(located.instance.metadata)}


@routes.post(BASE)
@validation.schema(schema.create)
async def create(req, server_id):
    located = await _authorized(req, server_id, "create")
    return {"metadata": await _update(req, located, req.body["metadata"], delete=False)}


@routes.put(BASE)
@validation.schema(schema.update_all)
async def update_all(req, server_id):
    located = await _authorized(req, server_id, "update_all")
    return {"metadata": await _update(req, located, req.body["metadata"], delete=True)}


@routes.get(BASE + "/{key}")
async def show(req, server_id, key):
    located = await _authorized(req, server_id, "show")
    if key not in located.instance.metadata:
        raise exception.NotFound(message="Metadata item was not found")
    return {"meta": {key: located.instance.metadata[key]}}


@routes.put(BASE + "/{key}")
@validation.schema(schema.update)
async def update(req, server_id, key):
    located = await _authorized(req, server_id, "update")
    item = req.body["meta"]
    if key not in item:
        raise exception.InvalidInput(message="Request body and URI mismatch")
    await _update(req, located, item, delete=False)
    return {"meta": item}


@routes.delete(BASE + "/{key}", status=204)
async def delete(req, server_id, key):
    located = await _authorized(req, server_id, "delete")
    if key not in located.instance.metadata:
        raise exception.NotFound(message="Metadata item was not found")
    try:
        await servers_api(req).delete_metadata_key(req.context, located, key)
    except exception.InstanceIsLocked as e:
        raise exception.Conflict(message=e.format_message()) from None
    except exception.InstanceInvalidState as e:
        raise conflict_for_invalid_state(e, "delete metadata",
                                         located.instance.uuid) from None
