"""Reading, changing and deleting servers across cells (the read and update half of
Nova's ``compute/api.py``; creating them is ``nova_tx.compute.servers_create``).

Where a server is comes from the API database: its instance mapping names its cell;
a mapping without a cell means the server is still a build request there (status
BUILD) until the conductor schedules it. Every method runs its database work in a
thread of the API database's pool, opening the cell databases it needs from there
(``nova_tx.db.cells.CellEngines``), so the reactor never waits on a database.

Lists merge the build requests (first, as Nova lists them) with the instances of every
cell, each cell queried with the same filters, order and marker values and the pages
merged in that order; a cell that cannot be read is left out, as Nova leaves out down
cells.
"""
from __future__ import annotations

import dataclasses
import datetime
import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from twisted.internet import defer

from nova_tx import exception, log
from nova_tx.compute import states
from nova_tx.db.api import (
    build_requests,
    cell_mappings,
    flavors,
    instance_groups,
    instance_mappings,
    request_specs,
)
from nova_tx.db.api import models as api_models
from nova_tx.db.cells import CellEngines
from nova_tx.db.main import block_device_mappings, instance_actions, instances
from nova_tx.db.main import models as cell_models
from nova_tx.db.types import utcnow
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping
from nova_tx.objects.instance import Instance
from nova_tx.objects.instance_action import InstanceAction, InstanceActionEvent
from nova_tx.objects.service import Service

LOG = log.getLogger(__name__)

#: What the server views read of an instance.
SHOW_ATTRS = ("metadata", "system_metadata", "info_cache", "security_groups", "flavor",
              "fault", "tags", "trusted_certs")
#: The states in which metadata and tags may change (Nova's check_instance_state).
MUTABLE_STATES = (states.ACTIVE, states.PAUSED, states.SUSPENDED, states.STOPPED)
#: Host status values (Nova's ``fields.HostStatus``); NONE is shown as "".
HOST_UP, HOST_DOWN, HOST_MAINTENANCE, HOST_UNKNOWN, HOST_NONE = (
    "UP", "DOWN", "MAINTENANCE", "UNKNOWN", "")

bdm_table = cell_models.BlockDeviceMapping.__table__
mapping_table = api_models.InstanceMapping.__table__
services_table = cell_models.Service.__table__


@dataclasses.dataclass
class Located:
    """A server and where it is: ``cell`` None while it is only a build request."""

    instance: Instance
    cell: CellMapping | None
    #: The cell could not be read: the instance is what the API database knows
    #: (its mapping and request spec), shown as Nova's 2.69 minimal construct.
    down: bool = False

    @property
    def is_build_request(self) -> bool:
        return self.cell is None


@dataclasses.dataclass
class ViewExtras:
    """What a server view shows beside the instance (read in its cell and the API
    database): zone, volumes, server groups and the compute host's status."""

    availability_zone: str | None = None
    volumes: list[tuple[str, bool]] = dataclasses.field(default_factory=list)
    server_groups: list[str] = dataclasses.field(default_factory=list)
    host_status: str = HOST_NONE


def _option(conf, name: str, default: Any, group: str | None = None) -> Any:
    try:
        return getattr(getattr(conf, group) if group else conf, name)
    except Exception:  # not registered in this process
        return default


def instance_name(conf, instance: Instance) -> str:
    """Nova's ``instance.name``: ``[DEFAULT] instance_name_template`` of the id, or ""
    before the instance has one (it is still being scheduled)."""
    if instance.id is None:
        return ""
    template = _option(conf, "instance_name_template", "instance-%08x")
    try:
        return template % instance.id
    except TypeError:
        try:
            return template % dataclasses.asdict(instance)
        except (KeyError, TypeError):
            return instance.uuid


def check_not_locked(context, instance: Instance) -> None:
    """Nova's ``check_instance_lock``: a locked server changes only for admins."""
    if instance.locked and not context.is_admin:
        raise exception.InstanceIsLocked(instance_uuid=instance.uuid)


