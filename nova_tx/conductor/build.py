"""The super conductor's build of new servers (Nova's
``ComputeTaskManager.schedule_and_build_instances``).

The API recorded each new server as a build request, a request spec and an instance
mapping without a cell, then cast here. For one such request:

1. the scheduler chooses (and claims in Placement) a host per instance, with the
   alternates the compute's reschedules use;
2. per instance: the instance is created in the chosen host's cell (with its block
   device mappings and tags, in the availability zone of the host), its mapping points
   at that cell, the build request is deleted, and the chosen compute is cast
   ``build_and_run_instance`` with the alternates;
3. when the scheduler finds no host, each instance is "buried" in cell0: created there
   in ERROR with a fault saying why, its mapping pointing at cell0, its build request
   deleted — the API shows it as ERROR and it can be deleted like any server.

A server deleted while it was being scheduled (its build request gone) is not built:
its instance is removed again and its allocations in Placement are deleted.
"""
from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from typing import Any

from nova_tx import exception
from nova_tx.bus.rpc import Target
from nova_tx.compute import states
from nova_tx.db.api import build_requests as build_request_db
from nova_tx.db.api import cell_mappings, host_mappings, instance_mappings
from nova_tx.db.api import request_specs as request_spec_db
from nova_tx.db.main import block_device_mappings, instances
from nova_tx.objects.build_request import BuildRequest
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping
from nova_tx.objects.instance import InstanceFault
from nova_tx.objects.request_spec import RequestSpec, unwrap
from nova_tx.objects.selection import Selection

LOG = logging.getLogger(__name__)


def _build_request(primitive: Any) -> BuildRequest:
    if isinstance(primitive, BuildRequest):
        return primitive
    from nova_tx.objects.instance import Instance

    data = unwrap(primitive)
    bdms = data.get("block_device_mappings") or {}
    return BuildRequest(
        instance_uuid=data["instance_uuid"], project_id=data["project_id"],
        instance=Instance.from_primitive(data["instance"]),
        block_device_mappings=[dict(unwrap(b)) for b in unwrap(bdms).get("objects", [])]
        if bdms else [],
        tags=list(data.get("tags") or []) if isinstance(data.get("tags"), list) else [
            unwrap(t)["tag"] for t in unwrap(data.get("tags") or {}).get("objects", [])])


