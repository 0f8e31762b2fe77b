"""What a compute does when it starts (Nova's ``init_host`` and ``_init_instance``):
take stock of the instances the conductor says are on this host and of the guests the
hypervisor has, and make the two agree before serving requests.

- A guest whose instance was deleted while the compute was down is destroyed and its
  allocations deleted; an unfinished delete (``deleting``, or ``deleted`` without the
  row's delete) is finished.
- A build or a move the compute was in the middle of goes to ``error`` (Nova's
  "failed to spawn correctly"); so does an instance Placement shows on this host's
  nodes that is still ``building`` although it never got here (its build cast was
  lost with the compute).
- Interrupted reboots, stops and starts are run again, transitional task states with
  nothing left to do are cleared, and each instance's power state is synced from the
  hypervisor, with ``resume_guests_state_on_host_boot`` starting the guests that ran
  before.
- Allocations are healed: an instance of this host with none in Placement gets those
  its flavor means on its node's provider.

Each instance is handled on its own; one that fails is logged and the others go on,
as a compute that could not start because of one instance would help nobody.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.compute.manager.power import reboot_type_for
from nova_tx.objects.instance import Instance

LOG = logging.getLogger("nova_tx.compute.manager.restart")

INTERRUPTED_BUILD_TASKS = (states.SCHEDULING, states.BLOCK_DEVICE_MAPPING,
                           states.NETWORKING, states.SPAWNING)
INTERRUPTED_REBUILD_TASKS = (states.REBUILDING, states.REBUILD_BLOCK_DEVICE_MAPPING,
                             states.REBUILD_SPAWNING)
CLEARED_TASKS = (states.IMAGE_SNAPSHOT_PENDING, states.IMAGE_PENDING_UPLOAD,
                 states.IMAGE_UPLOADING, states.IMAGE_SNAPSHOT, states.RESIZE_PREP)
EXPECTED_ATTRS = ("info_cache", "metadata", "system_metadata", "flavor", "numa_topology",
                  "pci_requests")


@dataclasses.dataclass
class RestartReport:
    """What the start-up found and did, by instance uuid (logged; tests read it)."""

    found: list[str] = dataclasses.field(default_factory=list)
    errored: list[str] = dataclasses.field(default_factory=list)
    deleted: list[str] = dataclasses.field(default_factory=list)
    destroyed_guests: list[str] = dataclasses.field(default_factory=list)
    unknown_guests: list[str] = dataclasses.field(default_factory=list)
    resumed: list[str] = dataclasses.field(default_factory=list)
    retried: list[str] = dataclasses.field(default_factory=list)
    healed_allocations: list[str] = dataclasses.field(default_factory=list)
    removed_allocations: list[str] = dataclasses.field(default_factory=list)


class HostInit:
    """``init_host`` once the driver is ready (nova-compute's ``prepare`` has run the
    driver's own ``init_host``) and the resource tracker has made its first update,
    so that the node's provider exists in Placement."""

    def __init__(self, mgr: Any):
        self.mgr = mgr

    async def init_host(self, ctxt: Any) -> RestartReport:
        mgr = self.mgr
        report = RestartReport()
        instances = await mgr.conductor.instance_get_all_by_host(
            ctxt, mgr.host, expected_attrs=EXPECTED_ATTRS)
        report.found = [i.uuid for i in instances]
        mgr.lifecycle.register()
        guests = set(await mgr.driver.list_instance_uuids())
        await self._destroy_deleted_guests(ctxt, guests - set(report.found), report)
        for instance in instances:
            try:
                await self.init_instance(ctxt, instance, report)
            except Exception:
                LOG.exception("Failed to initialise instance %s at start-up",
                              instance.uuid)
        await self._reconcile_allocations(ctxt, set(report.found), report)
        LOG.info("Host %s started with %d instance(s): %s", mgr.host, len(report.found),
                 report)
        return report

    async def _destroy_deleted_guests(self, ctxt: Any, uuids: set[str],
                                      report: RestartReport) -> None:
        for uuid in sorted(uuids):
            try:
                instance = await self.mgr.conductor.instance_get_by_uuid(
                    ctxt, uuid, expected_attrs=["info_cache"], read_deleted="yes")
            except exception.InstanceNotFound:
                LOG.warning("The hypervisor has guest %s, which no instance of this cell "
                            "is; leaving it alone", uuid)
                report.unknown_guests.append(uuid)
                continue
            if not (instance.deleted or instance.vm_state == states.DELETED):
                LOG.warning("Guest %s belongs to host %s now; leaving it alone", uuid,
                            instance.host)
                report.unknown_guests.append(uuid)
                continue
            LOG.info("Destroying guest %s: its instance was deleted while this compute "
                     "was down", uuid)
            await self.mgr.driver.destroy(ctxt, instance, instance.network_info or [],
                                          block_device_info=None, destroy_disks=True)
            await self.mgr.delete.complete_deletion(ctxt, instance)
            report.destroyed_guests.append(uuid)

    async def init_instance(self, ctxt: Any, instance: Instance,
                            report: RestartReport) -> None:
        """Nova's ``_init_instance`` for one instance of this host."""
        mgr = self.mgr
        uuid = instance.uuid
        if instance.vm_state == states.SOFT_DELETED or (
                instance.vm_state == states.ERROR and instance.task_state not in (
                    states.RESIZE_MIGRATING, states.DELETING)):
            LOG.debug("Instance %s is in %s state.", uuid, instance.vm_state)
            return
        if instance.vm_state == states.DELETED:
            await mgr.conductor.instance_destroy(ctxt, uuid)
            await mgr.delete.complete_deletion(ctxt, instance)
            report.deleted.append(uuid)
            return
        if instance.vm_state == states.BUILDING or \
                instance.task_state in INTERRUPTED_BUILD_TASKS:
            LOG.debug("Instance %s failed to spawn correctly, setting to ERROR state", uuid)
            await common.set_error_state(mgr, ctxt, instance, clean_task_state=True)
            report.errored.append(uuid)
            return
        if instance.vm_state in (states.ACTIVE, states.STOPPED) and \
                instance.task_state in INTERRUPTED_REBUILD_TASKS:
            LOG.debug("Instance %s failed to rebuild correctly, setting to ERROR state",
                      uuid)
            await common.set_error_state(mgr, ctxt, instance, clean_task_state=True)
            report.errored.append(uuid)
            return
        if instance.vm_state != states.ERROR and instance.task_state in CLEARED_TASKS:
            LOG.debug("Instance %s in transitional state %s at start-up clearing task "
                      "state", uuid, instance.task_state)
            instance = await mgr.conductor.instance_update(ctxt, uuid, {"task_state": None})
        if instance.task_state == states.DELETING:
            LOG.info("Service started deleting the instance %s during the previous run, "
                     "but did not finish. Restarting the deletion now.", uuid)
            await mgr.delete.terminate_instance(ctxt, instance)
            report.deleted.append(uuid)
            return
        power_state = await mgr.power.get_power_state(instance)
        if await self._retry_interrupted(ctxt, instance, power_state, report):
            return
        if instance.power_state == states.RUNNING and power_state != states.RUNNING and \
                mgr.conf.resume_guests_state_on_host_boot:
            LOG.info("Resuming the guest of instance %s, which ran before the host "
                     "restarted", uuid)
            await mgr.driver.power_on(ctxt, instance, instance.network_info or [])
            report.resumed.append(uuid)
        await mgr.power.query_driver_power_state_and_sync(
            ctxt, await mgr.conductor.instance_get_by_uuid(ctxt, uuid))

    async def _retry_interrupted(self, ctxt: Any, instance: Instance, power_state: int,
                                 report: RestartReport) -> bool:
        """Reboots, stops, starts and unpauses a restart interrupted; True when one was
        run again (it settles the instance's states itself)."""
        mgr = self.mgr
        task_state = instance.task_state
        reboot_type = reboot_type_for(task_state, power_state)
        pending_soft = (task_state == states.REBOOT_PENDING
                        and instance.vm_state in common.ALLOW_SOFT_REBOOT)
        pending_hard = (task_state == states.REBOOT_PENDING_HARD
                        and instance.vm_state in common.ALLOW_HARD_REBOOT)
        started_not_running = (task_state in (states.REBOOT_STARTED,
                                              states.REBOOT_STARTED_HARD)
                               and power_state != states.RUNNING)
        if pending_soft or pending_hard or started_not_running:
            LOG.debug("Instance %s in transitional state (%s) at start-up and power state "
                      "is (%s), triggering reboot", instance.uuid, task_state, power_state)
            if task_state in common.SOFT_REBOOT_STATES and reboot_type == "HARD":
                instance = await mgr.conductor.instance_update(
                    ctxt, instance.uuid, {"task_state": states.REBOOT_PENDING_HARD})
            await mgr.power.reboot_instance(ctxt, instance, None, reboot_type)
            report.retried.append(instance.uuid)
            return True
        if power_state == states.RUNNING and task_state in (
                states.REBOOT_STARTED, states.REBOOT_STARTED_HARD, states.PAUSING,
                states.UNPAUSING):
            LOG.warning("Instance %s in transitional state (%s) at start-up and power "
                        "state is (%s), clearing task state", instance.uuid, task_state,
                        power_state)
            await mgr.conductor.instance_update(ctxt, instance.uuid, {
                "task_state": None, "vm_state": states.ACTIVE})
            return False
        if power_state == states.POWER_PAUSED and task_state == states.UNPAUSING:
            await mgr.power.unpause_instance(ctxt, instance)
            report.retried.append(instance.uuid)
            return True
        if task_state == states.POWERING_OFF:
            LOG.debug("Instance %s in transitional state %s at start-up retrying stop "
                      "request", instance.uuid, task_state)
            await mgr.power.stop_instance(ctxt, instance, True)
            report.retried.append(instance.uuid)
            return True
        if task_state == states.POWERING_ON:
            LOG.debug("Instance %s in transitional state %s at start-up retrying start "
                      "request", instance.uuid, task_state)
            await mgr.power.start_instance(ctxt, instance)
            report.retried.append(instance.uuid)
            return True
        return False

    async def _reconcile_allocations(self, ctxt: Any, handled: set[str],
                                     report: RestartReport) -> None:
        """Builds lost with the compute go to ERROR (Nova's
        ``_error_out_instances_whose_build_was_interrupted``), allocations of deleted
        instances go, and the live instances' missing allocations are healed."""
        mgr = self.mgr
        providers: dict[str, str] = {}
        for nodename in mgr.driver.get_available_nodes():
            provider = await mgr.allocations.provider_uuid(ctxt, nodename)
            if provider is not None:
                providers[nodename] = provider
        consumers: set[str] = set()
        for provider in providers.values():
            consumers |= await mgr.allocations.provider_consumers(ctxt, provider)
        for uuid in sorted(consumers - handled):
            try:
                instance = await mgr.conductor.instance_get_by_uuid(ctxt, uuid,
                                                                    read_deleted="yes")
            except exception.InstanceNotFound:
                continue  # a migration's, or another cell's
            if instance.deleted:
                if await mgr.allocations.delete(ctxt, uuid):
                    report.removed_allocations.append(uuid)
            elif instance.vm_state == states.BUILDING:
                LOG.debug("Instance %s spawn was interrupted before instance_claim, "
                          "setting instance to ERROR state", uuid)
                await common.set_error_state(mgr, ctxt, instance, clean_task_state=True)
                report.errored.append(uuid)
        for instance in await mgr.conductor.instance_get_all_by_host(
                ctxt, mgr.host, expected_attrs=["flavor"]):
            if instance.vm_state in (states.BUILDING, states.ERROR) or \
                    instance.task_state == states.DELETING:
                continue
            provider = providers.get(instance.node or "")
            if provider is None:
                continue
            if await mgr.allocations.heal(ctxt, instance, provider):
                report.healed_allocations.append(instance.uuid)
