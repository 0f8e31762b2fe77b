"""The lifecycle actions of a server at the API (Nova's ``compute.api.API`` methods
behind ``POST /servers/{id}/action``): reboot, stop, start, pause, unpause, suspend,
resume, lock, unlock, reset state and the console log.

Each power action checks the server's states as Nova's ``check_instance_state`` does
(the allowed vm_states and task_states below), refuses a locked server unless the
caller is an admin, then in one transaction of the server's cell sets its task state
(a compare-and-swap against the task state it was read with: two requests racing
cannot both start) and records the instance action, and finally casts the compute
host. The compute does the rest and records the action's event.
"""
from __future__ import annotations

import logging
from typing import Any

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.servers import Located, ServersAPI, check_not_locked, check_state
from nova_tx.db.main import instance_actions, instances
from nova_tx.objects.instance import Instance

LOG = logging.getLogger(__name__)

# Nova's vm_states.ALLOW_SOFT_REBOOT / ALLOW_HARD_REBOOT and task_states.ALLOW_REBOOT.
ALLOW_SOFT_REBOOT = (states.ACTIVE,)
ALLOW_HARD_REBOOT = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED,
                     states.ERROR)
ALLOW_REBOOT = (None, states.REBOOTING, states.REBOOT_PENDING, states.REBOOT_STARTED,
                states.REBOOTING_HARD, states.RESUMING, states.UNPAUSING, states.PAUSING,
                states.SUSPENDING)

#: action -> (vm_states allowed, task_states allowed, new task state, compute method).
POWER_ACTIONS: dict[str, tuple[tuple, tuple, str, str]] = {
    "stop": ((states.ACTIVE, states.ERROR), (None,), states.POWERING_OFF, "stop_instance"),
    "start": ((states.STOPPED,), (None,), states.POWERING_ON, "start_instance"),
    "pause": ((states.ACTIVE,), (None,), states.PAUSING, "pause_instance"),
    "unpause": ((states.PAUSED,), (None,), states.UNPAUSING, "unpause_instance"),
    "suspend": ((states.ACTIVE,), (None,), states.SUSPENDING, "suspend_instance"),
    "resume": ((states.SUSPENDED,), (None,), states.RESUMING, "resume_instance"),
}

#: The states ``os-resetState`` may set.
RESET_STATES = {"active": states.ACTIVE, "error": states.ERROR}


