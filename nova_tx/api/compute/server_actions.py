"""``POST /servers/{server_id}/action``: the lifecycle actions (spec A §3).

``reboot`` (SOFT or HARD), ``os-stop``, ``os-start``, ``pause``, ``unpause``,
``suspend``, ``resume`` answer 202 once the task state is set and the compute host is
told; ``lock`` (a reason from 2.73) and ``unlock`` (an admin's lock needs
``unlock_override``), ``os-resetState`` (admin) answer 202 when done;
``os-getConsoleOutput`` answers 200 with the compute's console log.

``restore`` and ``forceDelete`` (a soft-deleted server), ``rebuild`` (202 with the
server), ``rescue`` (200 with the rescue password) and ``unrescue``, ``createImage``
(202; the image id in the body from 2.45, a ``Location`` header before) and
``trigger_crash_dump`` (2.17) follow the same pattern. A server in a
state the action does not allow is a 409 ("Cannot 'stop' instance ... while it is in
vm_state stopped"), a locked one a 409 unless the caller is an admin, one that is
still being scheduled a 409 in vm_state building.
"""
from __future__ import annotations

from typing import Any

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import _operator, wsgi
from nova_tx.api.compute.schemas import server_actions as schema
from nova_tx.api.compute.servers import (
    _OnFirstUse,
    conflict_for_invalid_state,
    get_server,
    render,
    servers_api,
)
from nova_tx.compute import instance_names
from nova_tx.compute.server_actions import ServerActionsAPI
from nova_tx.compute.servers import Located
from nova_tx.http_client import local_url
from nova_tx.image import api as image_api
from nova_tx.image.glance import api_servers

routes = wsgi.Routes()

ACTION = "/servers/{server_id}/action"


def actions_api(req) -> ServerActionsAPI:
    return ServerActionsAPI(servers_api(req),
                            _OnFirstUse(lambda: _operator.image_api(req)))


def _option(req, group: str | None, name: str, default: Any) -> Any:
    try:
        return getattr(getattr(req.conf, group) if group else req.conf, name)
    except Exception:  # not registered in this process
        return default


async def _authorized(req, server_id: str, rule: str) -> Located:
    located = await get_server(req, server_id)
    policy.authorize(req.context, rule, target={"project_id": located.instance.project_id,
                                                "user_id": located.instance.user_id})
    return located


async def _run(action: str, server_id: str, call) -> None:
    try:
        return await call
    except exception.InstanceIsLocked as e:
        raise exception.Conflict(message=e.format_message()) from None
    except exception.InstanceInvalidState as e:
        raise conflict_for_invalid_state(e, action, server_id) from None


@routes.action(ACTION, "reboot")
@validation.schema(schema.reboot)
async def reboot(req, server_id):
    located = await _authorized(req, server_id, "os_compute_api:servers:reboot")
    reboot_type = req.body["reboot"]["type"].upper()
    await _run("reboot", server_id,
               actions_api(req).reboot(req.context, located, reboot_type))


def _power_action(name: str, action: str, rule: str):
    async def handler(req, server_id):
        located = await _authorized(req, server_id, rule)
        await _run(action, server_id,
                   actions_api(req).power_action(req.context, located, action))

    handler.__name__ = action
    handler.__doc__ = f"``{name}``: Nova's ``{action}`` ({rule})."
    routes.action(ACTION, name)(handler)
    return handler


stop = _power_action("os-stop", "stop", "os_compute_api:servers:stop")
start = _power_action("os-start", "start", "os_compute_api:servers:start")
pause = _power_action("pause", "pause", "os_compute_api:os-pause-server:pause")
unpause = _power_action("unpause", "unpause", "os_compute_api:os-pause-server:unpause")
suspend = _power_action("suspend", "suspend", "os_compute_api:os-suspend-server:suspend")
resume = _power_action("resume", "resume", "os_compute_api:os-suspend-server:resume")


@routes.action(ACTION, "lock")
@validation.schema(schema.lock_v2_73, min_version="2.73")
async def lock(req, server_id):
    located = await _authorized(req, server_id, "os_compute_api:os-lock-server:lock")
    reason = None
    if req.supports("2.73"):
        reason = (req.body.get("lock") or {}).get("locked_reason")
    await _run("lock", server_id, actions_api(req).lock(req.context, located, reason))


@routes.action(ACTION, "unlock")
async def unlock(req, server_id):
    located = await _authorized(req, server_id, "os_compute_api:os-lock-server:unlock")
    instance = located.instance
    # Nova's is_expected_locked_by: the owner unlocks the owner's lock, an admin an
    # admin's; anyone else needs unlock_override.
    expected = "owner" if req.context.project_id == instance.project_id else "admin"
    if instance.locked_by and instance.locked_by != expected:
        policy.authorize(req.context, "os_compute_api:os-lock-server:unlock:unlock_override",
                         target={"project_id": instance.project_id})
    await _run("unlock", server_id, actions_api(req).unlock(req.context, located))


