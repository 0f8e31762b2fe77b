"""Rebuild on this host (Nova's ``rebuild_instance`` with the driver's default
``_rebuild_default_impl``): the guest is destroyed and spawned again from the new
image with the same claim, allocations and ports; the API changed the image, the
system metadata and the fields and set ``rebuilding``.

The task states follow Nova's (``rebuilding`` -> ``rebuild_block_device_mapping`` ->
``rebuild_spawning`` -> None) with a compare-and-swap at each step; the instance ends
ACTIVE with a new ``launched_at``, or, when it was STOPPED, powered off again. A
failure after the guest is gone leaves the instance in ERROR with its fault and
``instance.rebuild.error``. Evacuation (``recreate``) is not built here and refused.
"""
from __future__ import annotations

import datetime
import logging
from typing import Any

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.manager import action_common, common
from nova_tx.compute.manager.build import block_device_info
from nova_tx.compute.manager.power import as_instance
from nova_tx.notifications.instance_action_payloads import InstanceActionRebuildPayload
from nova_tx.objects.request_spec import ImageMeta

LOG = logging.getLogger("nova_tx.compute.manager.rebuild")

#: What the spawn reads of the instance.
SPAWN_ATTRS = ["flavor", "system_metadata", "info_cache", "numa_topology",
               "pci_requests", "metadata", "keypairs", "trusted_certs"]


class EvacuateNotSupported(exception.NovaException):
    msg_fmt = "Rebuilding instance %(instance_uuid)s on another host is not supported"
    code = 501


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _payload(ctxt: Any, instance: Any, error: BaseException | None) -> Any:
    return InstanceActionRebuildPayload(ctxt, instance, error)


class RebuildManager:
    def __init__(self, mgr: Any):
        self.mgr = mgr

    async def rebuild_instance(self, ctxt: Any, instance: Any, orig_image_ref: str,
                               image_ref: str, injected_files: Any, new_pass: str | None,
                               orig_sys_metadata: Any, bdms: Any = None,
                               recreate: bool = False, on_shared_storage: bool = False,
                               preserve_ephemeral: bool = False, migration: Any = None,
                               scheduled_node: str | None = None, limits: Any = None,
                               request_spec: Any = None, accel_uuids: Any = None,
                               reimage_boot_volume: bool | None = None,
                               target_state: str | None = None) -> None:
        instance = as_instance(instance)
        mgr = self.mgr
        async with action_common.operation(mgr, ctxt, instance, "rebuild_instance",
                                           "rebuild", notification="rebuild",
                                           payload=_payload, error_notification=True):
            if recreate:
                raise EvacuateNotSupported(instance_uuid=instance.uuid)
            await self._rebuild(ctxt, instance, image_ref, injected_files, new_pass)

    async def _rebuild(self, ctxt: Any, instance: Any, image_ref: str,
                       injected_files: Any, admin_password: str | None) -> None:
        mgr = self.mgr
        gateway = mgr.conductor
        image = await mgr.image_api.get(ctxt, image_ref)
        instance = await gateway.instance_update(
            ctxt, instance.uuid, {"power_state": await mgr.power.get_power_state(instance),
                                  "task_state": states.REBUILDING},
            expected_task_state=[states.REBUILDING], expected_attrs=SPAWN_ATTRS)
        orig_vm_state = instance.vm_state
        network_info = await mgr.power._network_info(ctxt, instance)
        disks = block_device_info(instance, [])
        allocations = await mgr.allocations.get(ctxt, instance.uuid)
        await mgr.driver.destroy(ctxt, instance, network_info, block_device_info=disks,
                                 destroy_disks=True)
        try:
            instance = await gateway.instance_update(
                ctxt, instance.uuid, {"task_state": states.REBUILD_BLOCK_DEVICE_MAPPING},
                expected_task_state=[states.REBUILDING])
            if mgr.driver.capabilities.get("has_imagecache"):
                await mgr.image_cache.fetch(ctxt, image["id"])
            instance = await gateway.instance_update(
                ctxt, instance.uuid, {"task_state": states.REBUILD_SPAWNING},
                expected_task_state=[states.REBUILD_BLOCK_DEVICE_MAPPING],
                expected_attrs=SPAWN_ATTRS)
            await mgr.driver.spawn(ctxt, instance, ImageMeta.from_image(image),
                                   injected_files or [], admin_password, allocations,
                                   network_info=network_info, block_device_info=disks)
        except (exception.InstanceNotFound, exception.UnexpectedTaskStateError):
            raise
        except Exception:
            # The old guest is gone and the new one did not come: nothing runs.
            await common.set_error_state(mgr, ctxt, instance)
            raise
        instance = await gateway.instance_update(ctxt, instance.uuid, {
            "power_state": await mgr.power.get_power_state(instance),
            "vm_state": states.ACTIVE, "task_state": None, "launched_at": _utcnow()},
            expected_task_state=[states.REBUILD_SPAWNING])
        if orig_vm_state == states.STOPPED:
            LOG.info("bringing vm to original state: '%s'", orig_vm_state)
            instance = await gateway.instance_update(
                ctxt, instance.uuid, {"task_state": states.POWERING_OFF, "progress": 0},
                expected_task_state=[None])
            await mgr.power._stop(ctxt, instance, False)
