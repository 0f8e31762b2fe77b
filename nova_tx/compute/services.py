"""Deleting a compute service, forcing one back up, and the ``COMPUTE_STATUS_DISABLED``
trait of a disabled one: what Nova's ``os-services`` controller does around the
service record.

Deleting a nova-compute is refused (409) while its host runs instances or while a
migration from or to one of its nodes is in progress: the node's resource provider
would be orphaned with allocations on it. Otherwise the host leaves every aggregate
(with the placement mirroring and notifications of a ``remove_host``), each node's
resource provider is deleted from placement, the host mapping is removed, and the
service and its nodes are soft-deleted.
"""
from __future__ import annotations

from nova_tx import exception, log
from nova_tx.compute.host_api import HostAPI, InCell
from nova_tx.objects.service import Service
from nova_tx.placement import aggregates_client

LOG = log.getLogger(__name__)


async def delete_service(context, host_api: HostAPI, aggregate_api, placement,
                         found: InCell[Service]) -> None:
    service = found.item
    if service.binary == "nova-compute" and service.host:
        await _delete_compute_parts(context, host_api, aggregate_api, placement, found)
    await host_api.service_delete(context, found)


async def _delete_compute_parts(context, host_api: HostAPI, aggregate_api, placement,
                                found: InCell[Service]) -> None:
    host = found.item.host
    if await host_api.count_instances_on_hosts([host]):
        raise exception.ComputeServiceInUse(
            reason="Unable to delete compute service that is hosting instances. Migrate "
            "or delete the instances first.")
    nodes = await host_api.compute_nodes_of(found)
    if nodes and await host_api.count_in_progress_migrations(found.cell_uuid, nodes):
        raise exception.ComputeServiceInUse(
            reason="Unable to delete compute service that has in-progress migrations. "
            "Complete the in-progress migrations or delete the instances first.")
    for aggregate in await aggregate_api.get_aggregates_by_host(context, host):
        await aggregate_api.remove_host_from_aggregate(context, aggregate.id, host)
    if placement is not None:
        for node in nodes:
            if not node.uuid:
                continue
            try:
                await aggregates_client.delete_provider(placement, node.uuid)
            except exception.NovaException as e:
                # As Nova: the service still goes; the provider is cleaned up later.
                LOG.error("Failed to delete compute node resource provider for compute "
                          "node %s: %s", node.uuid, e.format_message())
    await host_api.destroy_host_mapping(host)


async def check_for_evacuations(host_api: HostAPI, found: InCell[Service]) -> None:
    """Refuse (400) to force up a compute whose ``done`` evacuations have not been
    cleaned up by its restart yet (Nova's ``_check_for_evacuations``)."""
    if await host_api.count_done_evacuations(found.cell_uuid, found.item.host or ""):
        raise exception.Invalid(
            "Unable to force up host %s as `done` evacuation migration records remain "
            "associated with the host. Ensure the compute service has been restarted, "
            "allowing these records to move to `completed` before retrying this request."
            % found.item.host)


#: The trait placement's prefilter uses to keep disabled computes out of candidates.
DISABLED_TRAIT = "COMPUTE_STATUS_DISABLED"


async def sync_disabled_trait(host_api: HostAPI, placement, found: InCell[Service]) -> None:
    """Give the service's compute node providers ``COMPUTE_STATUS_DISABLED`` when it is
    disabled, take it away when enabled.

    Nova asks the compute to do this (``set_host_enabled``) and, while the compute is
    down, leaves it to the compute's restart. The API does it here, at once and
    whether the compute is up or not, so that the scheduler's placement prefilter
    agrees with the service record immediately; the compute's own resync (when it
    starts) comes to the same answer. A failure is logged, not returned: the record is
    what counts and the next resync repairs the trait.
    """
    if placement is None or found.item.binary != "nova-compute":
        return
    for node in await host_api.compute_nodes_of(found):
        if not node.uuid:
            continue
        try:
            await aggregates_client.set_trait(placement, node.uuid, DISABLED_TRAIT,
                                              found.item.disabled)
        except exception.NovaException as e:
            LOG.warning("Could not %s %s on the provider of %s: %s",
                        "set" if found.item.disabled else "remove", DISABLED_TRAIT,
                        node.hypervisor_hostname, e.format_message())
