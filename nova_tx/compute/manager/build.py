"""The build of a new instance on this host (Nova's ``build_and_run_instance`` and
``_do_build_and_run_instance`` / ``_build_and_run_instance`` / ``_build_resources``).

The steps and the states an observer sees, as Nova reports them:

1. ``building``/None (the conductor left it ``scheduling``): the build has started;
   the event ``compute__do_build_and_run_instance`` of the ``create`` action opens;
2. the claim on the node through the resource tracker (CPUs and pages pinned by the
   kernel), with the allocations Placement holds for the instance; host, node and
   ``launched_on`` are set;
3. ``building``/``networking``: ports made and bound to this host through the network
   port, the info cache written;
4. ``building``/``block_device_mapping``: the local disks (root, ephemeral, swap) laid
   out for the driver; volumes need Cinder, which nova-tx has not (the build aborts);
5. the image fetched once into the image cache when the driver keeps one;
6. ``building``/``spawning``: ``driver.spawn``, then the ``network-vif-plugged``
   events of ports not yet active (``vif_plugging_timeout``/``vif_plugging_is_fatal``);
7. ``active``/None with the power state the driver reports and ``launched_at``; the
   schedulers are told the host has the instance.

On failure everything done is undone (guest destroyed, ports deleted, claim
aborted) and then either the build is handed back to the conductor with the
alternates the scheduler chose (``build_instances``; this host's allocations are
deleted first, as Nova's ``_reschedule``), or, when the failure is one no other host
would change or no alternate remains, the instance goes to ``error`` with a fault and
without host and node, and its allocations are deleted.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from twisted.internet import defer

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.manager import common
from nova_tx.compute.manager.common import BuildAbortException, RescheduledException
from nova_tx.image.api import ImageNotActive, ImageNotAuthorized, ImageNotFound
from nova_tx.network.api import NoMoreFixedIps
from nova_tx.objects.instance import Instance, unwrap
from nova_tx.objects.request_spec import ImageMeta
from nova_tx.objects.selection import Selection

LOG = logging.getLogger("nova_tx.compute.manager.build")

EVENT = "compute__do_build_and_run_instance"

#: Failures no other host would change: the build is aborted, not rescheduled (Nova's).
ABORTING = (exception.FlavorDiskTooSmall, exception.FlavorMemoryTooSmall, ImageNotActive,
            ImageNotFound, ImageNotAuthorized, exception.InvalidInput,
            exception.CertificateValidationFailed, exception.InvalidBDM)


def requested_networks(value: Any) -> list[dict[str, Any]] | None:
    """The network requests of the cast as the network port takes them: None for the
    default network (``auto`` or nothing asked), [] for ``none``."""
    if value is None:
        return None
    value = unwrap(value)
    if isinstance(value, Mapping):
        value = value.get("objects") or []
    requests = []
    for item in value:
        data = dict(unwrap(item))
        if data.get("network_id") == "none":
            return []
        if data.get("network_id") == "auto":
            return None
        requests.append({"network_id": data.get("network_id"),
                         "port_id": data.get("port_id"),
                         "address": data.get("address") or data.get("fixed_ip")})
    return requests or None


def block_device_mappings(value: Any) -> list[dict[str, Any]]:
    """The BDMs of the cast (a BlockDeviceMappingList primitive or a list) as dicts."""
    if value is None:
        return []
    value = unwrap(value)
    if isinstance(value, Mapping):
        value = value.get("objects") or []
    return [dict(unwrap(item)) for item in value]


def block_device_info(instance: Instance, bdms: list[dict[str, Any]]) -> dict[str, Any]:
    """Nova's ``block_device_info`` of the local disks: the root device name, the
    ephemeral disks and the swap. A mapping to a volume cannot be prepared without
    a volume service: the build aborts as Nova's does when an attach fails."""
    root = instance.root_device_name or "/dev/vda"
    ephemerals: list[dict[str, Any]] = []
    swap = None
    for bdm in bdms:
        if bdm.get("no_device"):
            continue
        if bdm.get("destination_type") == "volume":
            raise BuildAbortException(instance_uuid=instance.uuid,
                                      reason="Failure prepping block device.")
        if bdm.get("boot_index") == 0 and bdm.get("device_name"):
            root = bdm["device_name"]
        if bdm.get("source_type") != "blank":
            continue
        if bdm.get("guest_format") == "swap":
            swap = {"device_name": bdm.get("device_name"),
                    "swap_size": int(bdm.get("volume_size") or 0) * 1024}
        else:
            ephemerals.append({"num": len(ephemerals), "device_name": bdm.get("device_name"),
                               "size": int(bdm.get("volume_size") or 0),
                               "guest_format": bdm.get("guest_format"),
                               "disk_bus": bdm.get("disk_bus"),
                               "device_type": bdm.get("device_type") or "disk"})
    return {"root_device_name": root, "ephemerals": ephemerals, "swap": swap,
            "block_device_mapping": []}


