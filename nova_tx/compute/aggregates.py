"""Host aggregates: what creating, changing and deleting one means (Nova's
``AggregateAPI``), with the availability zone rules of spec C §3.3.

- An empty zone name (``""``) is refused; ``null`` for ``availability_zone`` in
  ``set_metadata`` or ``PUT`` removes the aggregate's zone (decision C 30.1, a
  deliberate difference from Nova, which refuses it), under the same rule as a rename.
- A host is in at most one zone: adding it to an aggregate whose zone differs from
  the zone of another of its aggregates is refused (409), and so is giving an
  aggregate a zone that one of its hosts already has differently (400).
- Changing an aggregate's zone (giving one, renaming it, removing it) is refused while
  any of its hosts runs an instance; setting the same zone again is always allowed.
  Adding a busy host to a zone aggregate is allowed (decision C 30.12).
- Every check comes before any change, and a rename and a zone change are stored in
  one transaction (decision C 30.8).

Each change is mirrored: the compute node's resource provider joins or leaves the
placement aggregate of the same uuid (a failure to add is logged, as Nova does, and
``nova-manage placement sync_aggregates`` repairs it; removal happens first and a
conflict refuses the request), and every scheduler is told (``update_aggregates`` /
``delete_aggregate`` fanout casts). The ``aggregate.*`` notifications go out as Nova's.
"""
from __future__ import annotations

import dataclasses
import uuid as uuidlib
from typing import Any

from nova_tx import exception, log
from nova_tx.availability_zones import AZ_KEY
from nova_tx.compute.host_api import HostAPI
from nova_tx.db.api import aggregates as aggregates_db
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.notifications import aggregate as notes
from nova_tx.objects.aggregate import Aggregate
from nova_tx.placement import aggregates_client

LOG = log.getLogger(__name__)

ACTION_ADD, ACTION_UPDATE, ACTION_UPDATE_META = "add", "update", "update_meta"
_INVALID = {
    ACTION_ADD: exception.InvalidAggregateActionAdd,
    ACTION_UPDATE: exception.InvalidAggregateActionUpdate,
    ACTION_UPDATE_META: exception.InvalidAggregateActionUpdateMeta,
}


