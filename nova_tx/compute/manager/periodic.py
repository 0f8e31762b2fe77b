"""The compute manager's periodic tasks (Nova's ``@periodic_task`` methods), each a
``LoopingCall`` on the reactor's clock started with the service:

=====================================  ===============================================
task                                   interval option (0: 60 s; < 0: off)
=====================================  ===============================================
power state sync                       ``sync_power_state_interval`` (600)
instance info cache heal               ``heal_instance_info_cache_interval`` (<= 0 off)
reclaim of soft-deleted instances      ``reclaim_instance_interval`` (<= 0 off)
builds that take too long              every 60 s when ``instance_build_timeout`` > 0
soft reboots that hang                 every 60 s when ``reboot_timeout`` > 0
image cache manager                    ``[image_cache] manager_interval`` (2400, -1 off)
scheduler instance sync                ``scheduler_instance_sync_interval`` (120)
guests of deleted instances            ``running_deleted_instance_poll_interval``
                                       (1800, 0 off)
=====================================  ===============================================

A run that is still going when its next one is due is not started twice (Nova's
periodic tasks never overlap either), and a run's error is logged, never raised into
the timer, so the task runs again at its next interval.
"""
from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from twisted.application import service
from twisted.internet import defer, task

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.conf.compute_manager import DEFAULT_INTERVAL
from nova_tx.context import RequestContext
from nova_tx.objects.instance import Instance

LOG = logging.getLogger("nova_tx.compute.manager.periodic")