class ServerActionsAPI:
    def __init__(self, servers: ServersAPI):
        self.servers = servers

    # -- helpers ---------------------------------------------------------------------

    @staticmethod
    def _in_a_cell(located: Located, method: str) -> Instance:
        """A server still being scheduled has no host to act on (Nova: the build
        request's vm_state ``building``)."""
        if located.is_build_request:
            raise exception.InstanceInvalidState(
                attr="vm_state", instance_uuid=located.instance.uuid,
                state=states.BUILDING, method=method)
        return located.instance

    async def _in_cell(self, located: Located, fn, *args: Any) -> Any:
        def run(api_conn: Any) -> Any:
            return self.servers._in_cell(located.cell, fn, *args)
        return await self.servers.api_db.do(run)

    async def _start_task(self, context: Any, located: Located, action: str,
                          task_state: str, updates: dict[str, Any] | None = None
                          ) -> Instance:
        """The new task state (compare-and-swap) and the instance action, together."""
        instance = located.instance

        def start(conn: Any) -> Instance:
            changed = instances.update(
                conn, instance.uuid, {"task_state": task_state, **(updates or {})},
                expected_task_state=instance.task_state, expected_attrs=["flavor"])
            instance_actions.create(conn, action=action, instance_uuid=instance.uuid,
                                    request_id=context.request_id,
                                    user_id=context.user_id, project_id=context.project_id)
            return changed

        return await self._in_cell(located, start)

    def _cast(self, method: str, *args: Any, **kwargs: Any) -> None:
        """A cast to the server's compute host; the API does not wait for it."""
        result = getattr(self.servers.compute_rpcapi, method)(*args, **kwargs)
        if hasattr(result, "addErrback"):
            result.addErrback(lambda f: LOG.error("%s could not be sent: %s", method,
                                                  f.getErrorMessage()))

    # -- power actions ---------------------------------------------------------------

    async def reboot(self, context: Any, located: Located, reboot_type: str) -> None:
        instance = self._in_a_cell(located, "reboot")
        check_not_locked(context, instance)
        if reboot_type == "SOFT":
            check_state(instance, "reboot", ALLOW_SOFT_REBOOT, (None,))
            task_state = states.REBOOTING
        else:
            check_state(instance, "reboot", ALLOW_HARD_REBOOT, ALLOW_REBOOT)
            task_state = states.REBOOTING_HARD
        changed = await self._start_task(context, located, "reboot", task_state)
        self._cast("reboot_instance", context, changed, None, reboot_type)

    async def power_action(self, context: Any, located: Located, action: str) -> None:
        """stop, start, pause, unpause, suspend or resume."""
        vm_states, task_states, task_state, method = POWER_ACTIONS[action]
        instance = self._in_a_cell(located, action)
        check_not_locked(context, instance)
        check_state(instance, action, vm_states, task_states)
        changed = await self._start_task(context, located, action, task_state)
        self._cast(method, context, changed)

    # -- lock ------------------------------------------------------------------------

    async def lock(self, context: Any, located: Located, reason: str | None) -> None:
        """Nova's ``lock``: ``locked_by`` says whether the owner or an admin locked it;
        the reason (2.73) is kept in system metadata."""
        instance = self._in_a_cell(located, "lock")
        locked_by = "owner" if context.project_id == instance.project_id else "admin"

        def lock(conn: Any) -> None:
            instances.update(conn, instance.uuid, {"locked": True, "locked_by": locked_by})
            if reason is not None:
                instances.update_system_metadata(conn, instance.uuid,
                                                 {"locked_reason": reason})
            instance_actions.create(conn, action="lock", instance_uuid=instance.uuid,
                                    request_id=context.request_id,
                                    user_id=context.user_id, project_id=context.project_id)

        await self._in_cell(located, lock)
        system_metadata = dict(instance.system_metadata)
        if reason is not None:
            system_metadata["locked_reason"] = reason
        self._notify(context, instance.replace(locked=True, locked_by=locked_by,
                                               system_metadata=system_metadata), "lock")

    def _notify(self, context: Any, instance: Instance, action: str) -> None:
        """``instance.lock``/``instance.unlock`` from nova-api, as Nova sends them."""
        notifier = self.servers.notifier
        if notifier is not None:
            notifier.notify_about_instance_action(context, instance, action,
                                                  source="nova-api")

    async def unlock(self, context: Any, located: Located) -> None:
        instance = self._in_a_cell(located, "unlock")

        def unlock(conn: Any) -> None:
            instances.update(conn, instance.uuid, {"locked": False, "locked_by": None})
            if "locked_reason" in instance.system_metadata:
                instances.delete_system_metadata_key(conn, instance.uuid, "locked_reason")
            instance_actions.create(conn, action="unlock", instance_uuid=instance.uuid,
                                    request_id=context.request_id,
                                    user_id=context.user_id, project_id=context.project_id)

        await self._in_cell(located, unlock)
        system_metadata = {k: v for k, v in instance.system_metadata.items()
                           if k != "locked_reason"}
        self._notify(context, instance.replace(locked=False, locked_by=None,
                                               system_metadata=system_metadata), "unlock")

    # -- admin -----------------------------------------------------------------------

    async def reset_state(self, context: Any, located: Located, state: str) -> None:
        """``os-resetState``: the vm_state set, the task state cleared, whatever they
        were (an admin's repair); recorded as the action ``resetState``."""
        instance = self._in_a_cell(located, "resetState")

        def reset(conn: Any) -> None:
            instances.update(conn, instance.uuid,
                             {"vm_state": RESET_STATES[state], "task_state": None})
            instance_actions.create(conn, action="resetState", instance_uuid=instance.uuid,
                                    request_id=context.request_id,
                                    user_id=context.user_id, project_id=context.project_id)

        await self._in_cell(located, reset)

    # -- console ---------------------------------------------------------------------

    async def console_output(self, context: Any, located: Located,
                             tail_length: int | None) -> str:
        """The compute's console log (an RPC call): InstanceNotReady without a host."""
        instance = located.instance
        if located.is_build_request or not instance.host:
            raise exception.InstanceNotReady(instance_id=instance.uuid)
        output = await self.servers.compute_rpcapi.get_console_output(
            context, instance, tail_length)
        if isinstance(output, bytes):
            output = output.decode("utf-8", "replace")
        return output