class AggregateAPI:
    """``db``: the API database's DBThreadPool; ``host_api``: services, nodes and
    instances across the cells; ``placement``: an IPlacementClient (None: no
    mirroring); ``scheduler``: a SchedulerQueryClient (None: the schedulers are not
    told); ``notifier``: an AggregateNotifier (None: no notifications)."""

    def __init__(self, db, host_api: HostAPI, *, placement=None, scheduler=None,
                 notifier: notes.AggregateNotifier | None = None):
        self.db = db
        self.host_api = host_api
        self.placement = placement
        self.scheduler = scheduler
        self.notifier = notifier

    # -- reading ----------------------------------------------------------------------------

    async def get_aggregate_list(self, context) -> list[Aggregate]:
        return await self.db.do(aggregates_db.get_all)

    async def get_aggregate(self, context, aggregate_id: int) -> Aggregate:
        return await self.db.do(aggregates_db.get, aggregate_id)

    async def get_aggregates_by_host(self, context, host: str) -> list[Aggregate]:
        return await self.db.do(aggregates_db.get_by_host, host)

    # -- telling others ---------------------------------------------------------------------

    def _versioned(self, context, action: str, phase: str, aggregate: Aggregate,
                   **kw: Any) -> None:
        if self.notifier is not None:
            self.notifier.versioned_event(context, action, phase, aggregate, **kw)

    def _legacy(self, context, action: str, phase: str, payload: dict[str, Any]) -> None:
        if self.notifier is not None:
            self.notifier.legacy_event(context, action, phase, dict(payload))

    def _schedulers_update(self, context, aggregate: Aggregate) -> None:
        if self.scheduler is not None:
            self.scheduler.update_aggregates(context, [aggregate])

    # -- the zone rules ---------------------------------------------------------------------

    async def _check_zone(self, context, aggregate: Aggregate, metadata: dict[str, Any],
                          action: str, *, hosts: list[str] | None = None,
                          check_instances: bool = False) -> None:
        """Nova's ``is_safe_to_update_az``, with ``null`` meaning "no zone"."""
        if AZ_KEY not in metadata:
            return
        invalid = _INVALID[action]
        new_zone = metadata[AZ_KEY]
        if new_zone is not None and not new_zone:
            raise invalid(aggregate_id=aggregate.id, reason="Aggregate %s does not support "
                          "empty named availability zone" % aggregate.name)
        hosts = list(hosts if hosts is not None else aggregate.hosts)
        if new_zone is not None and hosts:
            conflicting = await self.db.do(_conflicting_zones, aggregate.id, hosts, new_zone)
            if conflicting:
                raise invalid(aggregate_id=aggregate.id, reason="One or more hosts already "
                              "in availability zone(s) %s" % conflicting)
        if check_instances and new_zone != aggregate.availability_zone and hosts:
            if await self.host_api.count_instances_on_hosts(hosts):
                raise invalid(aggregate_id=aggregate.id,
                              reason="One or more hosts contain instances in this zone")

    # -- create, update, delete -------------------------------------------------------------

    async def create_aggregate(self, context, name: str,
                               availability_zone: str | None) -> Aggregate:
        metadata = {AZ_KEY: availability_zone} if availability_zone else {}
        unsaved = Aggregate(id=None, uuid=str(uuidlib.uuid4()), name=name,
                            metadata=metadata)
        legacy = {"name": name, **({"meta_data": dict(metadata)} if metadata else {})}
        self._legacy(context, notes.CREATE, notes.START, legacy)
        self._versioned(context, notes.CREATE, notes.START, unsaved, unsaved=True)
        try:
            aggregate = await self.db.do(aggregates_db.create_checked, name,
                                         metadata=metadata, uuid=unsaved.uuid)
        except DBDuplicateEntry:
            # A concurrent create of the same name won the unique constraint.
            raise exception.AggregateNameExists(aggregate_name=name) from None
        self._schedulers_update(context, aggregate)
        self._legacy(context, notes.CREATE, notes.END, {**legacy, "aggregate_id": aggregate.id})
        self._versioned(context, notes.CREATE, notes.END, aggregate)
        return aggregate

    async def update_aggregate(self, context, aggregate_id: int,
                               values: dict[str, Any]) -> Aggregate:
        """``PUT``: a new name and/or zone, checked first and stored together."""
        aggregate = await self.get_aggregate(context, aggregate_id)
        values = dict(values)
        name = values.pop("name", None)
        zone_change = {AZ_KEY: values[AZ_KEY]} if AZ_KEY in values else {}
        await self._check_zone(context, aggregate, zone_change, ACTION_UPDATE,
                               check_instances=True)
        if name is not None:
            self._legacy(context, notes.UPDATE_PROP, notes.START,
                         {"aggregate_id": aggregate.id})
            self._versioned(context, notes.UPDATE_PROP, notes.START,
                            _renamed(aggregate, name))
        if zone_change:
            self._legacy(context, notes.UPDATE_METADATA, notes.START,
                         {"aggregate_id": aggregate.id, "meta_data": zone_change})
            self._versioned(context, notes.UPDATE_METADATA, notes.START,
                            _renamed(aggregate, name))
        try:
            updated = await self.db.do(aggregates_db.update, aggregate.id, name=name,
                                       metadata=zone_change or None)
        except DBDuplicateEntry:
            raise exception.AggregateNameExists(aggregate_name=name) from None
        if name is not None:
            self._legacy(context, notes.UPDATE_PROP, notes.END,
                         {"aggregate_id": aggregate.id})
            self._versioned(context, notes.UPDATE_PROP, notes.END, updated)
        if zone_change:
            self._legacy(context, notes.UPDATE_METADATA, notes.END,
                         {"aggregate_id": aggregate.id, "meta_data": zone_change})
            self._versioned(context, notes.UPDATE_METADATA, notes.END, updated)
        self._schedulers_update(context, updated)
        return updated

    async def update_aggregate_metadata(self, context, aggregate_id: int,
                                        metadata: dict[str, str | None]) -> Aggregate:
        """``set_metadata``: merge; ``null`` removes a key."""
        aggregate = await self.get_aggregate(context, aggregate_id)
        await self._check_zone(context, aggregate, metadata, ACTION_UPDATE_META,
                               check_instances=True)
        payload = {"aggregate_id": aggregate.id, "meta_data": dict(metadata)}
        self._legacy(context, notes.UPDATE_METADATA, notes.START, payload)
        self._versioned(context, notes.UPDATE_METADATA, notes.START, aggregate)
        updated = await self.db.do(aggregates_db.update, aggregate.id,
                                   metadata=dict(metadata))
        self._schedulers_update(context, updated)
        self._legacy(context, notes.UPDATE_METADATA, notes.END, payload)
        self._versioned(context, notes.UPDATE_METADATA, notes.END, updated)
        return updated

    async def delete_aggregate(self, context, aggregate_id: int) -> None:
        payload = {"aggregate_id": aggregate_id}
        self._legacy(context, notes.DELETE, notes.START, payload)
        aggregate = await self.get_aggregate(context, aggregate_id)
        self._versioned(context, notes.DELETE, notes.START, aggregate)
        await self.db.do(aggregates_db.destroy, aggregate.id)
        if self.scheduler is not None:
            self.scheduler.delete_aggregate(context, aggregate)
        self._legacy(context, notes.DELETE, notes.END, payload)
        self._versioned(context, notes.DELETE, notes.END, aggregate)

    # -- hosts ------------------------------------------------------------------------------

    async def _first_node_name(self, found) -> str | None:
        nodes = await self.host_api.compute_nodes_of(found)
        return nodes[0].hypervisor_hostname if nodes else None

    async def add_host_to_aggregate(self, context, aggregate_id: int,
                                    host: str) -> Aggregate:
        payload = {"aggregate_id": aggregate_id, "host_name": host}
        self._legacy(context, notes.ADD_HOST, notes.START, payload)
        found = await self.host_api.find_compute_service(host)
        aggregate = await self.get_aggregate(context, aggregate_id)
        self._versioned(context, notes.ADD_HOST, notes.START, aggregate)
        await self._check_zone(context, aggregate, aggregate.metadata, ACTION_ADD,
                               hosts=[host])
        try:
            aggregate = await self.db.do(aggregates_db.add_host, aggregate.id, host)
        except DBDuplicateEntry:
            raise exception.AggregateHostExists(aggregate_id=aggregate.id,
                                                host=host) from None
        self._schedulers_update(context, aggregate)
        await self._mirror_add(context, aggregate, found)
        self._legacy(context, notes.ADD_HOST, notes.END, {**payload, "name": aggregate.name})
        self._versioned(context, notes.ADD_HOST, notes.END, aggregate)
        return aggregate

    async def _mirror_add(self, context, aggregate: Aggregate, found) -> None:
        if self.placement is None:
            return
        node_name = await self._first_node_name(found)
        try:
            if node_name is None:
                raise exception.ResourceProviderNotFound(name_or_uuid=found.item.host)
            rp_uuid = await aggregates_client.provider_uuid_by_name(self.placement,
                                                                    node_name)
            await aggregates_client.add_to_aggregate(self.placement, rp_uuid,
                                                     aggregate.uuid)
        except Exception as e:
            # Not the user's problem, and not lost: sync_aggregates puts it right.
            LOG.warning("Failed to associate %s with a placement aggregate: %s. This may "
                        "be corrected after running nova-manage placement "
                        "sync_aggregates.", node_name or found.item.host,
                        exception.one_line(e).rstrip("."))

    async def remove_host_from_aggregate(self, context, aggregate_id: int,
                                         host: str) -> Aggregate:
        payload = {"aggregate_id": aggregate_id, "host_name": host}
        self._legacy(context, notes.REMOVE_HOST, notes.START, payload)
        found = await self.host_api.find_compute_service(host)
        aggregate = await self.get_aggregate(context, aggregate_id)
        if host not in aggregate.hosts:
            # Checked before placement is touched, so a refusal changes nothing.
            raise exception.AggregateHostNotFound(aggregate_id=aggregate_id, host=host)
        self._versioned(context, notes.REMOVE_HOST, notes.START, aggregate)
        await self._mirror_remove(aggregate, found)
        aggregate = await self.db.do(aggregates_db.remove_host, aggregate.id, host)
        self._schedulers_update(context, aggregate)
        self._legacy(context, notes.REMOVE_HOST, notes.END, payload)
        self._versioned(context, notes.REMOVE_HOST, notes.END, aggregate)
        return aggregate

    async def _mirror_remove(self, aggregate: Aggregate, found) -> None:
        """Placement first, so a failure can be retried from the API; a missing
        provider is not in the aggregate anyway."""
        if self.placement is None:
            return
        node_name = await self._first_node_name(found)
        if node_name is None:
            return
        try:
            rp_uuid = await aggregates_client.provider_uuid_by_name(self.placement,
                                                                    node_name)
            await aggregates_client.remove_from_aggregate(self.placement, rp_uuid,
                                                          aggregate.uuid)
        except exception.ResourceProviderNotFound as e:
            LOG.warning("Failed to remove association of %s with a placement aggregate: "
                        "%s", node_name, e.format_message())

    # -- image pre-caching ------------------------------------------------------------------

    async def cache_images(self, context, aggregate: Aggregate, image_ids: list[str], *,
                           image_api, compute_rpcapi) -> None:
        """Check every image exists, then ask each up host of the aggregate to cache
        them (best effort: a host that is down is skipped and logged)."""
        for image_id in image_ids:
            await image_api.get(context, image_id)
        self._versioned(context, notes.CACHE_IMAGES, notes.START, aggregate)
        for host in aggregate.hosts:
            try:
                found = await self.host_api.find_compute_service(host)
            except exception.ComputeHostNotFound:
                LOG.warning("Image pre-cache: host %s of aggregate %s has no compute "
                            "service; skipped", host, aggregate.name)
                continue
            if not self.host_api.service_is_up(found.item):
                LOG.info("Image pre-cache: compute on %s is down; skipped", host)
                continue
            d = compute_rpcapi.cache_images(context, host, image_ids)
            d.addErrback(lambda f, h=host: LOG.warning(
                "Image pre-cache request to %s failed: %s", h, f.getErrorMessage()))
        self._versioned(context, notes.CACHE_IMAGES, notes.END, aggregate)


def _conflicting_zones(conn, aggregate_id: int, hosts: list[str], zone: str) -> list[str]:
    """The zones of the hosts' other aggregates that differ from ``zone``."""
    conflicting = []
    for other in aggregates_db.get_by_metadata(conn, key=AZ_KEY):
        if other.id == aggregate_id or other.availability_zone == zone:
            continue
        if set(other.hosts) & set(hosts):
            conflicting.append(other.availability_zone)
    return conflicting


def _renamed(aggregate: Aggregate, name: str | None) -> Aggregate:
    """The aggregate as its ``.start`` notifications show it: already renamed (Nova
    sets the name on the object before saving it)."""
    if name is None:
        return aggregate
    return dataclasses.replace(aggregate, name=name)