def is_volume_backed(bdms: list[dict[str, Any]]) -> bool:
    return any(b.get("boot_index") == 0 and b.get("destination_type") == "volume"
               for b in bdms)


class VifPlugEvents:
    """Waiters for Neutron's ``network-vif-plugged`` events (delivered through
    ``external_instance_event``), registered before the guest starts so that an event
    arriving early is not lost."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], defer.Deferred] = {}

    def prepare(self, instance_uuid: str, port_ids: list[str]) -> list[defer.Deferred]:
        waiters = []
        for port_id in port_ids:
            waiter: defer.Deferred = defer.Deferred()
            self._waiting[(instance_uuid, port_id)] = waiter
            waiters.append(waiter)
        return waiters

    def deliver(self, instance_uuid: str, name: str, tag: str, status: str) -> bool:
        waiter = self._waiting.pop((instance_uuid, tag), None)
        if waiter is None:
            return False
        waiter.callback(status)
        return True

    def forget(self, instance_uuid: str) -> None:
        for key in [k for k in self._waiting if k[0] == instance_uuid]:
            self._waiting.pop(key)


class BuildManager:
    """The build path of one ``ComputeManager`` (``mgr`` gives the driver, the resource
    tracker, the gateways and the ports)."""

    def __init__(self, mgr: Any):
        self.mgr = mgr
        limit = mgr.conf.max_concurrent_builds
        #: Nova's ``_build_semaphore`` (0: no limit).
        self._semaphore = defer.DeferredSemaphore(limit) if limit > 0 else None
        #: The builds running, by instance uuid (stopService and tests wait on them).
        self.in_progress: dict[str, defer.Deferred] = {}
        self.vif_events = VifPlugEvents()

    # -- the RPC method ---------------------------------------------------------------

    def build_and_run_instance(self, ctxt: Any, instance: Any, image: Any,
                               request_spec: Any, filter_properties: Any,
                               accel_uuids: Any = None, admin_password: str | None = None,
                               injected_files: Any = None, requested_networks: Any = None,
                               security_groups: Any = None, block_device_mapping: Any = None,
                               node: str | None = None, limits: Any = None,
                               host_list: Any = None) -> defer.Deferred:
        """Start the build and return at once (a cast; Nova spawns it too), so that a
        long build does not hold one of the RPC server's slots."""
        if not isinstance(instance, Instance):
            instance = Instance.from_primitive(instance)
        args = dict(image=image or {}, request_spec=request_spec,
                    filter_properties=dict(filter_properties or {}),
                    admin_password=admin_password, injected_files=injected_files or [],
                    requested_networks=requested_networks,
                    security_groups=security_groups, block_device_mapping=block_device_mapping,
                    node=node, limits=limits, host_list=host_list)
        d = defer.Deferred.fromCoroutine(self._locked_build(ctxt, instance, **args))
        self.in_progress[instance.uuid] = d

        def done(result: Any) -> Any:
            self.in_progress.pop(instance.uuid, None)
            return result

        def unexpected(failure: Any) -> str:
            LOG.error("Unexpected failure building instance %s: %s", instance.uuid,
                      failure.getTraceback())
            return common.FAILED

        d.addErrback(unexpected).addBoth(done)
        return defer.succeed(None)

    async def _locked_build(self, ctxt: Any, instance: Instance, **kwargs: Any) -> str:
        if self._semaphore is not None:
            await self._semaphore.acquire()
        try:
            async with self.mgr.locks.hold(instance.uuid):
                return await self._do_build_and_run_instance(ctxt, instance, **kwargs)
        finally:
            if self._semaphore is not None:
                self._semaphore.release()

    # -- the outcome ------------------------------------------------------------------------

    async def _do_build_and_run_instance(self, ctxt: Any, instance: Instance, *,
                                         image: dict, request_spec: Any,
                                         filter_properties: dict, admin_password: Any,
                                         injected_files: Any, requested_networks: Any,
                                         security_groups: Any, block_device_mapping: Any,
                                         node: str | None, limits: Any,
                                         host_list: Any) -> str:
        gateway = self.mgr.conductor
        try:
            instance = await gateway.instance_update(
                ctxt, instance.uuid, {"vm_state": states.BUILDING, "task_state": None},
                expected_task_state=[states.SCHEDULING, None],
                expected_attrs=["flavor", "info_cache", "numa_topology", "pci_requests",
                                "system_metadata", "metadata"])
        except (exception.InstanceNotFound, exception.UnexpectedDeletingTaskStateError):
            LOG.debug("Instance %s disappeared before build.", instance.uuid)
            return common.FAILED
        except exception.UnexpectedTaskStateError as error:
            LOG.debug("Instance %s is not to be built here: %s", instance.uuid, error)
            return common.FAILED
        node = node or self.mgr.default_nodename()
        networks = requested_networks
        async with common.InstanceEvent(self.mgr, ctxt, instance.uuid, EVENT,
                                        "create") as event:
            try:
                started = time.monotonic()
                await common.notify_action(self.mgr, ctxt, instance, "create", "start")
                await self._build_and_run_instance(
                    ctxt, instance, image, injected_files, admin_password,
                    networks, security_groups, block_device_mapping, node, limits)
                LOG.info("Took %0.2f seconds to build instance %s.",
                         time.monotonic() - started, instance.uuid)
                await common.notify_action(self.mgr, ctxt, instance, "create", "end",
                                           reread=True)
                return common.ACTIVE
            except RescheduledException as error:
                event.failed(error, error.kwargs.get("reason"))
                await common.notify_action(self.mgr, ctxt, instance, "create", "error",
                                           error=error, reread=True)
                alternates = self._alternates(host_list, node)
                if not filter_properties.get("retry") or not alternates:
                    LOG.debug("No alternate host for instance %s, not rescheduling",
                              instance.uuid)
                    await self._fail(ctxt, instance, error,
                                     message=error.kwargs.get("reason"))
                    return common.FAILED
                await self._reschedule(ctxt, instance, error, image, filter_properties,
                                       admin_password, injected_files, requested_networks,
                                       security_groups, block_device_mapping,
                                       request_spec, alternates)
                return common.RESCHEDULED
            except (exception.InstanceNotFound,
                    exception.UnexpectedDeletingTaskStateError) as error:
                LOG.debug("Instance %s disappeared during build.", instance.uuid)
                event.failed(error)
                await self.mgr.allocations.delete(ctxt, instance.uuid)
                return common.FAILED
            except Exception as error:
                if isinstance(error, BuildAbortException):
                    LOG.error("%s", error.format_message())
                else:
                    LOG.exception("Unexpected build failure of instance %s, not "
                                  "rescheduling build.", instance.uuid)
                event.failed(error, error.kwargs.get("reason")
                             if isinstance(error, exception.NovaException) else None)
                await common.notify_action(self.mgr, ctxt, instance, "create", "error",
                                           error=error, reread=True)
                await self._fail(ctxt, instance, error)
                return common.FAILED

    def _alternates(self, host_list: Any, node: str) -> list[Selection]:
        """The Selections other than this host's node (the conductor may send the
        chosen one first or not)."""
        selections = [s if isinstance(s, Selection) else Selection.from_primitive(s)
                      for s in host_list or ()]
        return [s for s in selections
                if (s.service_host, s.nodename) != (self.mgr.host, node)]

    async def _fail(self, ctxt: Any, instance: Instance, error: BaseException, *,
                    message: str | None = None) -> None:
        """ERROR with a fault, no host or node (Nova's ``_nil_out_instance_obj_host_and_
        node``), and no allocations: nothing of this host is held for it any more."""
        await common.add_instance_fault(self.mgr, ctxt, instance, error, message=message)
        await self.mgr.allocations.delete(ctxt, instance.uuid)
        try:
            await self.mgr.conductor.instance_update(ctxt, instance.uuid, {
                "vm_state": states.ERROR, "task_state": None, "host": None, "node": None,
                "launched_on": None, "availability_zone": None})
        except exception.InstanceNotFound:
            LOG.debug("Instance %s disappeared before it was put in ERROR", instance.uuid)

    async def _reschedule(self, ctxt: Any, instance: Instance, error: RescheduledException,
                          image: dict, filter_properties: dict, admin_password: Any,
                          injected_files: Any, requested_networks: Any,
                          security_groups: Any, block_device_mapping: Any,
                          request_spec: Any, alternates: list[Selection]) -> None:
        """Nova's ``_reschedule``: back to ``scheduling`` without a host, this host's
        allocations deleted, and the conductor asked to build on the next alternate."""
        LOG.debug("%s", error.format_message())
        retry = filter_properties["retry"]
        retry["exc_reason"] = error.kwargs.get("reason")
        try:
            instance = await self.mgr.conductor.instance_update(ctxt, instance.uuid, {
                "task_state": states.SCHEDULING, "host": None, "node": None,
                "launched_on": None, "availability_zone": None},
                expected_attrs=["flavor"])
        except exception.InstanceNotFound:
            return
        await self.mgr.allocations.delete(ctxt, instance.uuid)
        await self.mgr.compute_task_api.build_instances(
            ctxt, [instance.to_primitive()], image, filter_properties, admin_password,
            injected_files, requested_networks, security_groups, block_device_mapping,
            request_spec=(request_spec.to_primitive() if hasattr(request_spec, "to_primitive")
                          else request_spec),
            host_lists=[[s.to_primitive() for s in alternates]])
        LOG.info("Instance %s rescheduled to the conductor with %d alternate(s)",
                 instance.uuid, len(alternates))

    # -- the build itself ------------------------------------------------------------------

    async def _build_and_run_instance(self, ctxt: Any, instance: Instance, image: dict,
                                      injected_files: Any, admin_password: Any,
                                      networks: Any, security_groups: Any, bdms_value: Any,
                                      node: str, limits: Any) -> None:
        mgr = self.mgr
        allocations = await mgr.allocations.get(ctxt, instance.uuid)
        try:
            claim = await common.maybe(mgr.rt.instance_claim(ctxt, instance, node,
                                                             allocations, limits))
        except exception.ComputeResourcesUnavailable as error:
            LOG.debug("%s", error.format_message())
            raise RescheduledException(instance_uuid=instance.uuid,
                                       reason=error.format_message()) from error
        try:
            values: dict[str, Any] = {"host": mgr.host, "node": node,
                                      "launched_on": mgr.host}
            # The guest topology the kernel fitted (its pinning), as Nova's claim saves.
            if getattr(claim, "numa_topology", None) is not None:
                values["numa_topology"] = claim.numa_topology
            instance = await mgr.conductor.instance_update(
                ctxt, instance.uuid, values,
                expected_attrs=["flavor", "info_cache", "numa_topology", "pci_requests",
                                "system_metadata", "metadata"])
            await self._build_resources_and_spawn(ctxt, instance, image, injected_files,
                                                  admin_password, networks, security_groups,
                                                  block_device_mappings(bdms_value),
                                                  allocations)
        except BaseException:
            await self._abort_claim(ctxt, instance, node)
            raise

    async def _abort_claim(self, ctxt: Any, instance: Instance, node: str) -> None:
        try:
            await common.maybe(self.mgr.rt.abort_instance_claim(ctxt, instance, node))
        except Exception:
            LOG.exception("Failed to abort the claim of instance %s", instance.uuid)

    async def _build_resources_and_spawn(self, ctxt: Any, instance: Instance, image: dict,
                                         injected_files: Any, admin_password: Any,
                                         networks: Any, security_groups: Any,
                                         bdms: list[dict[str, Any]],
                                         allocations: dict) -> None:
        mgr = self.mgr
        gateway = mgr.conductor
        instance = await gateway.instance_update(
            ctxt, instance.uuid, {"task_state": states.NETWORKING},
            expected_task_state=[None], expected_attrs=["flavor", "system_metadata"])
        network_info = await self._allocate_networks(ctxt, instance, networks,
                                                     security_groups)
        try:
            instance = await gateway.instance_update(
                ctxt, instance.uuid, {"task_state": states.BLOCK_DEVICE_MAPPING},
                expected_task_state=states.NETWORKING,
                expected_attrs=["flavor", "system_metadata", "info_cache"])
            disks = block_device_info(instance, bdms)
            if instance.root_device_name != disks["root_device_name"]:
                instance = await gateway.instance_update(
                    ctxt, instance.uuid, {"root_device_name": disks["root_device_name"]},
                    expected_attrs=["flavor", "system_metadata", "info_cache"])
            try:
                await self._fetch_image(ctxt, instance, image, bdms)
            except ABORTING as error:
                raise BuildAbortException(instance_uuid=instance.uuid,
                                          reason=error.format_message()) from error
            except exception.NovaException as error:
                raise RescheduledException(instance_uuid=instance.uuid,
                                           reason=error.format_message()) from error
            instance = await gateway.instance_update(
                ctxt, instance.uuid, {"task_state": states.SPAWNING},
                expected_task_state=states.BLOCK_DEVICE_MAPPING,
                expected_attrs=["flavor", "system_metadata", "info_cache", "numa_topology",
                                "pci_requests", "metadata"])
            await self._spawn(ctxt, instance, image, injected_files, admin_password,
                              allocations, network_info, disks)
        except BaseException:
            await self._cleanup_networks(ctxt, instance, network_info)
            raise
        power_state = await mgr.power.get_power_state(instance)
        instance = await gateway.instance_update(
            ctxt, instance.uuid, {"power_state": power_state, "vm_state": states.ACTIVE,
                                  "task_state": None,
                                  "launched_at": _utcnow()},
            expected_task_state=states.SPAWNING)
        await mgr.scheduler_info.update_instance_info(ctxt, mgr.host, [instance])

    async def _allocate_networks(self, ctxt: Any, instance: Instance, networks: Any,
                                 security_groups: Any) -> list[dict[str, Any]]:
        requests = requested_networks(networks)
        if requests == []:
            network_info: list[dict[str, Any]] = []
        else:
            groups = [g for g in (security_groups or instance.security_groups or [])]
            try:
                network_info = await self.mgr.network_api.allocate_for_instance(
                    ctxt, instance.uuid, project_id=instance.project_id,
                    host=self.mgr.host, requested_networks=requests,
                    security_groups=groups or None)
            except NoMoreFixedIps as error:
                LOG.warning("No more network or fixed IP to be allocated for %s",
                            instance.uuid)
                raise BuildAbortException(
                    instance_uuid=instance.uuid,
                    reason="Failed to allocate the network(s) with error "
                    f"{error.format_message()}, not rescheduling.") from error
            except Exception as error:
                LOG.exception("Failed to allocate network(s) for %s", instance.uuid)
                raise RescheduledException(instance_uuid=instance.uuid,
                                           reason=str(error)) from error
        try:
            await self.mgr.conductor.instance_info_cache_update(ctxt, instance.uuid,
                                                                network_info)
        except BaseException:
            await self._cleanup_networks(ctxt, instance, network_info)
            raise
        return network_info

    async def _cleanup_networks(self, ctxt: Any, instance: Instance,
                                network_info: list[dict[str, Any]]) -> None:
        """Nova's ``_cleanup_allocated_networks``: the ports go, the info cache empties."""
        try:
            await self.mgr.network_api.deallocate_for_instance(
                ctxt, instance.uuid, network_info=network_info)
        except Exception:
            LOG.exception("Failed to deallocate networks of instance %s", instance.uuid)
            return
        try:
            await self.mgr.conductor.instance_info_cache_update(ctxt, instance.uuid, [])
        except exception.InstanceNotFound:
            pass

    async def _fetch_image(self, ctxt: Any, instance: Instance, image: dict,
                           bdms: list[dict[str, Any]]) -> None:
        image_id = image.get("id") or instance.image_ref
        if not image_id or is_volume_backed(bdms):
            return
        if not self.mgr.driver.capabilities.get("has_imagecache"):
            return
        await self.mgr.image_cache.fetch(ctxt, image_id)

    async def _spawn(self, ctxt: Any, instance: Instance, image: dict, injected_files: Any,
                     admin_password: Any, allocations: dict,
                     network_info: list[dict[str, Any]], disks: dict[str, Any]) -> None:
        mgr = self.mgr
        image_meta = ImageMeta.from_image(image)
        pending = [vif["id"] for vif in network_info if vif.get("active") is False]
        timeout = mgr.conf.vif_plugging_timeout
        waiters = self.vif_events.prepare(instance.uuid, pending) if timeout else []
        started = time.monotonic()
        try:
            await mgr.driver.spawn(ctxt, instance, image_meta, injected_files,
                                   admin_password, allocations, network_info=network_info,
                                   block_device_info=disks)
            LOG.info("Took %0.2f seconds to spawn the instance %s on the hypervisor.",
                     time.monotonic() - started, instance.uuid)
            if waiters:
                await self._wait_for_vifs(instance, waiters, timeout)
        except BaseException as error:
            self.vif_events.forget(instance.uuid)
            await self._destroy_guest(ctxt, instance, network_info, disks)
            if isinstance(error, (BuildAbortException, RescheduledException,
                                  exception.InstanceNotFound,
                                  exception.UnexpectedDeletingTaskStateError)):
                raise
            if isinstance(error, ABORTING):
                raise BuildAbortException(instance_uuid=instance.uuid,
                                          reason=error.format_message()) from error
            LOG.exception("Failed to build and run instance %s", instance.uuid)
            raise RescheduledException(instance_uuid=instance.uuid,
                                       reason=str(error) or type(error).__name__) from error

    async def _wait_for_vifs(self, instance: Instance, waiters: list[defer.Deferred],
                             timeout: int) -> None:
        done: defer.Deferred = defer.Deferred()
        timed_out = object()

        def finish(result: Any) -> None:
            if not done.called:
                done.callback(result)

        defer.gatherResults(waiters, consumeErrors=True).addBoth(finish)
        timer = self.mgr.reactor.callLater(timeout, finish, timed_out)
        results = await done
        if timer.active():
            timer.cancel()
        if results is timed_out:
            self.vif_events.forget(instance.uuid)
            if self.mgr.conf.vif_plugging_is_fatal:
                LOG.warning("Timeout waiting for network-vif-plugged for instance %s",
                            instance.uuid)
                raise BuildAbortException(
                    instance_uuid=instance.uuid,
                    reason="Failed to allocate the network(s), not rescheduling."
                ) from common.VirtualInterfaceCreateException()
            LOG.warning("Timeout waiting for vif plugging events for instance %s; "
                        "continuing (vif_plugging_is_fatal is off)", instance.uuid)
            return
        if any(status == "failed" for status in results) and \
                self.mgr.conf.vif_plugging_is_fatal:
            raise BuildAbortException(
                instance_uuid=instance.uuid,
                reason="Failed to allocate the network(s), not rescheduling.")

    async def _destroy_guest(self, ctxt: Any, instance: Instance,
                             network_info: list[dict[str, Any]], disks: dict[str, Any]
                             ) -> None:
        try:
            await self.mgr.driver.destroy(ctxt, instance, network_info,
                                          block_device_info=disks)
        except Exception:
            LOG.exception("Failed to destroy the guest of instance %s after a failed "
                          "spawn", instance.uuid)


def _utcnow() -> Any:
    import datetime

    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