def check_state(instance: Instance, method: str, vm_states: Sequence[str] | None = None,
                task_states: Sequence[str | None] | None = (None,)) -> None:
    """Nova's ``check_instance_state``: InstanceInvalidState outside these states."""
    if vm_states is not None and instance.vm_state not in vm_states:
        raise exception.InstanceInvalidState(
            attr="vm_state", instance_uuid=instance.uuid, state=instance.vm_state,
            method=method)
    if task_states is not None and instance.task_state not in task_states:
        raise exception.InstanceInvalidState(
            attr="task_state", instance_uuid=instance.uuid, state=instance.task_state,
            method=method)


class ServersAPI:
    """``api_db``: the API database's DBThreadPool; ``cells``: the CellEngines;
    ``quota``: the QuotaEngine (metadata items); ``compute_rpcapi``: what casts
    ``terminate_instance`` to a compute host (None until the compute service exists:
    a server on a host then stays in task state ``deleting``); ``notifier``: the
    ``nova_tx.notifications.instance.InstanceNotifier`` of ``instance.update``;
    ``network``: the network port (``nova_tx.network.api.INetworkAPI``) whose ports a
    local delete releases; ``placement``: the placement client
    (``nova_tx.placement.client.IPlacementClient``) whose allocations it deletes."""

    def __init__(self, api_db, cells: CellEngines, conf, *, quota=None,
                 compute_rpcapi=None, notifier=None, network=None, placement=None):
        self.api_db = api_db
        self.cells = cells
        self.conf = conf
        self.quota = quota
        self.compute_rpcapi = compute_rpcapi
        self.notifier = notifier
        self.network = network
        self.placement = placement

    def _send_update(self, context, old: Instance, new: Instance) -> None:
        if self.notifier is not None:
            self.notifier.send_update(context, old, new)

    def send_instance_update(self, context, instance: Instance, service: str) -> None:
        """The ``instance.update`` the server tags API sends after a change."""
        if self.notifier is not None:
            self.notifier.send_instance_update_notification(context, instance,
                                                            service=service)

    # -- where things are (in a pool thread) ----------------------------------------

    def _base_urls(self) -> BaseUrls | None:
        try:
            return BaseUrls.from_conf(self.conf)
        except Exception:  # the options are not registered in this process
            return None

    def _in_cell(self, cell: CellMapping, fn, *args, **kwargs):
        with self.cells.engine(cell.database_connection).begin() as conn:
            return fn(conn, *args, **kwargs)

    def _mapping(self, api_conn: sa.Connection, instance_uuid: str):
        try:
            return instance_mappings.get_by_instance_uuid(api_conn, instance_uuid,
                                                          base_urls=self._base_urls())
        except exception.InstanceMappingNotFound:
            raise exception.InstanceNotFound(instance_id=instance_uuid) from None

    def _locate(self, api_conn: sa.Connection, instance_uuid: str,
                expected_attrs: Iterable[str] = SHOW_ATTRS, read_deleted: str = "no",
                cell_down_support: bool = False) -> Located:
        mapping = self._mapping(api_conn, instance_uuid)
        if mapping.cell_mapping is None:
            try:
                build_request = build_requests.get_by_instance_uuid(api_conn, instance_uuid)
                return Located(build_request.instance, None)
            except exception.BuildRequestNotFound:
                # The conductor may have just put it in a cell.
                mapping = self._mapping(api_conn, instance_uuid)
                if mapping.cell_mapping is None:
                    raise exception.InstanceNotFound(instance_id=instance_uuid) from None
        cell = mapping.cell_mapping
        try:
            instance = self._in_cell(cell, instances.get, instance_uuid,
                                     expected_attrs=expected_attrs,
                                     read_deleted=read_deleted)
        except exception.InstanceNotFound:
            raise
        except sa.exc.SQLAlchemyError as e:
            LOG.warning("Cell %s did not answer: %s", cell.identity, e)
            if not cell_down_support:
                raise exception.NovaException(
                    "Cell %s is not responding or returned an exception, hence instance "
                    "info is not available." % cell.uuid) from None
            return self._from_down_cell(api_conn, mapping)
        return Located(instance, cell)

    @staticmethod
    def _from_down_cell(api_conn: sa.Connection, mapping) -> Located:
        """What the API database knows of an instance in a cell that does not answer
        (Nova's 2.69 construct): its mapping and its request spec."""
        try:
            spec = request_specs.get_by_instance_uuid(api_conn, mapping.instance_uuid)
        except exception.RequestSpecNotFound:
            raise exception.InstanceNotFound(instance_id=mapping.instance_uuid) from None
        created = api_conn.execute(
            sa.select(mapping_table.c.created_at)
            .where(mapping_table.c.instance_uuid == mapping.instance_uuid)).scalar()
        image_ref = spec.image.id if spec.image is not None else None
        return Located(Instance(
            uuid=mapping.instance_uuid, project_id=mapping.project_id,
            user_id=spec.user_id, created_at=created, flavor=spec.flavor,
            image_ref=image_ref, availability_zone=spec.availability_zone,
            power_state=0), mapping.cell_mapping, down=True)

    # -- read -------------------------------------------------------------------------

    async def get(self, context, instance_uuid: str, *,
                  expected_attrs: Iterable[str] = SHOW_ATTRS, read_deleted: str = "no",
                  cell_down_support: bool = False) -> Located:
        """The server ``instance_uuid`` (InstanceNotFound when there is none). When
        its cell does not answer: the 2.69 construct with ``cell_down_support``, else
        a NovaException (500, as Nova)."""
        return await self.api_db.do(self._locate, instance_uuid, tuple(expected_attrs),
                                    read_deleted, cell_down_support)

    async def get_all(self, context, filters: Mapping[str, Any], *,
                      limit: int | None = None, marker: str | None = None,
                      sort_keys: Sequence[str] | None = None,
                      sort_dirs: Sequence[str] | None = None,
                      expected_attrs: Iterable[str] = (),
                      cell_down_support: bool = False,
                      down_cell_project: str | None = None) -> list[Located]:
        """The servers passing ``filters`` (Nova's names: ``display_name``,
        ``image_ref``, ``flavor`` as a flavor id, ...), build requests first.

        A cell that does not answer is left out, unless ``cell_down_support`` (2.69):
        then the instances mapped there (of ``down_cell_project``, None: all) come
        first as minimal constructs. With ``[api] list_records_by_skipping_down_cells``
        false, a cell that does not answer fails the list (as Nova). MarkerNotFound
        when no server has the uuid ``marker``.
        """
        return await self.api_db.do(self._get_all, dict(filters), limit, marker,
                                    list(sort_keys or ()), list(sort_dirs or ()),
                                    tuple(expected_attrs), cell_down_support,
                                    down_cell_project)

    def _get_all(self, api_conn: sa.Connection, filters: dict[str, Any],
                 limit: int | None, marker: str | None, sort_keys: list[str],
                 sort_dirs: list[str], expected_attrs: tuple[str, ...],
                 cell_down_support: bool = False, down_cell_project: str | None = None
                 ) -> list[Located]:
        if "flavor" in filters:
            try:
                flavor = flavors.get_by_flavorid(api_conn, str(filters.pop("flavor")))
            except exception.FlavorNotFound:
                return []
            filters["instance_type_id"] = flavor.id
        keys, dirs = instances.process_sort_params(sort_keys, sort_dirs)
        instances.validate_filters(filters, keys)
        try:
            found_requests = build_requests.get_by_filters(
                api_conn, filters, limit=limit, marker=marker, sort_keys=keys,
                sort_dirs=dirs)
            marker = None
        except exception.MarkerNotFound:
            found_requests = []
        from_requests = [Located(b.instance, None) for b in found_requests]
        remaining = limit - len(from_requests) if limit else limit
        if remaining == 0 and limit:
            return from_requests
        after = None
        if marker is not None:
            after = self._marker_values(api_conn, marker, keys)
        cells = {cell.uuid: cell
                 for cell in cell_mappings.get_all(api_conn, base_urls=self._base_urls())}
        pages, down = self._scatter(
            cells.values(), instances.get_all_by_filters_sort, filters, limit=remaining,
            after=after, sort_keys=keys, sort_dirs=dirs, expected_attrs=expected_attrs)
        if down and not cell_down_support and not _option(
                self.conf, "list_records_by_skipping_down_cells", True, group="api"):
            raise exception.NovaException(
                "Cell %s is not responding but configuration indicates that we should "
                "fail." % down[0].uuid)
        merged = list(heapq.merge(
            *([Located(i, cells[cell_uuid]) for i in page]
              for cell_uuid, page in pages.items()),
            key=lambda item: instances.sort_value(item.instance, keys, dirs)))
        if remaining is not None:
            merged = merged[:remaining]
        in_cells = {item.instance.uuid for item in merged}
        found = [item for item in from_requests if item.instance.uuid not in in_cells]
        found += merged
        if cell_down_support and down:
            rest = limit - len(found) if limit else None
            found = self._down_cell_constructs(api_conn, down, down_cell_project,
                                               rest) + found
        return found

    def _scatter(self, cells: Iterable[CellMapping], fn, *args, **kwargs
                 ) -> tuple[dict[str, Any], list[CellMapping]]:
        """({cell uuid: fn(cell_conn, ...)}, the cells that did not answer)."""
        results: dict[str, Any] = {}
        down: list[CellMapping] = []
        for cell in cells:
            if not cell.database_connection:
                continue
            try:
                with self.cells.engine(cell.database_connection).connect() as conn:
                    results[cell.uuid] = fn(conn, *args, **kwargs)
            except sa.exc.SQLAlchemyError as e:
                LOG.warning("Cell %s is not responding and hence only partial results "
                            "are available from this cell if any: %s", cell.identity, e)
                down.append(cell)
        return results, down

    @staticmethod
    def _down_cell_constructs(api_conn: sa.Connection, down: list[CellMapping],
                              project_id: str | None, limit: int | None
                              ) -> list[Located]:
        """Nova's ``_generate_minimal_construct_for_down_cells``: the instances mapped
        to the cells that did not answer and not queued for delete."""
        found: list[Located] = []
        for cell in down:
            stmt = (sa.select(mapping_table.c.instance_uuid, mapping_table.c.project_id,
                              mapping_table.c.user_id, mapping_table.c.created_at)
                    .where(mapping_table.c.cell_id == cell.id,
                           sa.or_(mapping_table.c.queued_for_delete == sa.false(),
                                  mapping_table.c.queued_for_delete.is_(None)))
                    .order_by(mapping_table.c.id))
            if project_id is not None:
                stmt = stmt.where(mapping_table.c.project_id == project_id)
            if limit is not None:
                stmt = stmt.limit(limit - len(found))
            for row in api_conn.execute(stmt):
                found.append(Located(Instance(uuid=row.instance_uuid,
                                              project_id=row.project_id,
                                              user_id=row.user_id,
                                              created_at=row.created_at), cell, down=True))
            if limit is not None and len(found) >= limit:
                break
        return found

    def _marker_values(self, api_conn: sa.Connection, marker: str, keys: list[str]
                       ) -> dict[str, Any]:
        try:
            mapping = instance_mappings.get_by_instance_uuid(api_conn, marker,
                                                             base_urls=self._base_urls())
        except exception.InstanceMappingNotFound:
            raise exception.MarkerNotFound(marker=marker) from None
        if mapping.cell_mapping is None:
            raise exception.MarkerNotFound(marker=marker)
        return self._in_cell(mapping.cell_mapping, instances.get_sort_values, marker, keys)

    async def view_extras(self, context, located: Sequence[Located], *,
                          host_status: bool = False, server_groups: bool = False
                          ) -> dict[str, ViewExtras]:
        """uuid -> ViewExtras of each server (one pool call for the page)."""
        return await self.api_db.do(self._view_extras, list(located), host_status,
                                    server_groups)

    def _view_extras(self, api_conn: sa.Connection, located: list[Located],
                     host_status: bool, server_groups: bool) -> dict[str, ViewExtras]:
        from nova_tx.availability_zones import az_metadata_by_host

        extras = {item.instance.uuid: ViewExtras() for item in located}
        hosts = {item.instance.host for item in located if item.instance.host}
        zones = az_metadata_by_host(api_conn, hosts) if hosts else {}
        default_zone = _option(self.conf, "default_availability_zone", "nova")
        by_cell: dict[str, tuple[CellMapping, list[Instance]]] = {}
        for item in located:
            instance = item.instance
            extra = extras[instance.uuid]
            if instance.host:
                found = zones.get(instance.host)
                extra.availability_zone = ",".join(sorted(found)) if found else default_zone
            else:
                extra.availability_zone = instance.availability_zone
            if item.cell is not None and not item.down:
                by_cell.setdefault(item.cell.uuid, (item.cell, []))[1].append(instance)
            if server_groups:
                try:
                    group = instance_groups.get_by_instance_uuid(api_conn, instance.uuid)
                    extra.server_groups = [group.uuid]
                except exception.InstanceGroupNotFound:
                    pass
        for cell, members in by_cell.values():
            try:
                self._in_cell(cell, self._cell_extras, members, extras, host_status)
            except Exception as e:  # a cell that cannot be read: no volumes, UNKNOWN
                LOG.warning("Cell %s did not answer: %s", cell.identity, e)
                for instance in members:
                    if host_status and instance.host:
                        extras[instance.uuid].host_status = HOST_UNKNOWN
        return extras

    def _cell_extras(self, conn: sa.Connection, members: list[Instance],
                     extras: dict[str, ViewExtras], host_status: bool) -> None:
        uuids = [i.uuid for i in members]
        for row in conn.execute(
                sa.select(bdm_table.c.instance_uuid, bdm_table.c.volume_id,
                          bdm_table.c.delete_on_termination)
                .where(bdm_table.c.instance_uuid.in_(uuids), bdm_table.c.deleted == 0,
                       bdm_table.c.volume_id.isnot(None))
                .order_by(bdm_table.c.id)):
            extras[row.instance_uuid].volumes.append(
                (row.volume_id, bool(row.delete_on_termination)))
        if host_status:
            for instance in members:
                if instance.host:
                    extras[instance.uuid].host_status = self._host_status(
                        conn, instance.host)

    def _compute_service(self, conn: sa.Connection, host: str) -> Service | None:
        row = conn.execute(sa.select(services_table).where(
            services_table.c.host == host, services_table.c.binary == "nova-compute",
            services_table.c.deleted == 0)).first()
        if row is None:
            return None
        return Service(id=row.id, uuid=row.uuid, host=row.host, binary=row.binary,
                       topic=row.topic, disabled=bool(row.disabled),
                       forced_down=bool(row.forced_down), last_seen_up=row.last_seen_up,
                       created_at=row.created_at, updated_at=row.updated_at)

    def _service_is_up(self, service: Service) -> bool:
        from nova_tx.servicegroup.api import service_is_up

        try:
            return service_is_up(service, utcnow(), self.conf)
        except Exception:  # [DEFAULT] service_down_time not registered: Nova's 60 s
            last = service.last_seen_up or service.created_at
            return (not service.forced_down and last is not None
                    and abs((utcnow() - last).total_seconds()) <= 60)

    def _host_status(self, conn: sa.Connection, host: str) -> str:
        """Nova's ``get_instance_host_status``."""
        service = self._compute_service(conn, host)
        if service is None:
            return HOST_NONE
        if service.forced_down:
            return HOST_DOWN
        if service.disabled:
            return HOST_MAINTENANCE
        return HOST_UP if self._service_is_up(service) else HOST_UNKNOWN

    # -- update -----------------------------------------------------------------------

    async def update_instance(self, context, instance_uuid: str,
                              updates: Mapping[str, Any]) -> Located:
        """Change a server's fields: in its cell, or in its build request while it
        has none (Nova's ``update_instance``)."""
        before, after = await self.api_db.do(self._update_instance, instance_uuid,
                                             dict(updates))
        if after.cell is not None:
            self._send_update(context, before.instance, after.instance)
        return after

    def _update_instance(self, api_conn: sa.Connection, instance_uuid: str,
                         updates: dict[str, Any]) -> tuple[Located, Located]:
        located = self._locate(api_conn, instance_uuid)
        if located.cell is None:
            changed = located.instance.replace(**updates)
            build_requests.save_instance(api_conn, instance_uuid, changed)
            return located, self._locate(api_conn, instance_uuid)
        instance = self._in_cell(located.cell, instances.update, instance_uuid, updates,
                                 expected_attrs=SHOW_ATTRS)
        return located, Located(instance, located.cell)

    # -- delete -----------------------------------------------------------------------

    async def delete(self, context, located: Located, *, force: bool = False) -> None:
        """Delete a server as Nova's ``compute.api.API.delete``.

        A build request is removed on the spot with its request spec and instance
        mapping (the conductor then does not build it). An instance with no host,
        or whose compute service is down, is deleted here (``_local_delete``). One on
        a live host is put in task state ``deleting`` and handed to its compute
        service; ``disable_terminate`` servers are left alone, as in Nova.

        With ``[DEFAULT] reclaim_instance_interval`` a server that was launched is
        soft-deleted instead (Nova's ``soft_delete``): on a live host it goes to task
        state ``soft-deleting`` and its compute service's ``soft_delete_instance``
        (which keeps it SOFT_DELETED until the reclaim); anywhere else it is deleted
        here as above. ``force`` (Nova's ``force_delete``): never soft.
        """
        instance = located.instance
        check_not_locked(context, instance)
        if instance.disable_terminate:
            LOG.info("instance termination disabled: %s", instance.uuid)
            return
        soft = (not force and bool(_option(self.conf, "reclaim_instance_interval", 0))
                and not located.is_build_request and instance.launched_at is not None)
        outcome = await self.api_db.do(self._begin_delete, context, instance.uuid, soft)
        if outcome is None:
            return
        where, deleting, bdms = outcome
        if where == "compute":
            if soft:
                cast = getattr(self.compute_rpcapi, "soft_delete_instance", None)
                args: tuple = (context, deleting)
            else:
                cast = getattr(self.compute_rpcapi, "terminate_instance", None)
                args = (context, deleting, bdms)
            if cast is not None:
                # A cast: the compute service answers nothing, the API does not wait.
                result = cast(*args)
                if isinstance(result, defer.Deferred):
                    result.addErrback(lambda f: LOG.error(
                        "The delete of %s could not be sent to its compute host: %s",
                        instance.uuid, f.getErrorMessage()))
            return
        # Deleted here: the notifications around it come from the API, as Nova's.
        self._notify_delete(context, deleting, "start")
        released = await self._release_ports(context, deleting)
        await self._delete_allocations(context, instance.uuid)
        deleted = await self.api_db.do(self._local_delete, instance.uuid, released)
        self._notify_delete(context, deleted, "end")

    async def _delete_allocations(self, context, instance_uuid: str) -> None:
        """Nova's ``delete_allocation_for_instance(force=True)``: the server's
        allocations go before it does; AllocationDeleteFailed (409) keeps the server."""
        if self.placement is None:
            return
        try:
            response = await self.placement.delete(
                f"/allocations/{instance_uuid}",
                global_request_id=getattr(context, "global_request_id", None))
        except Exception as e:
            raise exception.AllocationDeleteFailed(consumer_uuid=instance_uuid,
                                                   error=str(e)) from None
        if response.status_code not in (204, 404):
            raise exception.AllocationDeleteFailed(consumer_uuid=instance_uuid,
                                                   error=response.text)

    async def _release_ports(self, context, instance: Instance) -> bool:
        """Delete the server's ports (keep and unbind those the user made); whether
        that was done. A network service that cannot be reached does not stop the
        delete: the ports stay for the operator (logged)."""
        if self.network is None:
            return False
        try:
            await self.network.deallocate_for_instance(
                context, instance.uuid, network_info=instance.network_info)
        except Exception as e:
            LOG.warning("The ports of deleted instance %s were not released: %s",
                        instance.uuid, e)
            return False
        return True

    def _notify_delete(self, context, instance: Instance, phase: str) -> None:
        if self.notifier is not None:
            self.notifier.notify_about_instance_delete(context, instance, phase)

    def _begin_delete(self, api_conn: sa.Connection, context, instance_uuid: str,
                      soft: bool = False) -> tuple[str, Instance, list] | None:
        """The database work of a delete up to where it goes on: ("local", the
        instance in task state ``deleting``, []) to delete it here, ("compute", it,
        its block device mappings) to hand it to its compute service, None when
        nothing is left to do. ``soft``: task state ``soft-deleting``."""
        try:
            build_requests.destroy(api_conn, instance_uuid)
        except exception.BuildRequestNotFound:
            pass
        else:
            self._forget_build_request(api_conn, instance_uuid)
            return None
        located = self._locate(api_conn, instance_uuid, expected_attrs=())
        instance, cell = located.instance, located.cell
        original_task_state = instance.task_state
        # As Nova: deleted_at is the delete's time (the reclaim of a soft delete
        # counts from it).
        deleting = self._in_cell(cell, instances.update, instance_uuid, {
            "task_state": states.SOFT_DELETING if soft else states.DELETING,
            "progress": 0, "deleted_at": utcnow()}, expected_attrs=SHOW_ATTRS)
        local = True
        if instance.host is not None:
            service = self._in_cell(cell, self._compute_service, instance.host)
            local = service is None or not self._service_is_up(service)
        if not local and original_task_state in (states.DELETING, states.SOFT_DELETING):
            LOG.info("Instance %s is already in deleting state, ignoring this request",
                     instance_uuid)
            return None
        self._in_cell(cell, self._record_action, context, instance, "delete")
        if local:
            return "local", deleting, []
        # The compute service detaches the volumes of the disks it is given.
        bdms = self._in_cell(cell, block_device_mappings.get_by_instance_uuid,
                             instance_uuid)
        return "compute", deleting, bdms

    def _local_delete(self, api_conn: sa.Connection, instance_uuid: str,
                      ports_released: bool) -> Instance:
        """Nova's ``_local_delete``: the instance is marked deleted and destroyed here,
        its volume attachments forgotten (no compute service will do it), its info
        cache emptied once its ports are gone, and its mapping queued for delete; the
        instance as deleted."""
        located = self._locate(api_conn, instance_uuid, expected_attrs=())
        if ports_released:
            self._in_cell(located.cell, instances.set_network_info, instance_uuid, [])
        self._in_cell(located.cell, self._destroy_here, located.instance)
        instance_mappings.set_queued_for_delete(api_conn, instance_uuid, True)
        return self._in_cell(located.cell, instances.get, instance_uuid,
                             expected_attrs=SHOW_ATTRS, read_deleted="yes")

    @staticmethod
    def _forget_build_request(api_conn: sa.Connection, instance_uuid: str) -> None:
        for forget, missing in ((request_specs.destroy, exception.RequestSpecNotFound),
                                (instance_mappings.destroy,
                                 exception.InstanceMappingNotFound)):
            try:
                forget(api_conn, instance_uuid)
            except missing:
                pass

    @staticmethod
    def _record_action(conn: sa.Connection, context, instance: Instance, action: str
                       ) -> None:
        instance_actions.create(conn, action=action, instance_uuid=instance.uuid,
                                request_id=context.request_id, user_id=context.user_id,
                                project_id=context.project_id)

    @staticmethod
    def _destroy_here(conn: sa.Connection, instance: Instance) -> None:
        now = utcnow()
        if instance.host is not None or instance.vm_state in (
                states.SHELVED_OFFLOADED, states.ERROR):
            instances.update(conn, instance.uuid, {
                "vm_state": states.DELETED, "task_state": None, "terminated_at": now})
        conn.execute(bdm_table.update().where(bdm_table.c.instance_uuid == instance.uuid,
                                              bdm_table.c.deleted == 0)
                     .values(deleted=bdm_table.c.id, deleted_at=now))
        instances.destroy(conn, instance.uuid)

    # -- metadata -----------------------------------------------------------------------

    async def _check_metadata_quota(self, context, project_id: str,
                                    metadata: Mapping[str, str]) -> None:
        """Nova's ``_check_metadata_properties_quota``."""
        if self.quota is not None and metadata:
            try:
                await self.quota.limit_check(context, project_id,
                                             metadata_items=len(metadata))
            except exception.OverQuota as e:
                allowed = (e.kwargs.get("quotas") or {}).get("metadata_items", 0)
                raise exception.MetadataLimitExceeded(allowed=allowed) from None
        for key, value in metadata.items():
            if not key:
                raise exception.InvalidMetadata(
                    reason="Metadata property key blank.")
            if len(key) > 255:
                raise exception.InvalidMetadataSize(
                    reason="Metadata property key greater than 255 characters")
            if len(value) > 255:
                raise exception.InvalidMetadataSize(
                    reason="Metadata property value greater than 255 characters")

    def _mutable(self, context, located: Located, method: str) -> None:
        check_not_locked(context, located.instance)
        check_state(located.instance, method, MUTABLE_STATES)
        if located.cell is None:
            # Only a build request (BUILDING) gets here past the state check.
            raise exception.InstanceInvalidState(
                attr="vm_state", instance_uuid=located.instance.uuid,
                state=located.instance.vm_state, method=method)

    async def update_metadata(self, context, located: Located, metadata: Mapping[str, str],
                              *, delete: bool = False) -> dict[str, str]:
        """Merge (``delete``: replace) the server's metadata; the result."""
        self._mutable(context, located, "update_metadata")
        wanted = dict(metadata) if delete else {**located.instance.metadata, **metadata}
        await self._check_metadata_quota(context, located.instance.project_id, wanted)
        result = await self.api_db.do(self._call_in_cell, located.cell,
                                      instances.update_metadata, located.instance.uuid,
                                      wanted, delete=True)
        self._send_update(context, located.instance,
                          located.instance.replace(metadata=dict(result)))
        return result

    async def delete_metadata_key(self, context, located: Located, key: str) -> None:
        self._mutable(context, located, "delete_metadata")
        await self.api_db.do(self._call_in_cell, located.cell,
                             instances.delete_metadata_key, located.instance.uuid, key)
        remaining = {k: v for k, v in located.instance.metadata.items() if k != key}
        self._send_update(context, located.instance,
                          located.instance.replace(metadata=remaining))

    def _call_in_cell(self, api_conn: sa.Connection, cell: CellMapping, fn, *args, **kw):
        return self._in_cell(cell, fn, *args, **kw)

    # -- tags -----------------------------------------------------------------------------

    @staticmethod
    def check_tags_mutable(located: Located, action: str) -> None:
        """InstanceInvalidState unless the server's tags may change (Nova's server
        tags check only the vm state)."""
        check_state(located.instance, action, MUTABLE_STATES, task_states=None)
        if located.cell is None:
            raise exception.InstanceInvalidState(
                attr="vm_state", instance_uuid=located.instance.uuid,
                state=located.instance.vm_state, method=action)

    async def tag_call(self, context, located: Located, fn, *args, mutate: str | None = None):
        """Run a tag function of ``nova_tx.db.main.instances`` on the server's cell;
        ``mutate`` names the action for the state check of a change."""
        if mutate is not None:
            self.check_tags_mutable(located, mutate)
        if located.cell is None:
            return _build_request_tags(fn, located.instance, *args)
        return await self.api_db.do(self._call_in_cell, located.cell, fn,
                                    located.instance.uuid, *args)

    # -- instance actions -----------------------------------------------------------------

    async def actions(self, context, located: Located, *, limit: int | None = None,
                      marker: str | None = None, filters: Mapping[str, Any] | None = None
                      ) -> list[InstanceAction]:
        if located.cell is None:
            if marker is not None:
                raise exception.MarkerNotFound(marker=marker)
            return []
        return await self.api_db.do(self._call_in_cell, located.cell,
                                    instance_actions.get_by_instance, located.instance.uuid,
                                    limit=limit, marker=marker, filters=filters)

    async def action(self, context, located: Located, request_id: str, *,
                     with_events: bool) -> tuple[InstanceAction, list[InstanceActionEvent]]:
        """The action of ``request_id`` (InstanceActionNotFound) and, if asked, its
        events."""
        if located.cell is None:
            raise exception.InstanceActionNotFound(request_id=request_id,
                                                   instance_uuid=located.instance.uuid)

        def read(conn: sa.Connection):
            found = instance_actions.get_by_request_id(conn, located.instance.uuid,
                                                       request_id)
            events = instance_actions.get_events(conn, found.id) if with_events else []
            return found, events

        return await self.api_db.do(self._call_in_cell, located.cell, read)


def _build_request_tags(fn, instance: Instance, *args):
    """The read-only tag functions answered from a build request's instance."""
    if fn is instances.get_tags:
        return sorted(instance.tags)
    if fn is instances.tag_exists:
        return args[0] in instance.tags
    raise exception.InstanceInvalidState(attr="vm_state", instance_uuid=instance.uuid,
                                         state=instance.vm_state, method="update tags")


def parse_isotime(value: str) -> datetime.datetime:
    """A naive UTC datetime from an ISO 8601 string; ValueError if it is not one."""
    parsed = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed
