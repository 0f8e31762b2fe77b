"""``POST /servers/{server_id}/action``: the lifecycle actions (spec A §3).

``reboot`` (SOFT or HARD), ``os-stop``, ``os-start``, ``pause``, ``unpause``,
``suspend``, ``resume`` answer 202 once the task state is set and the compute host is
told; ``lock`` (a reason from 2.73) and ``unlock`` (an admin's lock needs
``unlock_override``), ``os-resetState`` (admin) answer 202 when done;
``os-getConsoleOutput`` answers 200 with the compute's console log. A server in a
state the action does not allow is a 409 ("Cannot 'stop' instance ... while it is in
vm_state stopped"), a locked one a 409 unless the caller is an admin, one that is
still being scheduled a 409 in vm_state building.
"""
from __future__ import annotations

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import wsgi
from nova_tx.api.compute.schemas import server_actions as schema
from nova_tx.api.compute.servers import conflict_for_invalid_state, get_server, servers_api
from nova_tx.compute.server_actions import ServerActionsAPI
from nova_tx.compute.servers import Located

routes = wsgi.Routes()

ACTION = "/servers/{server_id}/action"


def actions_api(req) -> ServerActionsAPI:
    return ServerActionsAPI(servers_api(req))


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
