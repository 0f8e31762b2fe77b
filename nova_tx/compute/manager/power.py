"""Power actions on an instance of this host (Nova's ``reboot_instance``,
``stop_instance``, ``start_instance``, ``pause``/``unpause``, ``suspend``/``resume``,
``get_console_output``) and the power state sync (``_sync_instance_power_state``)
that the periodic task and the driver's lifecycle events share.

The API puts the instance in its task state (``powering-off``, ``rebooting``...) and
records the action before it casts; each method here finishes the job with the
compare-and-swap Nova makes (``expected_task_state``), so a request that lost a race
changes nothing. As Nova's decorators do, each records its event
(``compute_<method>``), records a fault and clears the task state when the driver
fails, and runs under the instance's lock, which the power state sync also takes.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from twisted.internet import defer

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.objects.instance import Instance

LOG = logging.getLogger("nova_tx.compute.manager.power")


#: The notification of each power method (Nova's event names: a stop is a power_off).
NOTIFICATIONS = {
    "reboot_instance": "reboot", "stop_instance": "power_off",
    "start_instance": "power_on", "pause_instance": "pause",
    "unpause_instance": "unpause", "suspend_instance": "suspend",
    "resume_instance": "resume",
}
#: Those Nova also sends an ``.error`` phase for.
ERROR_NOTIFICATIONS = frozenset({"reboot"})


def as_instance(value: Any) -> Instance:
    return value if isinstance(value, Instance) else Instance.from_primitive(value)


def reboot_type_for(task_state: str | None, power_state: int) -> str:
    """Nova's ``compute_utils.get_reboot_type``."""
    if power_state != states.RUNNING:
        return "HARD"
    if task_state in common.SOFT_REBOOT_STATES:
        return "SOFT"
    return "HARD"


class PowerManager:
    def __init__(self, mgr: Any):
        self.mgr = mgr
        #: Stops the power state sync asked for, by instance uuid (tests wait on them).
        self.pending: dict[str, defer.Deferred] = {}

    # -- helpers ------------------------------------------------------------------------

    async def get_power_state(self, instance: Instance) -> int:
        """What the hypervisor says (NOSTATE for a guest it does not have)."""
        try:
            info = await self.mgr.driver.get_info(instance)
        except exception.InstanceNotFound:
            return states.NOSTATE
        return info.state

    @contextlib.asynccontextmanager
    async def operation(self, ctxt: Any, instance: Instance, method: str, action: str,
                        *, locked: bool = True) -> AsyncIterator[None]:
        """Nova's ``@wrap_instance_fault``, ``@reverts_task_state`` and
        ``@wrap_instance_event(prefix='compute')`` around one method, with its
        ``instance.<notification>.start/end`` (and ``.error`` for a reboot)."""
        notification = NOTIFICATIONS.get(method)
        lock = self.mgr.locks.hold(instance.uuid) if locked else contextlib.nullcontext()
        async with lock:
            async with common.InstanceEvent(self.mgr, ctxt, instance.uuid,
                                            f"compute_{method}", action):
                if notification:
                    await common.notify_action(self.mgr, ctxt, instance, notification,
                                               "start")
                try:
                    yield
                except exception.InstanceNotFound:
                    raise
                except exception.UnexpectedTaskStateError as error:
                    # Preempted by another task: that task owns the task state now.
                    LOG.info("Task possibly preempted: %s", error.format_message())
                    await common.add_instance_fault(self.mgr, ctxt, instance, error)
                    raise
                except Exception as error:
                    await common.add_instance_fault(self.mgr, ctxt, instance, error)
                    await common.revert_task_state(self.mgr, ctxt, instance)
                    if notification in ERROR_NOTIFICATIONS:
                        await common.notify_action(self.mgr, ctxt, instance, notification,
                                                   "error", error=error, reread=True)
                    raise
                if notification:
                    await common.notify_action(self.mgr, ctxt, instance, notification,
                                               "end", reread=True)

    async def _save(self, ctxt: Any, instance: Instance, values: dict[str, Any],
                    expected: Any) -> Instance:
        return await self.mgr.conductor.instance_update(
            ctxt, instance.uuid, values, expected_task_state=expected)

    async def _network_info(self, ctxt: Any, instance: Instance) -> list[dict[str, Any]]:
        if instance.network_info is not None:
            return instance.network_info
        fresh = await self.mgr.conductor.instance_get_by_uuid(
            ctxt, instance.uuid, expected_attrs=["info_cache"])
        return fresh.network_info or []

    def power_off_values(self, instance: Instance, clean_shutdown: bool) -> tuple[int, int]:
        """Nova's ``_get_power_off_values``: the image's ``os_shutdown_timeout`` or
        ``shutdown_timeout``, and ``[compute] shutdown_retry_interval``."""
        if not clean_shutdown:
            return 0, 0
        timeout = self.mgr.conf.shutdown_timeout
        custom = (instance.system_metadata or {}).get("image_os_shutdown_timeout")
        if custom is not None:
            try:
                timeout = int(custom)
            except ValueError:
                LOG.warning("Ignoring image_os_shutdown_timeout %r of %s", custom,
                            instance.uuid)
        return timeout, self.mgr.conf.compute.shutdown_retry_interval

    # -- reboot ------------------------------------------------------------------------

    async def reboot_instance(self, ctxt: Any, instance: Any, block_device_info: Any = None,
                              reboot_type: str = "SOFT") -> None:
        instance = as_instance(instance)
        async with self.operation(ctxt, instance, "reboot_instance", "reboot"):
            await self._reboot(ctxt, instance, block_device_info, reboot_type)

    async def _reboot(self, ctxt: Any, instance: Instance, block_device_info: Any,
                      reboot_type: str) -> None:
        soft = reboot_type == "SOFT"
        pending = states.REBOOT_PENDING if soft else states.REBOOT_PENDING_HARD
        expected = common.SOFT_REBOOT_STATES if soft else common.HARD_REBOOT_STATES
        instance = await self._save(ctxt, instance, {"task_state": pending}, list(expected))
        network_info = await self._network_info(ctxt, instance)
        power_state = await self.get_power_state(instance)
        instance = await self._save(ctxt, instance, {"power_state": power_state},
                                    list(expected))
        if power_state != states.RUNNING:
            LOG.warning("trying to reboot a non-running instance %s: (state: %s expected: "
                        "%s)", instance.uuid, power_state, states.RUNNING)
        new_vm_state = states.RESCUED if instance.vm_state == states.RESCUED else states.ACTIVE
        new_power_state = None
        try:
            instance = await self._save(
                ctxt, instance,
                {"task_state": states.REBOOT_STARTED if soft else states.REBOOT_STARTED_HARD},
                pending)
            await self.mgr.driver.reboot(ctxt, instance, network_info, reboot_type,
                                         block_device_info=block_device_info)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
            raise
        except Exception as error:
            # A failed reboot of a guest that still runs is not an error (Nova's).
            new_power_state = await self.get_power_state(instance)
            if new_power_state != states.RUNNING:
                LOG.error("Cannot reboot instance %s: %s", instance.uuid, error)
                await common.set_error_state(self.mgr, ctxt, instance)
                raise
            LOG.warning("Reboot failed but instance %s is running", instance.uuid)
            await common.add_instance_fault(self.mgr, ctxt, instance, error)
        if new_power_state is None:
            new_power_state = await self.get_power_state(instance)
        try:
            await self.mgr.conductor.instance_update(ctxt, instance.uuid, {
                "power_state": new_power_state, "vm_state": new_vm_state,
                "task_state": None})
        except exception.InstanceNotFound:
            LOG.warning("Instance %s disappeared during reboot", instance.uuid)

    # -- stop and start ----------------------------------------------------------------------

    async def stop_instance(self, ctxt: Any, instance: Any, clean_shutdown: bool = True
                            ) -> None:
        instance = as_instance(instance)
        async with self.operation(ctxt, instance, "stop_instance", "stop"):
            await self._stop(ctxt, instance, clean_shutdown)

    async def _stop(self, ctxt: Any, instance: Instance, clean_shutdown: bool) -> None:
        power_state = await self.get_power_state(instance)
        LOG.debug("Stopping instance %s; current vm_state: %s, current task_state: %s, "
                  "current DB power_state: %s, current VM power_state: %s", instance.uuid,
                  instance.vm_state, instance.task_state, instance.power_state, power_state)
        expected: list[str | None] = [states.POWERING_OFF]
        if power_state in common.POWERED_OFF:
            LOG.info("Instance %s is already powered off in the hypervisor when stop is "
                     "called.", instance.uuid)
            expected.append(None)
        timeout, retry_interval = self.power_off_values(instance, clean_shutdown)
        await self.mgr.driver.power_off(instance, timeout, retry_interval)
        await self.mgr.conductor.instance_update(ctxt, instance.uuid, {
            "power_state": await self.get_power_state(instance),
            "vm_state": states.STOPPED, "task_state": None}, expected_task_state=expected)

    async def start_instance(self, ctxt: Any, instance: Any) -> None:
        instance = as_instance(instance)
        async with self.operation(ctxt, instance, "start_instance", "start"):
            network_info = await self._network_info(ctxt, instance)
            await self.mgr.driver.power_on(ctxt, instance, network_info)
            await self._save(ctxt, instance, {
                "power_state": await self.get_power_state(instance),
                "vm_state": states.ACTIVE, "task_state": None}, states.POWERING_ON)

    # -- pause and suspend ------------------------------------------------------------------

    async def pause_instance(self, ctxt: Any, instance: Any) -> None:
        instance = as_instance(instance)
        async with self.operation(ctxt, instance, "pause_instance", "pause"):
            await self.mgr.driver.pause(instance)
            await self._settle(ctxt, instance, states.PAUSED, states.PAUSING)

    async def unpause_instance(self, ctxt: Any, instance: Any) -> None:
        instance = as_instance(instance)
        async with self.operation(ctxt, instance, "unpause_instance", "unpause"):
            await self.mgr.driver.unpause(instance)
            await self._settle(ctxt, instance, states.ACTIVE, states.UNPAUSING)

    async def suspend_instance(self, ctxt: Any, instance: Any) -> None:
        instance = as_instance(instance)
        async with self.operation(ctxt, instance, "suspend_instance", "suspend"):
            await self.mgr.driver.suspend(ctxt, instance)
            await self._settle(ctxt, instance, states.SUSPENDED, states.SUSPENDING)

    async def resume_instance(self, ctxt: Any, instance: Any) -> None:
        instance = as_instance(instance)
        async with self.operation(ctxt, instance, "resume_instance", "resume"):
            network_info = await self._network_info(ctxt, instance)
            await self.mgr.driver.resume(ctxt, instance, network_info)
            await self._settle(ctxt, instance, states.ACTIVE, states.RESUMING)

    async def _settle(self, ctxt: Any, instance: Instance, vm_state: str,
                      expected: str) -> None:
        await self._save(ctxt, instance, {
            "power_state": await self.get_power_state(instance), "vm_state": vm_state,
            "task_state": None}, expected)

    # -- console -----------------------------------------------------------------------------

    async def get_console_output(self, ctxt: Any, instance: Any,
                                 tail_length: int | None = None) -> str:
        """The console log, its last ``tail_length`` lines when given (Nova's
        ``_tail_log``: 0 or a non-number is nothing), as text."""
        instance = as_instance(instance)
        try:
            output = await self.mgr.driver.get_console_output(ctxt, instance)
        except NotImplementedError as error:
            raise common.ConsoleNotAvailable() from error
        if isinstance(output, str):
            output = output.encode("utf-8")
        if tail_length is not None:
            try:
                length = int(tail_length)
            except ValueError:
                length = 0
            output = b"" if length <= 0 else b"\n".join(output.split(b"\n")[-length:])
        return output.decode("ascii", "replace")

    # -- the power state sync ---------------------------------------------------------------

    async def query_driver_power_state_and_sync(self, ctxt: Any, instance: Instance) -> None:
        """Nova's ``_query_driver_power_state_and_sync``, under the instance's lock."""
        async with self.mgr.locks.hold(instance.uuid):
            if instance.task_state is not None:
                LOG.info("During sync_power_state the instance %s has a pending task "
                         "(%s). Skip.", instance.uuid, instance.task_state)
                return
            power_state = await self.get_power_state(instance)
            try:
                await self.sync_instance_power_state(ctxt, instance, power_state)
            except exception.InstanceNotFound:
                pass

    async def sync_instance_power_state(self, ctxt: Any, instance: Instance,
                                        vm_power_state: int) -> None:
        """Nova's ``_sync_instance_power_state``: the database's power state follows the
        hypervisor's, and a guest that stopped (or started) on its own is stopped
        through the same path a user's stop takes."""
        db = await self.mgr.conductor.instance_get_by_uuid(ctxt, instance.uuid,
                                                           expected_attrs=["system_metadata"])
        if db.host != self.mgr.host:
            LOG.info("During the sync_power process the instance %s has moved from host "
                     "%s to host %s", db.uuid, self.mgr.host, db.host)
            return
        if db.task_state is not None:
            LOG.info("During sync_power_state the instance %s has a pending task (%s). "
                     "Skip.", db.uuid, db.task_state)
            return
        original = db.power_state
        if vm_power_state != db.power_state:
            LOG.info("During _sync_instance_power_state the DB power_state (%s) does not "
                     "match the vm_power_state from the hypervisor (%s). Updating "
                     "power_state in the DB to match the hypervisor.", db.power_state,
                     vm_power_state)
            db = await self.mgr.conductor.instance_update(
                ctxt, db.uuid, {"power_state": vm_power_state},
                expected_attrs=["system_metadata"])
        vm_state = db.vm_state
        details = (f"Current vm_state: {vm_state}, current task_state: {db.task_state}, "
                   f"original DB power_state: {original}, current VM power_state: "
                   f"{vm_power_state}")
        if vm_state == states.ACTIVE:
            if vm_power_state in (states.SHUTDOWN, states.CRASHED):
                LOG.warning("Instance %s shutdown by itself. Calling the stop API. %s",
                            db.uuid, details)
                await self._stop_from_sync(ctxt, db)
            elif vm_power_state == states.POWER_SUSPENDED:
                LOG.warning("Instance %s is suspended unexpectedly. Calling the stop API.",
                            db.uuid)
                await self._stop_from_sync(ctxt, db)
            elif vm_power_state == states.POWER_PAUSED:
                LOG.warning("Instance %s is paused unexpectedly. Ignore.", db.uuid)
            elif vm_power_state == states.NOSTATE:
                LOG.warning("Instance %s is unexpectedly not found. Ignore.", db.uuid)
        elif vm_state == states.STOPPED:
            if vm_power_state not in common.POWERED_OFF:
                LOG.warning("Instance %s is not stopped. Calling the stop API. %s",
                            db.uuid, details)
                await self._stop_from_sync(ctxt, db, force=True)
        elif vm_state == states.PAUSED:
            if vm_power_state in (states.SHUTDOWN, states.CRASHED):
                LOG.warning("Paused instance %s shutdown by itself. Calling the stop API.",
                            db.uuid)
                await self._stop_from_sync(ctxt, db, force=True)
        elif vm_state in (states.SOFT_DELETED, states.DELETED):
            if vm_power_state not in (states.NOSTATE, states.SHUTDOWN):
                LOG.warning("Instance %s is not (soft-)deleted.", db.uuid)

    async def _stop_from_sync(self, ctxt: Any, instance: Instance, *,
                              force: bool = False) -> None:
        """What Nova's sync asks of its compute API (``stop``, ``force_stop``, or
        ``delete`` for ``shutdown_terminate``): the task state set and the action
        recorded as the API would, then the stop run here once the sync lets go of the
        instance's lock. A failure is logged: the next sync tries again."""
        if instance.shutdown_terminate and not force:
            task_state, action, run = (states.DELETING, "delete",
                                       self.mgr.delete.terminate_instance)
        else:
            task_state, action, run = (states.POWERING_OFF, "stop", self.stop_instance)
        try:
            instance = await self.mgr.conductor.instance_update(
                ctxt, instance.uuid, {"task_state": task_state, "progress": 0},
                expected_task_state=[None], expected_attrs=["system_metadata"])
            await self.mgr.conductor.instance_action_start(ctxt, instance.uuid, action)
        except Exception:
            LOG.exception("error during stop() in sync_power_state of instance %s",
                          instance.uuid)
            return
        args = (ctxt, instance) if action == "stop" else (ctxt, instance, None)
        d = defer.Deferred.fromCoroutine(run(*args))
        self.pending[instance.uuid] = d

        def done(result: Any) -> None:
            self.pending.pop(instance.uuid, None)
            if isinstance(result, Exception) or hasattr(result, "getErrorMessage"):
                LOG.error("error during stop() in sync_power_state of instance %s: %s",
                          instance.uuid, result.getErrorMessage())

        d.addBoth(done)
