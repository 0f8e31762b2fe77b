"""The prefilters (placement request filters) of spec/D §1.3, in Nova's fixed order.

Each one amends the RequestSpec before the placement query (required or forbidden
root traits, required or forbidden aggregates) and answers whether it ran; each is a
no-op when its option is off. ``process_reqspec`` runs them all;
``RequestFilterFailed`` (the scheduler turns it into ``NoValidHost``) stops the request.

What they read besides the spec comes through small interfaces, so that they are
testable without a deployment: ``AggregateSource`` (the API database's aggregates;
``DBAggregateSource`` implements it over ``nova_tx.db.api.aggregates``), the network
API (``nova_tx.network.api.INetworkAPI``: ports and subnets) and a Placement client
(segment providers' aggregates). They come together in ``RequestFilterSources``.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import os_traits

from nova_tx import exception
from nova_tx.objects.aggregate import Aggregate
from nova_tx.objects.request_spec import RequestSpec
from nova_tx.scheduler.resource_request import ResourceRequest
from nova_tx.virt import constraints

LOG = logging.getLogger(__name__)

TENANT_METADATA_KEY = "filter_tenant_id"
VNIC_TYPE_REMOTE_MANAGED = "remote-managed"


class AggregateSource(Protocol):
    """The aggregates the prefilters look up (each with its metadata)."""

    async def aggregates_for_metadata(self, key: str | None = None,
                                      value: str | None = None) -> list[Aggregate]:
        """Aggregates with a metadata entry of this key and/or value."""

    async def aggregates_non_matching_by_metadata_keys(
            self, ignored_keys: Iterable[str], key_prefix: str, value: str
    ) -> list[Aggregate]:
        """Aggregates with an entry ``<key_prefix>*=<value>`` whose key is not ignored."""


class DBAggregateSource:
    """``AggregateSource`` over the API database, through its thread pool."""

    def __init__(self, pool: Any):
        self.pool = pool

    async def aggregates_for_metadata(self, key=None, value=None):
        from nova_tx.db.api import aggregates

        return await self.pool.do(lambda conn: aggregates.get_by_metadata(conn, key, value))

    async def aggregates_non_matching_by_metadata_keys(self, ignored_keys, key_prefix, value):
        from nova_tx.db.api import aggregates

        ignored = list(ignored_keys)
        return await self.pool.do(lambda conn: aggregates.get_non_matching_by_metadata_keys(
            conn, ignored, key_prefix, value))


@dataclasses.dataclass
class RequestFilterSources:
    """What the prefilters read: the options, the aggregates and, for the network
    prefilters, the network API and a Placement client (None: those prefilters treat
    the request as having no ports to look at)."""

    conf: Any
    aggregates: AggregateSource
    network: Any = None
    placement: Any = None


Prefilter = Callable[[RequestFilterSources, Any, RequestSpec], Awaitable[bool]]


def _traced(fn: Prefilter) -> Prefilter:
    async def wrapper(sources, context, spec):
        start = time.monotonic()
        ran = await fn(sources, context, spec)
        if ran:
            LOG.debug("Request filter %r took %.1f seconds", fn.__name__,
                      time.monotonic() - start)
        return ran

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


@_traced
async def require_tenant_aggregate(sources: RequestFilterSources, context: Any,
                                   spec: RequestSpec) -> bool:
    """``[scheduler] limit_tenants_to_placement_aggregate``: only the aggregates whose
    metadata has a key starting with ``filter_tenant_id`` with the project as value.

    None found: NoValidHost with ``placement_aggregate_required_for_tenants``, else no
    restriction.
    """
    options = sources.conf.scheduler
    if not options.limit_tenants_to_placement_aggregate:
        return False
    found = await sources.aggregates.aggregates_for_metadata(value=spec.project_id)
    uuids = sorted({agg.uuid for agg in found
                    if agg.uuid and any(key.startswith(TENANT_METADATA_KEY)
                                        and value == spec.project_id
                                        for key, value in agg.metadata.items())})
    if uuids:
        spec.ensure_destination().require_aggregates(uuids)
        LOG.debug("require_tenant_aggregate request filter added aggregates %s for "
                  "tenant %r", ",".join(uuids), spec.project_id)
    elif options.placement_aggregate_required_for_tenants:
        LOG.warning("Tenant %s has no available aggregates", spec.project_id)
        raise exception.RequestFilterFailed(reason="No hosts available for tenant")
    return True


@_traced
async def map_az_to_placement_aggregate(sources: RequestFilterSources, context: Any,
                                        spec: RequestSpec) -> bool:
    """``[scheduler] query_placement_for_availability_zone``: the aggregates whose
    ``availability_zone`` is the requested zone (none found: no restriction)."""
    if not sources.conf.scheduler.query_placement_for_availability_zone:
        return False
    zone = spec.availability_zone
    if not zone:
        return False
    found = await sources.aggregates.aggregates_for_metadata(key="availability_zone",
                                                             value=zone)
    uuids = sorted(agg.uuid for agg in found if agg.uuid)
    if uuids:
        spec.ensure_destination().require_aggregates(uuids)
        LOG.debug("map_az_to_placement_aggregate request filter added aggregates %s "
                  "for az %r", ",".join(uuids), zone)
    return True


@_traced
async def require_image_type_support(sources: RequestFilterSources, context: Any,
                                     spec: RequestSpec) -> bool:
    """``[scheduler] query_placement_for_image_type_support``: the root provider must
    have ``COMPUTE_IMAGE_TYPE_<DISK_FORMAT>`` (not for boot from volume)."""
    if not sources.conf.scheduler.query_placement_for_image_type_support:
        return False
    if spec.is_bfv:
        return False
    disk_format = spec.image.disk_format if spec.image is not None else None
    if not disk_format:
        return False
    trait = "COMPUTE_IMAGE_TYPE_" + disk_format.upper()
    if not hasattr(os_traits, trait):
        LOG.error("Computed trait name %r is not valid; is os-traits up to date?", trait)
        return False
    spec.root_required.add(trait)
    LOG.debug("require_image_type_support request filter added required trait %s", trait)
    return True


@_traced
async def compute_status_filter(sources: RequestFilterSources, context: Any,
                                spec: RequestSpec) -> bool:
    """Always: the root provider must not have ``COMPUTE_STATUS_DISABLED`` (computes
    set it on their providers while their service is disabled)."""
    spec.root_forbidden.add(os_traits.COMPUTE_STATUS_DISABLED)
    return True


@_traced
async def isolate_aggregates(sources: RequestFilterSources, context: Any,
                             spec: RequestSpec) -> bool:
    """``[scheduler] enable_isolated_aggregate_filtering``: an aggregate with metadata
    ``trait:<T>=required`` is forbidden unless the flavor or image requires T."""
    if not sources.conf.scheduler.enable_isolated_aggregate_filtering:
        return False
    required = ResourceRequest.from_request_spec(spec).all_required_traits
    keys = sorted("trait:" + trait for trait in required)
    isolated = await sources.aggregates.aggregates_non_matching_by_metadata_keys(
        keys, "trait:", "required")
    uuids = {agg.uuid for agg in isolated if agg.uuid}
    if uuids:
        spec.ensure_destination().append_forbidden_aggregates(uuids)
    return True


#: Image property -> trait prefix of ``transform_image_metadata``. The vIOMMU traits
#: are ``COMPUTE_VIOMMU_MODEL_*`` in os-traits (Zed's ``COMPUTE_VIOMMU_`` names no
#: trait and made the whole prefilter give up).
IMAGE_TRAIT_PREFIXES = {
    "hw_cdrom_bus": "COMPUTE_STORAGE_BUS",
    "hw_disk_bus": "COMPUTE_STORAGE_BUS",
    "hw_video_model": "COMPUTE_GRAPHICS_MODEL",
    "hw_vif_model": "COMPUTE_NET_VIF_MODEL",
    "hw_architecture": "HW_ARCH",
    "hw_emulation_architecture": "COMPUTE_ARCH",
    "hw_viommu_model": "COMPUTE_VIOMMU_MODEL",
}


@_traced
async def transform_image_metadata(sources: RequestFilterSources, context: Any,
                                   spec: RequestSpec) -> bool:
    """``[scheduler] image_metadata_prefilter``: well-known image properties become
    required root traits (``<PREFIX>_<VALUE upper, - as _>``); one unknown trait and
    none is added."""
    if not sources.conf.scheduler.image_metadata_prefilter:
        return False
    properties = spec.image.properties if spec.image is not None else {}
    traits = []
    for key, prefix in IMAGE_TRAIT_PREFIXES.items():
        if key in properties and properties[key] is not None:
            trait = f"{prefix}_{str(properties[key]).replace('-', '_').upper()}"
            if not hasattr(os_traits, trait):
                LOG.error("Computed trait name %r is not valid; is os-traits up to date?",
                          trait)
                return False
            traits.append(trait)
    spec.root_required.update(traits)
    return True


@_traced
async def accelerators_filter(sources: RequestFilterSources, context: Any,
                              spec: RequestSpec) -> bool:
    """Always: a flavor with ``accel:device_profile`` needs ``COMPUTE_ACCELERATORS``."""
    if (spec.flavor.extra_specs or {}).get("accel:device_profile"):
        spec.root_required.add(os_traits.COMPUTE_ACCELERATORS)
    return True


@_traced
async def routed_networks_filter(sources: RequestFilterSources, context: Any,
                                 spec: RequestSpec) -> bool:
    """``[scheduler] query_placement_for_routed_network_aggregates``: each requested
    port or network must be reachable, through the aggregates of its segments' resource
    providers (a port with a fixed IP: its subnet's segment; else any segment of the
    network). Each request adds one OR-list; a segment without aggregate fails."""
    if not sources.conf.scheduler.query_placement_for_routed_network_aggregates:
        return False
    if not spec.requested_networks:
        return True
    destination = spec.ensure_destination()
    for requested in spec.requested_networks:
        network_id = None
        aggregates: list[str] = []
        if requested.port_id:
            port = await sources.network.show_port(context, requested.port_id)
            port = port.get("port", port)
            if port.get("fixed_ips"):
                subnet_id = port["fixed_ips"][0]["subnet_id"]
                try:
                    aggregates = await get_aggregates_for_routed_subnet(
                        sources, context, subnet_id)
                except exception.InvalidRoutedNetworkConfiguration as e:
                    raise exception.RequestFilterFailed(
                        reason=f"Aggregates not found for the subnet {subnet_id}") from e
            else:
                network_id = port["network_id"]
        elif requested.network_id:
            network_id = requested.network_id
        if network_id:
            try:
                aggregates = await get_aggregates_for_routed_network(
                    sources, context, network_id)
            except exception.InvalidRoutedNetworkConfiguration as e:
                raise exception.RequestFilterFailed(
                    reason=f"Aggregates not found for the network {network_id}") from e
        if aggregates:
            destination.require_aggregates(aggregates)
    return True


async def _segment_aggregates(sources: RequestFilterSources, segment_id: str) -> list[str]:
    response = await sources.placement.get(
        f"/resource_providers/{segment_id}/aggregates", version="1.19")
    aggregates = response.json().get("aggregates") if response.status_code == 200 else None
    if not aggregates:
        raise exception.InvalidRoutedNetworkConfiguration(
            f"Failed to find aggregate related to segment {segment_id}")
    return list(aggregates)


async def get_aggregates_for_routed_network(sources: RequestFilterSources, context: Any,
                                            network_id: str) -> list[str]:
    """The aggregates of every segment of ``network_id`` (segments from its subnets)."""
    subnets = await sources.network.list_subnets(context, network_id=network_id)
    segments = []
    for subnet in subnets:
        segment = subnet.get("segment_id")
        if segment is not None and segment not in segments:
            segments.append(segment)
    aggregates: list[str] = []
    for segment in segments:
        aggregates.extend(await _segment_aggregates(sources, segment))
    return aggregates


async def get_aggregates_for_routed_subnet(sources: RequestFilterSources, context: Any,
                                           subnet_id: str) -> list[str]:
    """The aggregates of the segment of ``subnet_id`` (none if it has no segment)."""
    subnets = await sources.network.list_subnets(context, id=subnet_id)
    segment = subnets[0].get("segment_id") if subnets else None
    if not segment:
        return []
    return await _segment_aggregates(sources, segment)


@_traced
async def remote_managed_ports_filter(sources: RequestFilterSources, context: Any,
                                      spec: RequestSpec) -> bool:
    """Always: a requested port with ``binding:vnic_type=remote-managed`` needs
    ``COMPUTE_REMOTE_MANAGED_PORTS``."""
    if sources.network is None:
        return True
    for requested in spec.requested_networks:
        if not requested.port_id:
            continue
        port = await sources.network.show_port(context, requested.port_id)
        port = port.get("port", port)
        if port.get("binding:vnic_type") == VNIC_TYPE_REMOTE_MANAGED:
            spec.root_required.add(os_traits.COMPUTE_REMOTE_MANAGED_PORTS)
    return True


@_traced
async def ephemeral_encryption_filter(sources: RequestFilterSources, context: Any,
                                      spec: RequestSpec) -> bool:
    """When the flavor (``hw:ephemeral_encryption``) or the image
    (``hw_ephemeral_encryption``) asks for encrypted ephemeral storage:
    ``COMPUTE_EPHEMERAL_ENCRYPTION``, and ``..._<FORMAT>`` when a format is given."""
    specs = spec.flavor.extra_specs or {}
    properties = spec.image.properties if spec.image is not None else {}
    wanted = [constraints.parse_bool(value, key) for key, value in (
        ("hw:ephemeral_encryption", specs.get("hw:ephemeral_encryption")),
        ("hw_ephemeral_encryption", properties.get("hw_ephemeral_encryption")))
        if value is not None]
    if not any(wanted):
        return False
    spec.root_required.add(os_traits.COMPUTE_EPHEMERAL_ENCRYPTION)
    eph_format = (specs.get("hw:ephemeral_encryption_format")
                  or properties.get("hw_ephemeral_encryption_format"))
    if eph_format:
        trait = "COMPUTE_EPHEMERAL_ENCRYPTION_" + str(eph_format).upper()
        if not hasattr(os_traits, trait):
            raise exception.Invalid(f"Invalid ephemeral encryption format {eph_format!r}")
        spec.root_required.add(trait)
    return True


#: Every prefilter, in the order Nova runs them.
ALL_REQUEST_FILTERS: tuple[Prefilter, ...] = (
    require_tenant_aggregate,
    map_az_to_placement_aggregate,
    require_image_type_support,
    compute_status_filter,
    isolate_aggregates,
    transform_image_metadata,
    accelerators_filter,
    routed_networks_filter,
    remote_managed_ports_filter,
    ephemeral_encryption_filter,
)


async def process_reqspec(sources: RequestFilterSources, context: Any,
                          spec: RequestSpec) -> list[str]:
    """Run every prefilter on ``spec``; the names of those that ran."""
    ran = []
    for prefilter in ALL_REQUEST_FILTERS:
        if await prefilter(sources, context, spec):
            ran.append(prefilter.__name__)
    return ran