@routes.action(ACTION, "os-resetState")
@validation.schema(schema.reset_state)
async def reset_state(req, server_id):
    located = await _authorized(req, server_id,
                                "os_compute_api:os-admin-actions:reset_state")
    await _run("resetState", server_id, actions_api(req).reset_state(
        req.context, located, req.body["os-resetState"]["state"]))


@routes.action(ACTION, "os-getConsoleOutput", status=200)
@validation.schema(schema.get_console_output)
async def get_console_output(req, server_id):
    located = await _authorized(req, server_id, "os_compute_api:os-console-output")
    length = (req.body.get("os-getConsoleOutput") or {}).get("length")
    if length is not None:
        length = int(length)
        if length == -1:
            length = None
    try:
        output = await actions_api(req).console_output(req.context, located, length)
    except exception.InstanceNotReady as e:
        raise exception.Conflict(message=e.format_message()) from None
    except NotImplementedError:
        raise exception.NotImplementedYet(
            message="Unable to get console log, functionality not implemented") from None
    return {"output": output}


# -- soft delete ---------------------------------------------------------------------------

@routes.action(ACTION, "restore")
async def restore(req, server_id):
    """Nova's ``os-deferred-delete`` restore: 403 when the project's quota no longer
    has room for the server."""
    located = await get_server(req, server_id)
    policy.authorize(req.context, "os_compute_api:os-deferred-delete:restore",
                     target={"project_id": located.instance.project_id})
    try:
        await _run("restore", server_id, actions_api(req).restore(req.context, located))
    except exception.OverQuota as e:
        raise exception.Forbidden(message=e.format_message()) from None


@routes.action(ACTION, "forceDelete")
async def force_delete(req, server_id):
    located = await _authorized(req, server_id, "os_compute_api:os-deferred-delete:force")
    await _run("forceDelete", server_id,
               actions_api(req).force_delete(req.context, located))


# -- rebuild -------------------------------------------------------------------------------

#: Request fields and the instance fields they set.
REBUILD_FIELDS = {"description": "display_description", "metadata": "metadata",
                  "accessIPv4": "access_ip_v4", "accessIPv6": "access_ip_v6"}
#: Nova's answers to what is wrong with a rebuild's image or fields (400).
REBUILD_BAD_INPUT = (exception.Invalid, image_api.ImageNotActive)


def _admin_password(req, body: dict) -> str:
    """Nova's ``_get_server_admin_password``: the caller's or a new one."""
    password = body.get("adminPass")
    if password is None:
        password = instance_names.generate_password(
            int(_option(req, None, "password_length", 12)))
    return password


def _rebuild_changes(req, body: dict) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["display_name"] = body["name"].strip()
    for field, attribute in REBUILD_FIELDS.items():
        if field in body:
            changes[attribute] = body[field]
    if "OS-DCF:diskConfig" in body:
        changes["auto_disk_config"] = body["OS-DCF:diskConfig"] == "AUTO"
    if req.supports("2.54") and "key_name" in body:
        changes["key_name"] = body["key_name"]
    if req.supports("2.57") and "user_data" in body:
        changes["user_data"] = body["user_data"]
    if req.supports("2.90") and "hostname" in body:
        changes["hostname"] = body["hostname"]
    return changes


@routes.action(ACTION, "rebuild")
@validation.schema(schema.rebuild_v20, "2.0", "2.0")
@validation.schema(schema.rebuild, "2.1", "2.18")
@validation.schema(schema.rebuild_v219, "2.19", "2.53")
@validation.schema(schema.rebuild_v254, "2.54", "2.56")
@validation.schema(schema.rebuild_v257, "2.57", "2.62")
@validation.schema(schema.rebuild_v263, "2.63", "2.89")
@validation.schema(schema.rebuild_v290, "2.90")
async def rebuild(req, server_id):
    """``rebuild``: 202 with the server as ``PUT /servers/{id}`` answers it (the full
    view from 2.75) and its ``adminPass`` when ``[api] enable_instance_password``."""
    context = req.context
    body = req.body["rebuild"]
    password = _admin_password(req, body)
    located = await get_server(req, server_id)
    target = {"user_id": located.instance.user_id,
              "project_id": located.instance.project_id}
    policy.authorize(context, "os_compute_api:servers:rebuild", target=target)
    changes = _rebuild_changes(req, body)
    if req.supports("2.63") and "trusted_image_certificates" in body:
        changes["trusted_certs"] = body["trusted_image_certificates"]
        policy.authorize(context, "os_compute_api:servers:rebuild:trusted_certs",
                         target=target)
    files = [(f.get("path"), f.get("contents")) for f in body.get("personality") or []]
    try:
        await _run("rebuild", server_id, actions_api(req).rebuild(
            context, located, body["imageRef"], password, files=files,
            preserve_ephemeral=bool(body.get("preserve_ephemeral", False)), **changes))
    except image_api.ImageNotFound:
        raise exception.InvalidInput(message="Cannot find image for rebuild") from None
    except exception.KeypairNotFound:
        raise exception.InvalidInput(message="Invalid key_name provided.") from None
    except exception.OverQuota as e:
        raise exception.Forbidden(message=e.format_message()) from None
    except REBUILD_BAD_INPUT as e:
        raise exception.InvalidInput(message=e.format_message()) from None
    full = req.supports("2.75")
    rebuilt = await get_server(req, server_id)
    shown = await render(req, rebuilt, full=full,
                         show_extended_attr=None if full else False, host_status=full)
    server = shown["server"]
    # Nova's rebuild view: the user data and key name at the top (2.57, 2.54), not
    # among the extended attributes.
    server.pop("OS-EXT-SRV-ATTR:user_data", None)
    if req.supports("2.54"):
        server["key_name"] = rebuilt.instance.key_name
    if req.supports("2.57"):
        server["user_data"] = rebuilt.instance.user_data
    if _option(req, "api", "enable_instance_password", True):
        server["adminPass"] = password
    return shown


