"""The delete of an instance on this host (Nova's ``terminate_instance`` and
``_delete_instance``), which the API hands over with the task state ``deleting``, the
reclaim of soft-deleted instances and the restart's unfinished deletes all use.

In order: the guest is destroyed, its ports deleted (those the user made are kept,
unbound), the row marked ``deleted``/NOSTATE with ``terminated_at`` and then
soft-deleted, the claim dropped from the resource tracker, the allocations deleted
from Placement and the schedulers told. A failure leaves the instance in ``error``
(Nova's "always go to Error if something goes wrong").

Notifications as Nova's: ``instance.delete.start`` before anything changes,
``instance.shutdown.start/end`` around the guest's destroy and the network's release
(the end shows no IP left), ``instance.delete.end`` once the row is deleted and the
allocations are gone (what a consumer of ``delete.end`` may rely on); a soft delete
sends ``instance.soft_delete.start/end``. Each has its legacy ``compute.instance.*``.
"""
from __future__ import annotations

import datetime
import logging
from typing import Any

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.compute.manager.power import as_instance
from nova_tx.objects.instance import Instance

LOG = logging.getLogger("nova_tx.compute.manager.delete")


class DeleteManager:
    def __init__(self, mgr: Any):
        self.mgr = mgr

    async def terminate_instance(self, ctxt: Any, instance: Any, bdms: Any = None) -> None:
        instance = as_instance(instance)
        async with self.mgr.locks.hold(instance.uuid):
            try:
                async with common.InstanceEvent(self.mgr, ctxt, instance.uuid,
                                                "compute_terminate_instance", "delete"):
                    await self.delete_instance(ctxt, instance)
            except exception.InstanceNotFound:
                LOG.info("Instance %s disappeared during terminate", instance.uuid)
            except Exception:
                LOG.exception("Setting instance %s vm_state to ERROR", instance.uuid)
                await common.set_error_state(self.mgr, ctxt, instance)
                raise

    async def soft_delete_instance(self, ctxt: Any, instance: Any) -> None:
        """Nova's ``soft_delete_instance``: the guest powered off (the driver interface
        has no soft delete, Nova's fallback), the instance ``soft-delete`` until the
        reclaim deletes it or a restore brings it back."""
        instance = as_instance(instance)
        async with self.mgr.locks.hold(instance.uuid):
            async with common.InstanceEvent(self.mgr, ctxt, instance.uuid,
                                            "compute_soft_delete_instance", "delete"):
                await common.notify_action(self.mgr, ctxt, instance, "soft_delete", "start")
                await self.mgr.driver.power_off(instance, 0, 0)
                await self.mgr.conductor.instance_update(ctxt, instance.uuid, {
                    "power_state": await self.mgr.power.get_power_state(instance),
                    "vm_state": states.SOFT_DELETED, "task_state": None},
                    expected_task_state=[states.SOFT_DELETING])
                await common.notify_action(self.mgr, ctxt, instance, "soft_delete", "end",
                                           reread=True)

    async def delete_instance(self, ctxt: Any, instance: Instance) -> None:
        """Nova's ``_delete_instance`` (without the lock or the event: callers hold
        them)."""
        mgr = self.mgr
        current = await mgr.conductor.instance_get_by_uuid(
            ctxt, instance.uuid, expected_attrs=sorted({
                "info_cache", "flavor", "system_metadata", "numa_topology",
                "pci_requests", *common.NOTIFY_ATTRS}))
        await common.notify_action(mgr, ctxt, current, "delete", "start")
        await common.notify_action(mgr, ctxt, current, "shutdown", "start")
        network_info = current.network_info or []
        await mgr.driver.destroy(ctxt, current, network_info, block_device_info=None,
                                 destroy_disks=True)
        try:
            await mgr.network_api.deallocate_for_instance(
                await common.network_context(mgr, ctxt), current.uuid,
                network_info=network_info)
        except Exception:
            # Nova's _try_deallocate_network: the ports are the network service's to
            # clean up from now on; the delete goes on.
            LOG.exception("Failed to deallocate network for instance %s", current.uuid)
        # Nova's deallocate empties the info cache of the instance it holds: the end of
        # the shutdown shows no IP.
        current = current.replace(network_info=[])
        await common.notify_action(mgr, ctxt, current, "shutdown", "end")
        updated = await mgr.conductor.instance_update(ctxt, current.uuid, {
            "power_state": states.NOSTATE, "vm_state": states.DELETED, "task_state": None,
            "terminated_at": datetime.datetime.now(datetime.UTC).replace(tzinfo=None)},
            expected_attrs=common.NOTIFY_ATTRS)
        gone = await mgr.conductor.instance_destroy(ctxt, current.uuid)
        await self.complete_deletion(ctxt, current)
        # The row is deleted and cannot be read back: the end is the instance as the
        # update left it, with the delete's time.
        await common.notify_action(mgr, ctxt, updated.replace(
            network_info=[], deleted=True, deleted_at=gone.deleted_at), "delete", "end")

    async def complete_deletion(self, ctxt: Any, instance: Instance) -> None:
        """What follows the row's delete: the claim, the allocations, the schedulers."""
        mgr = self.mgr
        try:
            await common.maybe(mgr.rt.drop_instance(ctxt, instance, instance.node))
        except Exception:
            LOG.exception("Failed to drop the claim of instance %s", instance.uuid)
        await mgr.allocations.delete(ctxt, instance.uuid)
        await mgr.scheduler_info.delete_instance_info(ctxt, mgr.host, instance.uuid)
