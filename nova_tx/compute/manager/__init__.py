"""The compute manager: the RPC endpoint of one compute host (topic ``compute``,
server ``[DEFAULT] host``), Nova's ``ComputeManager`` split by concern:

- ``build``: ``build_and_run_instance`` (claim, networks, disks, image, spawn,
  reschedule or error);
- ``power``: reboot, stop/start, pause/unpause, suspend/resume, console output, and the
  power state sync they share with ``periodic`` and ``lifecycle``;
- ``delete``: terminate, soft delete, and what a delete leaves to finish;
  ``restore``: a soft-deleted instance back;
- ``rebuild``, ``rescue`` (and unrescue), ``snapshot``, ``crash_dump``: the other
  lifecycle actions;
- ``periodic``: the periodic tasks; ``lifecycle``: the driver's lifecycle events;
- ``restart``: ``init_host``, reconciling the host with its records at start-up.

This class only holds what they share (the driver, the resource tracker, the
conductor's instance gateway, the network, image and Placement ports, the schedulers'
instance info client, the per-instance locks) and names the RPC methods. The RPC API
is Nova's 6.x; ``ComputeV5Proxy`` serves the 5.x methods older callers still send.
"""
from __future__ import annotations

import logging
from typing import Any

from oslo_config import cfg

from nova_tx.bus.rpc import Target
from nova_tx.compute.manager.allocations import PlacementAllocations
from nova_tx.compute.manager.build import BuildManager
from nova_tx.compute.manager.common import InstanceLocks
from nova_tx.compute.manager.crash_dump import CrashDumpManager
from nova_tx.compute.manager.delete import DeleteManager
from nova_tx.compute.manager.image_cache import ImageCache
from nova_tx.compute.manager.lifecycle import LifecycleHandler
from nova_tx.compute.manager.periodic import PeriodicTasks
from nova_tx.compute.manager.power import PowerManager
from nova_tx.compute.manager.rebuild import RebuildManager
from nova_tx.compute.manager.rescue import RescueManager
from nova_tx.compute.manager.restart import HostInit, RestartReport
from nova_tx.compute.manager.restore import RestoreManager
from nova_tx.compute.manager.snapshot import SnapshotManager
from nova_tx.objects.instance import Instance, unwrap

LOG = logging.getLogger("nova_tx.compute.manager")

__all__ = ["ComputeManager", "ComputeV5Proxy", "RestartReport"]