# -- rescue --------------------------------------------------------------------------------

@routes.action(ACTION, "rescue", status=200)
@validation.schema(schema.rescue)
async def rescue(req, server_id):
    """``rescue``: 200 with ``adminPass`` (``{}`` when ``[api]
    enable_instance_password`` is off); an unusable rescue image or a volume-backed
    server is a 400."""
    options = req.body["rescue"] or {}
    password = options.get("adminPass") or instance_names.generate_password(
        int(_option(req, None, "password_length", 12)))
    located = await _authorized(req, server_id, "os_compute_api:os-rescue")
    await _run("rescue", server_id, actions_api(req).rescue(
        req.context, located, password, options.get("rescue_image_ref")))
    if _option(req, "api", "enable_instance_password", True):
        return {"adminPass": password}
    return {}


@routes.action(ACTION, "unrescue")
async def unrescue(req, server_id):
    located = await get_server(req, server_id)
    policy.authorize(req.context, "os_compute_api:os-unrescue",
                     target={"project_id": located.instance.project_id})
    await _run("unrescue", server_id, actions_api(req).unrescue(req.context, located))


# -- createImage ---------------------------------------------------------------------------

@routes.action(ACTION, "createImage", max_version="2.44")
@validation.schema(schema.create_image)
async def create_image(req, server_id):
    """Before 2.45: 202 and the image's URL in ``Location``."""
    image = await _create_image(req, server_id)
    return wsgi.Response(headers={
        "Location": f"{_image_service_url(req).rstrip('/')}/images/{image['id']}"})


def _image_service_url(req) -> str:
    """Nova's ``generate_image_url`` base: ``[glance] api_servers``' first, else the
    embedded image service this process talks to."""
    from nova_tx.conf import embedded_services
    from nova_tx.conf import glance as glance_conf

    glance_conf.register_opts(req.conf)
    embedded_services.register_opts(req.conf)
    servers = api_servers(req.conf)
    if servers:
        return servers[0]
    return local_url(req.conf.embedded.image_listen, req.conf.embedded.image_port)


@routes.action(ACTION, "createImage", min_version="2.45")
@validation.schema(schema.create_image)
async def create_image_v245(req, server_id):
    """From 2.45: 202 with ``{"image_id": ...}``."""
    image = await _create_image(req, server_id)
    return {"image_id": image["id"]}


async def _create_image(req, server_id) -> dict[str, Any]:
    context = req.context
    located = await get_server(req, server_id)
    instance = located.instance
    policy.authorize(context, "os_compute_api:servers:create_image",
                     target={"project_id": instance.project_id})
    entity = req.body["createImage"]
    name = entity["name"].strip()
    metadata = entity.get("metadata") or {}
    actions = actions_api(req)
    if not req.supports("2.39") and metadata and actions.servers.quota is not None:
        try:
            await actions.servers.quota.limit_check(context, instance.project_id,
                                                    metadata_items=len(metadata))
        except exception.OverQuota:
            raise exception.Forbidden(message="Image metadata limit exceeded") from None
    if not instance.image_ref and not located.is_build_request:
        # A volume-backed server's snapshot is of its volumes (Cinder): not built.
        policy.authorize(context, "os_compute_api:servers:create_image:allow_volume_backed",
                         target={"project_id": instance.project_id})
        raise exception.NotImplementedYet(
            message="Snapshots of volume-backed servers are not supported")
    try:
        return await _run("createImage", server_id,
                          actions.snapshot(context, located, name, metadata))
    except exception.OverQuota as e:
        raise exception.Forbidden(message=e.format_message()) from None
    except exception.Invalid as e:
        raise exception.InvalidInput(message=e.format_message()) from None


# -- trigger_crash_dump --------------------------------------------------------------------

@routes.action(ACTION, "trigger_crash_dump", min_version="2.17")
@validation.schema(schema.trigger_crash_dump)
async def trigger_crash_dump(req, server_id):
    located = await _authorized(req, server_id, "os_compute_api:servers:trigger_crash_dump")
    try:
        await _run("trigger_crash_dump", server_id,
                   actions_api(req).trigger_crash_dump(req.context, located))
    except exception.InstanceNotReady as e:
        raise exception.Conflict(message=e.format_message()) from None
