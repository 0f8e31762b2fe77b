"""``/servers/{server_id}/tags`` and ``/tags/{tag}`` (2.26): a server's tags.

As Nova's ServerTagsController: a tag is 1 to 60 characters without ``/`` or ``,``,
at most 50 per server. ``GET /tags`` lists, ``GET /tags/{tag}`` answers 204 or 404,
``PUT /tags`` replaces all (200), ``PUT /tags/{tag}`` adds one (201 with its
Location, 204 when the server has it already, 400 past the 50th or for a bad tag),
``DELETE /tags/{tag}`` (204, 404) and ``DELETE /tags`` (204). Changes need the server
in ACTIVE, PAUSED, SUSPENDED or STOPPED (409).
"""
from __future__ import annotations

import jsonschema

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import links, wsgi
from nova_tx.api.compute.schemas import server_tags as schema
from nova_tx.api.compute.servers import conflict_for_invalid_state, get_server, servers_api
from nova_tx.api.validation import parameter_types
from nova_tx.compute.servers import Located
from nova_tx.db.main import instances

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-server-tags:%s"
BASE = "/servers/{server_id}/tags"


async def _authorized(req, server_id: str, rule: str) -> Located:
    # Everything: an instance.update notification carries the whole server.
    located = await get_server(req, server_id)
    policy.authorize(req.context, POLICY_ROOT % rule,
                     target={"project_id": located.instance.project_id})
    return located


async def _call(req, located: Located, fn, *args, mutate: str | None = None):
    try:
        return await servers_api(req).tag_call(req.context, located, fn, *args,
                                               mutate=mutate)
    except exception.InstanceInvalidState as e:
        raise conflict_for_invalid_state(e, mutate or "show tags",
                                         located.instance.uuid) from None


@routes.get(BASE, min_version="2.26")
async def index(req, server_id):
    located = await _authorized(req, server_id, "index")
    return {"tags": await _call(req, located, instances.get_tags)}


@routes.get(BASE + "/{tag}", min_version="2.26", status=204)
async def show(req, server_id, tag):
    located = await _authorized(req, server_id, "show")
    if not await _call(req, located, instances.tag_exists, tag):
        raise exception.NotFound(message="Server %s has no tag '%s'" % (server_id, tag))


def _notify(req, located: Located, tags: list[str]) -> None:
    """Nova's tags API sends ``instance.update`` (from nova-api) after each change."""
    servers_api(req).send_instance_update(
        req.context, located.instance.replace(tags=sorted(tags)), "nova-api")


@routes.put(BASE, min_version="2.26")
@validation.schema(schema.update_all)
async def update_all(req, server_id):
    located = await _authorized(req, server_id, "update_all")
    tags = await _call(req, located, instances.set_tags, req.body["tags"],
                       mutate="update tags")
    _notify(req, located, tags)
    return {"tags": tags}


@routes.put(BASE + "/{tag}", min_version="2.26", status=201)
async def update(req, server_id, tag):
    located = await _authorized(req, server_id, "update")
    try:
        servers_api(req).check_tags_mutable(located, "update tag")
    except exception.InstanceInvalidState as e:
        raise conflict_for_invalid_state(e, "update tag", located.instance.uuid) from None
    try:
        jsonschema.validate(tag, parameter_types.tag)
    except jsonschema.ValidationError as e:
        raise exception.InvalidInput(message=(
            "Tag '%s' is invalid. It must be a non empty string without characters '/' "
            "and ','. Validation error message: %s" % (tag, e.message))) from None
    current = await _call(req, located, instances.get_tags)
    if len(current) >= schema.MAX_TAG_COUNT:
        raise exception.InvalidInput(message="The number of tags exceeded the per-server "
                                     "limit %d" % schema.MAX_TAG_COUNT)
    if tag in current:
        return wsgi.Response(status=204)
    try:
        await _call(req, located, instances.add_tag, tag, mutate="update tag")
    except exception.TooManyInstanceTags as e:
        raise exception.InvalidInput(message=e.format_message()) from None
    _notify(req, located, current + [tag])
    return wsgi.Response(status=201, headers={
        "Location": links.url_join(links.href_link(req, server_id, "servers"), "tags",
                                   tag)})


@routes.delete(BASE + "/{tag}", min_version="2.26", status=204)
async def delete(req, server_id, tag):
    located = await _authorized(req, server_id, "delete")
    await _call(req, located, instances.delete_tag, tag, mutate="delete tag")
    _notify(req, located, [t for t in located.instance.tags if t != tag])


@routes.delete(BASE, min_version="2.26", status=204)
async def delete_all(req, server_id):
    located = await _authorized(req, server_id, "delete_all")
    await _call(req, located, instances.delete_all_tags, mutate="delete tags")
    _notify(req, located, [])