def spacing(value: int) -> int | None:
    """Nova's periodic spacing: 0 is the default interval, a negative value is off."""
    if value < 0:
        return None
    return value or DEFAULT_INTERVAL


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class PeriodicTasks(service.Service):
    name = "compute-periodic-tasks"

    def __init__(self, mgr: Any):
        self.mgr = mgr
        self.loops: dict[str, task.LoopingCall] = {}
        self._running: dict[str, defer.Deferred] = {}
        #: Instance uuids left to heal in this round of the info cache heal.
        self._heal_queue: list[str] = []

    def intervals(self) -> dict[str, int]:
        """The tasks this configuration runs, with their intervals in seconds."""
        conf = self.mgr.conf
        found: dict[str, int | None] = {
            "sync_power_states": spacing(conf.sync_power_state_interval),
            "heal_instance_info_cache": (conf.heal_instance_info_cache_interval
                                         if conf.heal_instance_info_cache_interval > 0
                                         else None),
            "reclaim_queued_deletes": (conf.reclaim_instance_interval
                                       if conf.reclaim_instance_interval > 0 else None),
            "check_instance_build_time": (DEFAULT_INTERVAL if conf.instance_build_timeout
                                          else None),
            "poll_rebooting_instances": DEFAULT_INTERVAL if conf.reboot_timeout else None,
            "run_image_cache_manager_pass": spacing(conf.image_cache.manager_interval),
            "sync_scheduler_instance_info": spacing(conf.scheduler_instance_sync_interval),
            "cleanup_running_deleted_instances": (
                conf.running_deleted_instance_poll_interval
                if conf.running_deleted_instance_poll_interval > 0
                and conf.running_deleted_instance_action != "noop" else None),
        }
        return {name: interval for name, interval in found.items() if interval}

    def startService(self) -> None:
        if self.running:
            return
        super().startService()
        for name, interval in self.intervals().items():
            loop = task.LoopingCall(self._run, name)
            loop.clock = self.mgr.reactor
            self.loops[name] = loop
            loop.start(interval, now=False)

    def stopService(self) -> defer.Deferred:
        super().stopService()
        for loop in self.loops.values():
            if loop.running:
                loop.stop()
        self.loops.clear()
        running = list(self._running.values())
        return defer.DeferredList(running) if running else defer.succeed(None)

    def _run(self, name: str) -> None:
        if name in self._running:
            LOG.debug("Periodic task %s is still running; skipping this run", name)
            return
        method: Callable[[Any], Awaitable[Any]] = getattr(self, name)
        d = defer.Deferred.fromCoroutine(method(RequestContext(is_admin=True)))
        self._running[name] = d

        def done(result: Any) -> None:
            self._running.pop(name, None)
            if hasattr(result, "getTraceback"):
                LOG.error("Error during ComputeManager.%s: %s", name, result.getTraceback())

        d.addBoth(done)

    async def _instances(self, ctxt: Any, **filters: Any) -> list[Instance]:
        return await self.mgr.conductor.instance_get_all_by_host(
            ctxt, self.mgr.host, filters=filters or None)

    # -- the tasks ------------------------------------------------------------------------

    async def sync_power_states(self, ctxt: Any) -> None:
        """Nova's ``_sync_power_states``: each instance's power state from the driver,
        at most ``sync_power_state_pool_size`` at a time."""
        instances = await self._instances(ctxt)
        on_hypervisor = await self.mgr.driver.list_instance_uuids()
        if len(on_hypervisor) != len(instances):
            LOG.warning("While synchronizing instance power states, found %d instances "
                        "in the database and %d instances on the hypervisor.",
                        len(instances), len(on_hypervisor))
        limit = defer.DeferredSemaphore(max(1, self.mgr.conf.sync_power_state_pool_size))

        async def sync(instance: Instance) -> None:
            try:
                await self.mgr.power.query_driver_power_state_and_sync(ctxt, instance)
            except Exception:
                LOG.exception("Periodic sync_power_state task had an error while "
                              "processing instance %s.", instance.uuid)

        await defer.gatherResults([
            limit.run(lambda i=i: defer.Deferred.fromCoroutine(sync(i)))
            for i in instances])

    async def heal_instance_info_cache(self, ctxt: Any) -> None:
        """Nova's ``_heal_instance_info_cache``: one instance per run, taken in turn,
        its network info read again from the network service."""
        gateway = self.mgr.conductor
        refilled = False
        instance = None
        while instance is None:
            if not self._heal_queue:
                if refilled:
                    return
                refilled = True
                self._heal_queue = [i.uuid for i in await self._instances(ctxt)]
                if not self._heal_queue:
                    LOG.debug("Didn't find any instances for network info cache update.")
                    return
            uuid = self._heal_queue.pop(0)
            try:
                found = await gateway.instance_get_by_uuid(ctxt, uuid,
                                                           expected_attrs=["info_cache"])
            except exception.InstanceNotFound:
                continue
            # Building or being deleted: the build or the delete writes the cache.
            if found.host == self.mgr.host and found.vm_state != states.BUILDING and \
                    found.task_state != states.DELETING:
                instance = found
        preserve = {vif["id"] for vif in instance.network_info or ()
                    if vif.get("preserve_on_delete")}
        network_info = await self.mgr.network_api.get_instance_nw_info(
            await common.network_context(self.mgr, ctxt), instance.uuid, preserve=preserve)
        await gateway.instance_info_cache_update(ctxt, instance.uuid, network_info)
        LOG.debug("Updated the network info_cache for instance %s", instance.uuid)

    async def reclaim_queued_deletes(self, ctxt: Any) -> None:
        """Nova's ``_reclaim_queued_deletes``: soft-deleted instances older than
        ``reclaim_instance_interval`` are deleted for good."""
        interval = self.mgr.conf.reclaim_instance_interval
        if interval <= 0:
            return
        threshold = _utcnow() - datetime.timedelta(seconds=interval)
        for instance in await self._instances(ctxt, vm_state=states.SOFT_DELETED,
                                              task_state=None):
            if instance.deleted_at is not None and instance.deleted_at > threshold:
                continue
            LOG.info("Reclaiming deleted instance %s", instance.uuid)
            try:
                async with self.mgr.locks.hold(instance.uuid):
                    await self.mgr.delete.delete_instance(ctxt, instance)
            except Exception:
                LOG.exception("Periodic reclaim failed to delete instance %s",
                              instance.uuid)

    async def check_instance_build_time(self, ctxt: Any) -> None:
        """Nova's ``_check_instance_build_time``: a build older than
        ``instance_build_timeout`` is put in ERROR."""
        timeout = self.mgr.conf.instance_build_timeout
        if not timeout:
            return
        threshold = _utcnow() - datetime.timedelta(seconds=timeout)
        for instance in await self._instances(ctxt, vm_state=states.BUILDING):
            if instance.created_at is not None and instance.created_at < threshold:
                LOG.warning("Instance %s build timed out. Set to error state.",
                            instance.uuid)
                await common.set_error_state(self.mgr, ctxt, instance)

    async def poll_rebooting_instances(self, ctxt: Any) -> None:
        """Soft reboots stuck for longer than ``reboot_timeout`` become hard reboots
        (what Nova's drivers do in ``poll_rebooting_instances``)."""
        timeout = self.mgr.conf.reboot_timeout
        if not timeout:
            return
        threshold = _utcnow() - datetime.timedelta(seconds=timeout)
        for instance in await self._instances(
                ctxt, task_state=[states.REBOOTING, states.REBOOT_PENDING,
                                  states.REBOOT_STARTED]):
            if instance.updated_at is None or instance.updated_at > threshold:
                continue
            LOG.warning("Instance %s has been rebooting for more than %d s; rebooting it "
                        "hard", instance.uuid, timeout)
            try:
                instance = await self.mgr.conductor.instance_update(
                    ctxt, instance.uuid, {"task_state": states.REBOOTING_HARD},
                    expected_task_state=[instance.task_state])
            except exception.InstanceUpdateConflict:
                continue
            await self.mgr.power.reboot_instance(ctxt, instance, None, "HARD")

    async def run_image_cache_manager_pass(self, ctxt: Any) -> list[str]:
        """Nova's ``_run_image_cache_manager_pass``: the base files of images no
        instance of this host uses are removed once old enough."""
        if not self.mgr.driver.capabilities.get("has_imagecache"):
            return []
        instances = await self._instances(ctxt)
        return await self.mgr.image_cache.manage(i.image_ref for i in instances)

    async def cleanup_running_deleted_instances(self, ctxt: Any) -> list[str]:
        """Nova's ``_cleanup_running_deleted_instances``: guests the hypervisor still
        has of instances deleted (longer ago than ``running_deleted_instance_timeout``)
        are logged, powered off or destroyed, as ``running_deleted_instance_action``
        says; the uuids acted upon."""
        action = self.mgr.conf.running_deleted_instance_action
        if action == "noop":
            return []
        timeout = self.mgr.conf.running_deleted_instance_timeout
        threshold = _utcnow() - datetime.timedelta(seconds=timeout)
        handled = []
        for uuid in await self.mgr.driver.list_instance_uuids():
            try:
                instance = await self.mgr.conductor.instance_get_by_uuid(
                    ctxt, uuid, expected_attrs=["info_cache"], read_deleted="yes")
            except exception.InstanceNotFound:
                continue
            if not instance.deleted or (timeout and instance.deleted_at is not None
                                        and instance.deleted_at > threshold):
                continue
            handled.append(uuid)
            if action == "log":
                LOG.warning("Detected instance with name label '%s' which is marked as "
                            "DELETED but still present on host.", instance.name)
            elif action == "shutdown":
                LOG.info("Powering off instance with name label '%s' which is marked as "
                         "DELETED but still present on host.", instance.name)
                try:
                    await self.mgr.driver.power_off(instance)
                except Exception:
                    LOG.warning("Failed to power off instance %s", uuid, exc_info=True)
            else:
                LOG.info("Destroying instance with name label '%s' which is marked as "
                         "DELETED but still present on host.", instance.name)
                try:
                    async with self.mgr.locks.hold(uuid):
                        await self.mgr.driver.destroy(ctxt, instance,
                                                      instance.network_info or [],
                                                      block_device_info=None)
                except Exception:
                    LOG.warning("Periodic cleanup failed to delete instance %s", uuid,
                                exc_info=True)
        return handled

    async def sync_scheduler_instance_info(self, ctxt: Any) -> None:
        """Nova's ``_sync_scheduler_instance_info``: the schedulers get the whole list
        of this host's instances, correcting any update they missed."""
        if not self.mgr.scheduler_info.enabled:
            return
        uuids = [i.uuid for i in await self._instances(ctxt)]
        await self.mgr.scheduler_info.sync_instance_info(ctxt, self.mgr.host, uuids)