class ComputeManager:
    """Version history (Nova's compute RPC API):

    * 6.0: build_and_run_instance, reboot_instance, stop_instance, start_instance,
      pause_instance, unpause_instance, suspend_instance, resume_instance,
      terminate_instance, soft_delete_instance, get_console_output,
      external_instance_event, get_host_uptime, cache_images, restore_instance,
      rebuild_instance, rescue_instance, unrescue_instance, snapshot_instance,
      trigger_crash_dump
    """

    target = Target(version="6.1")

    def __init__(self, conf: cfg.ConfigOpts, *, driver: Any, resource_tracker: Any,
                 conductor: Any, compute_task_api: Any, scheduler_info: Any,
                 network_api: Any, image_api: Any, placement: Any, host: str | None = None,
                 reactor: Any = None, notifier: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.conf = conf
        self.host = host or conf.host
        self.reactor = reactor
        self.driver = driver
        self.rt = resource_tracker
        #: The conductor's instance gateway (``InstanceGatewayAPI``).
        self.conductor = conductor
        #: The conductor's task API, for reschedules (``ComputeTaskAPI``).
        self.compute_task_api = compute_task_api
        self.scheduler_info = scheduler_info
        self.network_api = network_api
        self.image_api = image_api
        #: ``nova_tx.notifications.instance.InstanceNotifier`` (None: none sent).
        self.notifier = notifier
        self.allocations = PlacementAllocations(placement)
        self.image_cache = ImageCache(conf, image_api, reactor=reactor)
        self.locks = InstanceLocks()
        self.build = BuildManager(self)
        self.power = PowerManager(self)
        self.delete = DeleteManager(self)
        self.restore = RestoreManager(self)
        self.rebuild = RebuildManager(self)
        self.rescue = RescueManager(self)
        self.snapshot = SnapshotManager(self)
        self.crash_dump = CrashDumpManager(self)
        self.lifecycle = LifecycleHandler(self)
        self.periodic = PeriodicTasks(self)
        self.startup = HostInit(self)

    def default_nodename(self) -> str:
        nodes = self.driver.get_available_nodes()
        return nodes[0] if nodes else self.host

    async def init_host(self, ctxt: Any) -> RestartReport:
        return await self.startup.init_host(ctxt)

    # -- the RPC methods ----------------------------------------------------------------

    def build_and_run_instance(self, ctxt: Any, instance: Any, image: Any, request_spec: Any,
                               filter_properties: Any, accel_uuids: Any = None,
                               admin_password: str | None = None, injected_files: Any = None,
                               requested_networks: Any = None, security_groups: Any = None,
                               block_device_mapping: Any = None, node: str | None = None,
                               limits: Any = None, host_list: Any = None) -> Any:
        return self.build.build_and_run_instance(
            ctxt, instance, image, request_spec, filter_properties, accel_uuids,
            admin_password=admin_password, injected_files=injected_files,
            requested_networks=requested_networks, security_groups=security_groups,
            block_device_mapping=block_device_mapping, node=node, limits=limits,
            host_list=host_list)

    async def reboot_instance(self, ctxt: Any, instance: Any, block_device_info: Any = None,
                              reboot_type: str = "SOFT") -> None:
        await self.power.reboot_instance(ctxt, instance, block_device_info, reboot_type)

    async def stop_instance(self, ctxt: Any, instance: Any, clean_shutdown: bool = True
                            ) -> None:
        await self.power.stop_instance(ctxt, instance, clean_shutdown)

    async def start_instance(self, ctxt: Any, instance: Any) -> None:
        await self.power.start_instance(ctxt, instance)

    async def pause_instance(self, ctxt: Any, instance: Any) -> None:
        await self.power.pause_instance(ctxt, instance)

    async def unpause_instance(self, ctxt: Any, instance: Any) -> None:
        await self.power.unpause_instance(ctxt, instance)

    async def suspend_instance(self, ctxt: Any, instance: Any) -> None:
        await self.power.suspend_instance(ctxt, instance)

    async def resume_instance(self, ctxt: Any, instance: Any) -> None:
        await self.power.resume_instance(ctxt, instance)

    async def get_console_output(self, ctxt: Any, instance: Any,
                                 tail_length: int | None = None) -> str:
        return await self.power.get_console_output(ctxt, instance, tail_length)

    async def terminate_instance(self, ctxt: Any, instance: Any, bdms: Any = None) -> None:
        await self.delete.terminate_instance(ctxt, instance, bdms)

    async def soft_delete_instance(self, ctxt: Any, instance: Any) -> None:
        await self.delete.soft_delete_instance(ctxt, instance)

    async def restore_instance(self, ctxt: Any, instance: Any) -> None:
        await self.restore.restore_instance(ctxt, instance)

    async def rebuild_instance(self, ctxt: Any, instance: Any, orig_image_ref: str,
                               image_ref: str, injected_files: Any, new_pass: str | None,
                               orig_sys_metadata: Any, bdms: Any = None,
                               recreate: bool = False, on_shared_storage: bool = False,
                               preserve_ephemeral: bool = False, migration: Any = None,
                               scheduled_node: str | None = None, limits: Any = None,
                               request_spec: Any = None, accel_uuids: Any = None,
                               reimage_boot_volume: bool | None = None,
                               target_state: str | None = None) -> None:
        await self.rebuild.rebuild_instance(
            ctxt, instance, orig_image_ref, image_ref, injected_files, new_pass,
            orig_sys_metadata, bdms, recreate, on_shared_storage, preserve_ephemeral,
            migration, scheduled_node, limits, request_spec, accel_uuids,
            reimage_boot_volume, target_state)

    async def rescue_instance(self, ctxt: Any, instance: Any, rescue_password: str | None,
                              rescue_image_ref: str | None = None,
                              clean_shutdown: bool = True) -> None:
        await self.rescue.rescue_instance(ctxt, instance, rescue_password,
                                          rescue_image_ref, clean_shutdown)

    async def unrescue_instance(self, ctxt: Any, instance: Any) -> None:
        await self.rescue.unrescue_instance(ctxt, instance)

    async def snapshot_instance(self, ctxt: Any, image_id: str, instance: Any) -> None:
        await self.snapshot.snapshot_instance(ctxt, image_id, instance)

    async def trigger_crash_dump(self, ctxt: Any, instance: Any) -> None:
        await self.crash_dump.trigger_crash_dump(ctxt, instance)

    async def external_instance_event(self, ctxt: Any, instances: Any, events: Any
                                      ) -> None:
        """Neutron's events for instances of this host (Nova's): a plugged VIF wakes
        the build waiting for it; a changed network refreshes the info cache."""
        known = {Instance.from_primitive(i).uuid for i in instances or ()}
        for event in events or ():
            data = dict(unwrap(event))
            uuid, name = data.get("instance_uuid"), data.get("name")
            if uuid not in known:
                continue
            if name in ("network-vif-plugged", "network-vif-unplugged"):
                if not self.build.vif_events.deliver(uuid, name, data.get("tag"),
                                                     data.get("status", "completed")):
                    LOG.debug("Received unexpected event %s-%s for instance %s", name,
                              data.get("tag"), uuid)
            elif name == "network-changed":
                network_info = await self.network_api.get_instance_nw_info(ctxt, uuid)
                await self.conductor.instance_info_cache_update(ctxt, uuid, network_info)
            else:
                LOG.debug("Ignoring event %s for instance %s", name, uuid)

    async def get_host_uptime(self, ctxt: Any) -> str:
        return await self.driver.get_host_uptime()

    async def cache_images(self, ctxt: Any, image_ids: list[str]) -> dict[str, str]:
        """Fetch the images into the image cache (aggregate image pre-caching); the
        outcome per image is Nova's (``cached``, ``existing``, ``error``,
        ``unsupported``)."""
        results: dict[str, str] = {}
        supported = bool(self.driver.capabilities.get("has_imagecache"))
        for image_id in image_ids:
            if not supported:
                results[image_id] = "unsupported"
                continue
            try:
                existed = await self.image_cache.is_cached(image_id)
                await self.image_cache.fetch(ctxt, image_id)
                results[image_id] = "existing" if existed else "cached"
            except Exception as error:
                LOG.warning("Failed to cache image %s: %s", image_id, error)
                results[image_id] = "error"
        LOG.info("Caching %d image(s) on %s: %s", len(image_ids), self.host, results)
        return results


class ComputeV5Proxy:
    """The 5.x methods callers that are not upgraded yet still send (Nova's
    ``_ComputeV5Proxy``), served by the same manager."""

    target = Target(version="5.13")

    def __init__(self, manager: ComputeManager):
        self.manager = manager

    async def get_host_uptime(self, ctxt: Any) -> str:
        return await self.manager.get_host_uptime(ctxt)

    async def cache_images(self, ctxt: Any, image_ids: list[str]) -> dict[str, str]:
        return await self.manager.cache_images(ctxt, image_ids)