class ComputeTaskManager:
    """The ``compute_task`` namespace of the conductor's RPC API. Version history
    (Nova's): 1.17 schedule_and_build_instances with tags."""

    target = Target(namespace="compute_task", version="1.25")

    def __init__(self, conf: Any, *, api_pool: Any, cells: Any, scheduler: Any,
                 compute: Any, placement: Any = None):
        self.conf = conf
        self.api_pool = api_pool
        #: ``nova_tx.db.cells.CellEngines``: an Engine per cell database URL.
        self.cells = cells
        #: ``select_destinations(ctxt, spec, instance_uuids, return_alternates=True)``
        #: giving Selections (``SchedulerAPI`` or the in-process ``LocalScheduler``).
        self.scheduler = scheduler
        #: ``build_and_run_instance(ctxt, instance, host, ...)`` with Nova's arguments.
        self.compute = compute
        self.placement = placement

    # -- the RPC method ---------------------------------------------------------------

    async def schedule_and_build_instances(self, context: Any, build_requests: Sequence[Any],
                                           request_specs: Sequence[Any], image: Any,
                                           admin_password: str | None, injected_files: Any,
                                           requested_networks: Any,
                                           block_device_mapping: Any,
                                           tags: Any = None) -> None:
        if self.api_pool is None:
            LOG.error("This conductor has no API database ([api_database] connection): "
                      "it cannot build servers; run the super conductor with one")
            return
        requests = [_build_request(b) for b in build_requests]
        specs = [s if isinstance(s, RequestSpec) else RequestSpec.from_primitive(s)
                 for s in request_specs]
        uuids = [b.instance_uuid for b in requests]
        LOG.debug("Scheduling and building instances %s", uuids)
        try:
            host_lists = await self.scheduler.select_destinations(
                context, specs[0], uuids, return_alternates=True)
        except (exception.NoValidHost, exception.RequestFilterFailed) as error:
            LOG.warning("Failed to schedule instances %s: %s", uuids, error)
            for build_request in requests:
                await self._bury_in_cell0(build_request, error)
            return
        except Exception as error:  # the scheduler is unreachable or failed
            LOG.exception("The scheduler failed for instances %s", uuids)
            for build_request in requests:
                await self._bury_in_cell0(build_request, error)
            return
        spec_for = {s.instance_uuid: s for s in specs}
        for build_request, host_list in zip(requests, host_lists, strict=True):
            spec = spec_for.get(build_request.instance_uuid, specs[0])
            await self._build_one(context, build_request, spec, host_list, image,
                                  admin_password, injected_files, requested_networks)

    async def build_instances(self, context: Any, instances: Sequence[Any], image: Any,
                              filter_properties: Any, admin_password: str | None,
                              injected_files: Any, requested_networks: Any,
                              security_groups: Any, block_device_mapping: Any = None,
                              legacy_bdm: bool = True, request_spec: Any = None,
                              host_lists: Any = None) -> None:
        """A compute's reschedule (Nova 1.19): each instance goes to the next of its
        alternates whose allocation request Placement accepts, without asking the
        scheduler again; with no alternate left the instance is ERROR with
        MaxRetriesExceeded. Computes that send no alternates (``host_lists`` None)
        get a new choice from the scheduler, the hosts already tried ignored."""
        from nova_tx.objects.instance import Instance

        if self.api_pool is None:
            LOG.error("This conductor has no API database ([api_database] connection): "
                      "it cannot reschedule builds")
            return
        found = [i if isinstance(i, Instance) else Instance.from_primitive(i)
                 for i in instances]
        spec = (request_spec if isinstance(request_spec, RequestSpec) or request_spec is None
                else RequestSpec.from_primitive(request_spec))
        properties = dict(filter_properties or {})
        if host_lists is None:
            host_lists = await self._choose_again(context, found, spec, properties)
            if host_lists is None:
                return
        for instance, host_list in zip(found, host_lists, strict=True):
            selections = [s if isinstance(s, Selection) else Selection.from_primitive(s)
                          for s in host_list]
            chosen = await self._claim_alternate(instance, selections)
            if chosen is None:
                await self._set_error(instance.uuid, exception.MaxRetriesExceeded(
                    reason=f"Exhausted all hosts available for retrying build failures "
                    f"for instance {instance.uuid}."))
                continue
            remaining = selections[selections.index(chosen):]
            retry = dict(properties.get("retry") or {})
            retry["num_attempts"] = int(retry.get("num_attempts", 1)) + 1
            retry["hosts"] = [*retry.get("hosts", []), [chosen.service_host, chosen.nodename]]
            await self.compute.build_and_run_instance(
                context, instance=instance, host=chosen.service_host, image=image,
                request_spec=spec, filter_properties={
                    **properties, "retry": retry,
                    "limits": {} if chosen.limits is None else chosen.limits.to_dict()},
                admin_password=admin_password, injected_files=injected_files,
                requested_networks=requested_networks, security_groups=security_groups,
                block_device_mapping=block_device_mapping, node=chosen.nodename,
                limits=chosen.limits, host_list=remaining, accel_uuids=[])
            LOG.info("Instance %s rescheduled to %s (attempt %d)", instance.uuid,
                     chosen.service_host, retry["num_attempts"])

    async def _choose_again(self, context: Any, instances: list[Any], spec: Any,
                            properties: dict[str, Any]) -> list[list[Selection]] | None:
        if spec is None:
            for instance in instances:
                await self._set_error(instance.uuid, exception.MaxRetriesExceeded(
                    reason="No request spec to schedule the instance again."))
            return None
        tried = [h[0] for h in (properties.get("retry") or {}).get("hosts", [])]
        spec.ignore_hosts = sorted({*(spec.ignore_hosts or []), *tried})
        try:
            return await self.scheduler.select_destinations(
                context, spec, [i.uuid for i in instances], return_alternates=True)
        except exception.NoValidHost as error:
            for instance in instances:
                await self._set_error(instance.uuid, error)
            return None

    async def _claim_alternate(self, instance: Any, selections: list[Selection]
                               ) -> Selection | None:
        """The first alternate claimed in Placement (one without an allocation request
        needs no claim)."""
        for selection in selections:
            if selection.allocation_request is None or self.placement is None:
                return selection
            body = {"allocations": selection.allocations,
                    "project_id": instance.project_id, "user_id": instance.user_id,
                    "consumer_generation": None}
            try:
                response = await self.placement.put(f"/allocations/{instance.uuid}", body,
                                                    version="1.36")
            except Exception:
                LOG.exception("Placement could not be reached to claim %s on %s",
                              instance.uuid, selection.service_host)
                continue
            if response.status_code == 204:
                return selection
            LOG.info("The alternate %s of instance %s could not be claimed: %s",
                     selection.service_host, instance.uuid, response.text)
        return None

    async def _set_error(self, instance_uuid: str, error: Exception) -> None:
        """The instance (in its cell) in ERROR with a fault, its allocations deleted."""
        message = (error.format_message() if isinstance(error, exception.NovaException)
                   else str(error))
        code = int(getattr(error, "code", 500) or 500)

        def set_error(api_conn: Any) -> None:
            mapping = instance_mappings.get_by_instance_uuid(api_conn, instance_uuid,
                                                             base_urls=self._base_urls())
            cell = mapping.cell_mapping
            with self.cells.engine(cell.database_connection).begin() as cell_conn:
                instances.update(cell_conn, instance_uuid, {
                    "vm_state": states.ERROR, "task_state": None, "host": None,
                    "node": None})
                instances.add_fault(cell_conn, InstanceFault(
                    instance_uuid=instance_uuid, code=code, message=message[:255],
                    host=self.conf.host))

        await self._delete_allocations(instance_uuid)
        try:
            await self.api_pool.do(set_error)
        except exception.NotFound:
            LOG.info("Instance %s was deleted before it could be put in ERROR",
                     instance_uuid)

    # -- one instance ------------------------------------------------------------------

    async def _build_one(self, context: Any, build_request: BuildRequest,
                         spec: RequestSpec, host_list: list[Selection], image: Any,
                         admin_password: str | None, injected_files: Any,
                         requested_networks: Any) -> None:
        chosen = host_list[0]
        uuid = build_request.instance_uuid
        try:
            instance, cell = await self.api_pool.do(
                lambda conn: self._create_in_cell(conn, build_request, chosen))
        except exception.HostMappingNotFound as error:
            LOG.error("Host %s is not mapped to a cell (nova-manage cell_v2 "
                      "discover_hosts); instance %s is put in ERROR",
                      chosen.service_host, uuid)
            await self._delete_allocations(uuid)
            await self._bury_in_cell0(build_request, error)
            return
        except exception.BuildRequestNotFound:
            LOG.info("Instance %s was deleted while it was scheduled; not building it",
                     uuid)
            await self._delete_allocations(uuid)
            return
        spec.instance_uuid = uuid
        await self.compute.build_and_run_instance(
            context, instance=instance, host=chosen.service_host, image=image,
            request_spec=spec, filter_properties=_filter_properties(spec, chosen),
            admin_password=admin_password, injected_files=injected_files,
            requested_networks=requested_networks,
            security_groups=list(instance.security_groups or []),
            block_device_mapping=build_request.block_device_mappings,
            node=chosen.nodename, limits=chosen.limits, host_list=host_list,
            accel_uuids=[])
        LOG.debug("Instance %s cast to %s (cell %s)", uuid, chosen.service_host, cell.uuid)

    def _base_urls(self) -> BaseUrls:
        return BaseUrls.from_conf(self.conf)

    def _create_in_cell(self, api_conn: Any, build_request: BuildRequest,
                        chosen: Selection) -> tuple[Any, CellMapping]:
        """(In a database thread.) The instance created in the chosen host's cell, its
        mapping pointing there, its build request deleted. A build request that is gone
        (the server was deleted meanwhile) removes the new instance again."""
        uuid = build_request.instance_uuid
        mapping = host_mappings.get_by_host(api_conn, chosen.service_host,
                                            base_urls=self._base_urls())
        cell = mapping.cell_mapping
        # Still wanted? (The API deletes the build request of a server deleted now.)
        build_request_db.get_by_instance_uuid(api_conn, uuid)
        zone = _host_zone(api_conn, self.conf, chosen.service_host)
        instance = build_request.instance.replace(
            availability_zone=zone, cell_name=cell.name,
            vm_state=states.BUILDING, task_state=states.SCHEDULING)
        with self.cells.engine(cell.database_connection).begin() as cell_conn:
            created = instances.create(cell_conn, instance)
            block_device_mappings.create_all(cell_conn, uuid,
                                             build_request.block_device_mappings)
        instance_mappings.set_cell(api_conn, uuid, cell)
        try:
            build_request_db.destroy(api_conn, uuid)
        except exception.BuildRequestNotFound:
            with self.cells.engine(cell.database_connection).begin() as cell_conn:
                instances.destroy(cell_conn, uuid, hard_delete=True)
            raise
        return created, cell

    async def _bury_in_cell0(self, build_request: BuildRequest, error: Exception) -> None:
        """The instance created in cell0 in ERROR with a fault, mapped there, its build
        request deleted (Nova's ``_bury_in_cell0``)."""
        uuid = build_request.instance_uuid
        message = (error.format_message() if isinstance(error, exception.NovaException)
                   else str(error))
        code = getattr(error, "code", 500) if isinstance(error, exception.NovaException) \
            else 500
        details = "".join(traceback.format_exception(error)) if code == 500 else None

        def bury(api_conn: Any) -> None:
            cell0 = cell_mappings.get_by_uuid(api_conn, CellMapping.CELL0_UUID,
                                              base_urls=self._base_urls())
            instance = build_request.instance.replace(
                vm_state=states.ERROR, task_state=None, cell_name=cell0.name)
            with self.cells.engine(cell0.database_connection).begin() as cell_conn:
                instances.create(cell_conn, instance)
                block_device_mappings.create_all(cell_conn, uuid,
                                                 build_request.block_device_mappings)
                instances.add_fault(cell_conn, InstanceFault(
                    instance_uuid=uuid, code=int(code), message=message[:255],
                    details=details, host=self.conf.host))
            instance_mappings.set_cell(api_conn, uuid, cell0)
            try:
                build_request_db.destroy(api_conn, uuid)
            except exception.BuildRequestNotFound:
                # Deleted while it was scheduled: nothing should remain in cell0.
                with self.cells.engine(cell0.database_connection).begin() as cell_conn:
                    instances.destroy(cell_conn, uuid, hard_delete=True)
                instance_mappings.destroy(api_conn, uuid)
                request_spec_db.destroy(api_conn, uuid)

        try:
            await self.api_pool.do(bury)
        except Exception:
            LOG.exception("Instance %s could not be put in cell0 in ERROR", uuid)

    async def _delete_allocations(self, instance_uuid: str) -> None:
        if self.placement is None:
            return
        try:
            response = await self.placement.delete(f"/allocations/{instance_uuid}")
        except Exception:
            LOG.exception("Unable to delete the allocations of %s", instance_uuid)
            return
        if response.status_code not in (204, 404):
            LOG.error("Unable to delete the allocations of %s: %s %s", instance_uuid,
                      response.status_code, response.text)


def _host_zone(api_conn: Any, conf: Any, host: str) -> str | None:
    """The availability zone of a compute host: its aggregates' ``availability_zone``,
    else ``[DEFAULT] default_availability_zone``."""
    from nova_tx.availability_zones import az_metadata_by_host

    zones = az_metadata_by_host(api_conn, [host]).get(host)
    if zones:
        # A host is in one zone (the API refuses a second); sorted for a stable answer.
        return ", ".join(sorted(zones))
    return getattr(conf, "default_availability_zone", None)


def _filter_properties(spec: RequestSpec, chosen: Selection) -> dict[str, Any]:
    """The legacy filter properties the compute still reads (retry and limits)."""
    return {"retry": {"num_attempts": 1, "hosts": [[chosen.service_host, chosen.nodename]]},
            "limits": {} if chosen.limits is None else chosen.limits.to_dict(),
            "scheduler_hints": dict(spec.scheduler_hints or {})}


class LocalScheduler:
    """The scheduler in the same process (the all-in-one, tests): the
    ``SchedulerAPI.select_destinations`` call without the bus."""

    def __init__(self, scheduler: Any):
        self.scheduler = scheduler

    async def select_destinations(self, ctxt: Any, spec: RequestSpec,
                                  instance_uuids: Sequence[str], *,
                                  return_alternates: bool = False) -> list[list[Selection]]:
        return await self.scheduler.select(ctxt, spec, instance_uuids,
                                           return_alternates=return_alternates)
