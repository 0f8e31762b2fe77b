"""The resource tracker: what a compute host has, what its instances use, and the
records others read of it (Nova's ``compute.resource_tracker``).

For each node of its driver the tracker keeps

* the compute node record (``compute_nodes``, through the conductor's gateway: a
  compute has no database), created at the first update and rewritten after each
  claim and update, with the NUMA topology and its usage as JSON the scheduler reads
  (``ComputeNodeRecord.from_primitive``);
* the node's resource provider in placement: inventories and traits set by the
  driver's ``update_provider_tree``, the ``COMPUTE_NODE`` and capability traits, and
  the provider config files (``ProviderReporter`` writes what changed);
* the host NUMA topology with the usage of the instances on it: a claim fits the
  guest through the kernel (``kernel.claim``), pins what it chose and accounts its
  memory, pages and CPUs; ``abort_instance_claim`` and ``drop_instance`` give them
  back. A claim that no longer fits raises ``ComputeResourcesUnavailable``.

``update_available_resource`` (the periodic task, ``ResourcePeriodicTask``) asks the
driver again and rebuilds every usage from the instances the compute manager says
are on the host: usage that drifted (an instance deleted while the compute was down,
a claim never dropped) is healed there.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from twisted.application import service
from twisted.internet import defer, task

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.provider_config import ProviderConfigMerger
from nova_tx.compute.provider_report import ProviderReporter
from nova_tx.compute.provider_tree import ProviderTree
from nova_tx.conf import compute_node as compute_node_conf
from nova_tx.objects import numa as obj
from nova_tx.scheduler import kernel
from nova_tx.virt import numa_usage

LOG = logging.getLogger(__name__)

#: Nova's ``driver.CAPABILITY_TRAITS_MAP``: a capability the driver has is a trait of
#: its node provider, one it lacks is removed.
CAPABILITY_TRAITS = {
    "supports_attach_interface": "COMPUTE_NET_ATTACH_INTERFACE",
    "supports_device_tagging": "COMPUTE_DEVICE_TAGGING",
    "supports_tagged_attach_interface": "COMPUTE_NET_ATTACH_INTERFACE_WITH_TAG",
    "supports_tagged_attach_volume": "COMPUTE_VOLUME_ATTACH_WITH_TAG",
    "supports_extend_volume": "COMPUTE_VOLUME_EXTEND",
    "supports_multiattach": "COMPUTE_VOLUME_MULTI_ATTACH",
    "supports_trusted_certs": "COMPUTE_TRUSTED_CERTS",
    "supports_accelerators": "COMPUTE_ACCELERATORS",
    "supports_socket_pci_numa_affinity": "COMPUTE_SOCKET_PCI_NUMA_AFFINITY",
    "supports_remote_managed_ports": "COMPUTE_REMOTE_MANAGED_PORTS",
    **{f"supports_image_type_{fmt}": f"COMPUTE_IMAGE_TYPE_{fmt.upper()}"
       for fmt in ("aki", "ami", "ari", "iso", "qcow2", "raw", "vdi", "vhd", "vhdx",
                   "vmdk", "ploop")},
}
COMPUTE_NODE_TRAIT = "COMPUTE_NODE"

#: The reason Nova gives when a guest's NUMA topology no longer fits.
NUMA_DOES_NOT_FIT = ("Requested instance NUMA topology cannot fit the given host NUMA "
                     "topology")
#: vm_states whose instances hold no resources on the host.
_RELEASED_STATES = frozenset({states.DELETED, states.SHELVED_OFFLOADED})


def numa_topology_to_json(topology: obj.NUMATopology | None) -> str | None:
    """The ``numa_topology`` column: the host topology with its usage, wrapped as
    Nova's versioned object (the form ``ComputeNodeRecord.from_primitive`` reads)."""
    if topology is None:
        return None
    return json.dumps({"nova_object.name": "NUMATopology", "nova_object.namespace": "nova",
                       "nova_object.version": "1.2", "nova_object.data": topology.to_dict()},
                      sort_keys=True)


def _size(instance: Any, name: str) -> int:
    value = getattr(instance, name, None)
    if value is None:
        flavor = getattr(instance, "flavor", None)
        value = getattr(flavor, name, None) if flavor is not None else None
    return int(value or 0)


@dataclasses.dataclass
class Usage:
    """What one instance takes from its node."""

    uuid: str
    nodename: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    numa_topology: obj.InstanceNUMATopology | None
    #: The claim count when it was taken: a claim newer than an update's instance
    #: list survives that update.
    sequence: int = 0
    # What the node's ``stats`` count (Nova's ``compute.stats.Stats``).
    vm_state: str | None = None
    task_state: str | None = None
    os_type: str | None = None
    project_id: str | None = None

    @classmethod
    def of(cls, instance: Any, nodename: str,
           numa_topology: obj.InstanceNUMATopology | None, sequence: int = 0) -> Usage:
        flavor = getattr(instance, "flavor", None)
        swap_mb = int(getattr(flavor, "swap", 0) or 0) if flavor is not None else 0
        return cls(instance.uuid, nodename, _size(instance, "vcpus"),
                   _size(instance, "memory_mb"),
                   _size(instance, "root_gb") + _size(instance, "ephemeral_gb")
                   + math.ceil(swap_mb / 1024), numa_topology, sequence,
                   getattr(instance, "vm_state", None), getattr(instance, "task_state", None),
                   getattr(instance, "os_type", None), getattr(instance, "project_id", None))


#: Task states that load the host's disks and network (Nova's ``Stats.io_workload``).
_IO_TASK_STATES = frozenset({
    states.RESIZE_MIGRATING, states.REBUILDING, states.RESIZE_PREP, states.IMAGE_SNAPSHOT,
    states.IMAGE_BACKUP, states.RESCUING, states.UNSHELVING})


def node_stats(usages: Iterable[Usage], failed_builds: int = 0) -> dict[str, Any]:
    """The ``stats`` column (Nova's ``compute.stats.Stats``): the scheduler reads
    ``num_instances``, ``io_workload`` and ``failed_builds`` of it."""
    stats: dict[str, Any] = {"num_instances": 0, "io_workload": 0,
                             "failed_builds": failed_builds}
    for usage in usages:
        stats["num_instances"] += 1
        for key in (f"num_vm_{usage.vm_state}", f"num_task_{usage.task_state}",
                    f"num_os_type_{usage.os_type}", f"num_proj_{usage.project_id}"):
            stats[key] = stats.get(key, 0) + 1
        if usage.vm_state == states.BUILDING or usage.task_state in _IO_TASK_STATES:
            stats["io_workload"] += 1
    return {key: str(value) for key, value in stats.items()}


@dataclasses.dataclass
class Claim:
    """A successful claim: the guest topology the kernel fitted (None for a guest
    without NUMA topology), also set on the instance as Nova's claim does; the
    manager saves it with the instance's host and node."""

    instance_uuid: str
    nodename: str
    numa_topology: obj.InstanceNUMATopology | None


def _limits(limits: Mapping[str, Any] | None) -> obj.NUMATopologyLimits | None:
    value = (limits or {}).get("numa_topology")
    if value is None or isinstance(value, obj.NUMATopologyLimits):
        return value
    value = value.get("nova_object.data", value)
    return obj.NUMATopologyLimits.from_dict(value)


class ResourceTracker:
    """``nodes`` is the conductor's compute node gateway (``ComputeNodeAPI``),
    ``placement`` an ``IPlacementClient``; ``provider_configs`` what
    ``load_provider_configs`` read at start."""

    def __init__(self, host: str, driver: Any, conf: Any, nodes: Any, placement: Any,
                 *, provider_configs: Mapping[str, Any] | None = None):
        self.host = host
        self.driver = driver
        self.conf = conf
        self.nodes = nodes
        self.reporter = ProviderReporter(placement)
        self.provider_configs = dict(provider_configs or {})
        self.merger = ProviderConfigMerger()
        #: nodename -> the compute node record (a dict of its columns).
        self.compute_nodes: dict[str, dict[str, Any]] = {}
        #: nodename -> the driver's resources of the last update.
        self.resources: dict[str, dict[str, Any]] = {}
        #: nodename -> the host NUMA topology with the usage of ``tracked``.
        self.topologies: dict[str, obj.NUMATopology | None] = {}
        #: instance uuid -> its usage.
        self.tracked: dict[str, Usage] = {}
        #: ``instance_lookup(context, uuid)``: the instance, deleted ones included (the
        #: conductor's instance gateway, given by nova-compute); None: allocations of
        #: deleted instances against the node are left alone.
        self.instance_lookup: Callable[[Any, str], Awaitable[Any]] | None = None
        #: nodename -> consecutive failed builds (``stats.failed_builds``, read by the
        #: scheduler's BuildFailureWeigher); the manager reports each build's outcome.
        self.failed_builds: dict[str, int] = {}
        self._sequence = 0

    @property
    def provider_tree(self) -> ProviderTree:
        return self.reporter.tree

    def reset(self) -> None:
        """SIGHUP (Nova's ``clear_provider_cache``): forget what placement was known
        to have, so that the next update reads every provider again."""
        self.reporter.tree = ProviderTree()

    # -- claims ----------------------------------------------------------------------

    def _fit(self, nodename: str, instance: Any, limits: Mapping[str, Any] | None
             ) -> tuple[obj.InstanceNUMATopology | None, obj.NUMATopology | None]:
        if nodename not in self.compute_nodes:
            raise exception.ComputeResourcesUnavailable(
                reason=f"node {nodename} of {self.host} is not tracked yet")
        host = self.topologies.get(nodename)
        requested = getattr(instance, "numa_topology", None)
        if requested is None or host is None:
            if requested is not None:
                raise exception.ComputeResourcesUnavailable(reason=NUMA_DOES_NOT_FIT)
            return None, host
        claimed = kernel.claim(
            host, requested, _limits(limits),
            pci_requests=getattr(instance, "pci_requests", None) or None,
            pack=self.conf.compute.packing_host_numa_cells_allocation_strategy)
        if claimed is None:
            raise exception.ComputeResourcesUnavailable(reason=NUMA_DOES_NOT_FIT)
        return claimed

    async def instance_claim(self, context: Any, instance: Any, nodename: str,
                             allocations: Any = None,
                             limits: Mapping[str, Any] | None = None) -> Claim:
        """Fit and account ``instance`` on ``nodename`` (Nova's ``instance_claim``).

        The fit and the accounting happen before anything is awaited, so two claims
        never see the same free CPUs. ``allocations`` (the instance's placement
        allocations) are already made by the scheduler; the tracker reads none.
        """
        if instance.uuid in self.tracked:
            raise exception.ComputeResourcesUnavailable(
                reason=f"instance {instance.uuid} already holds a claim")
        fitted, topology = self._fit(nodename, instance, limits)
        if fitted is not None:
            # As Nova's claim: the instance now carries the fitted topology (host cells,
            # pinning, page sizes) for the driver; the manager saves it with host/node.
            instance.numa_topology = fitted
        self._sequence += 1
        self.tracked[instance.uuid] = Usage.of(instance, nodename, fitted, self._sequence)
        self.topologies[nodename] = topology
        await self._save_node(context, nodename)
        return Claim(instance.uuid, nodename, fitted)

    async def abort_instance_claim(self, context: Any, instance: Any,
                                   nodename: str | None = None) -> None:
        """Give back a claim whose build failed."""
        await self._release(context, instance)

    async def drop_instance(self, context: Any, instance: Any,
                            nodename: str | None = None) -> None:
        """Give back what a deleted (or moved away) instance held."""
        await self._release(context, instance)

    async def _release(self, context: Any, instance: Any) -> None:
        usage = self.tracked.pop(instance.uuid, None)
        if usage is None:
            return
        host = self.topologies.get(usage.nodename)
        if host is not None and usage.numa_topology is not None:
            try:
                self.topologies[usage.nodename] = numa_usage.release(host, usage.numa_topology)
            except exception.NovaException as e:
                # Accounting that drifted: the next update rebuilds it from scratch.
                LOG.warning("Releasing the NUMA usage of instance %s failed: %s",
                            instance.uuid, exception.one_line(e))
        await self._save_node(context, usage.nodename)

    async def build_failed(self, context: Any, nodename: str) -> None:
        """A build failed on ``nodename`` (Nova's ``build_failed``)."""
        self.failed_builds[nodename] = self.failed_builds.get(nodename, 0) + 1
        await self._save_node(context, nodename)

    async def build_succeeded(self, context: Any, nodename: str) -> None:
        """A build succeeded: the count of failures starts again."""
        if self.failed_builds.pop(nodename, 0):
            await self._save_node(context, nodename)

    # -- the periodic update ---------------------------------------------------------

    async def update_available_resource(self, context: Any, instances: Iterable[Any]
                                        ) -> None:
        """Read every node from the driver, rebuild usage from ``instances`` (those the
        compute manager has on this host), write the records and placement."""
        sequence = self._sequence
        instances = list(instances)
        nodenames = self.driver.get_available_nodes(refresh=True)
        for nodename in nodenames:
            resources = await self.driver.get_available_resource(nodename)
            await self._update_node(context, nodename, resources, instances, sequence)
        if nodenames:
            await self._remove_orphan_nodes(context, set(nodenames))

    async def _remove_orphan_nodes(self, context: Any, nodenames: set[str]) -> None:
        """Delete the records and providers of this host's nodes the driver no longer
        has (Nova's "Deleting orphan compute node"): a renamed hypervisor, say. A
        provider that still has allocations is kept (placement refuses), and logged."""
        for record in await self.nodes.compute_node_get_all_by_host(context, self.host):
            nodename = record["hypervisor_hostname"]
            if nodename in nodenames:
                continue
            LOG.info("Deleting orphan compute node %s hypervisor host is %s, nodes are %s",
                     record["id"], nodename, ", ".join(sorted(nodenames)))
            await self.nodes.compute_node_delete(context, record["id"])
            self.compute_nodes.pop(nodename, None)
            self.resources.pop(nodename, None)
            self.topologies.pop(nodename, None)
            if self.provider_tree.exists(record["uuid"]):
                self.provider_tree.remove(record["uuid"])
            response = await self.reporter.client.delete(
                f"/resource_providers/{record['uuid']}", version="1.14")
            if response.status_code not in (204, 404):
                LOG.warning("The resource provider %s of orphan compute node %s was not "
                            "deleted: %s %s", record["uuid"], nodename,
                            response.status_code, response.text[:200])

    def _rebuild_usage(self, nodename: str, instances: list[Any], sequence: int) -> None:
        """Usage from scratch: the listed instances of the node, plus the claims taken
        since the list was made (their instances may not be in it yet)."""
        host = self.resources[nodename].get("numa_topology")
        host = host.copy() if host is not None else None
        tracked: dict[str, Usage] = {}
        listed = set()
        for instance in instances:
            if getattr(instance, "host", self.host) not in (None, self.host):
                continue
            if getattr(instance, "node", None) not in (None, nodename):
                continue
            if getattr(instance, "vm_state", None) in _RELEASED_STATES:
                continue
            listed.add(instance.uuid)
            known = self.tracked.get(instance.uuid)
            numa = (known.numa_topology if known is not None
                    else getattr(instance, "numa_topology", None))
            tracked[instance.uuid] = Usage.of(instance, nodename, numa,
                                              known.sequence if known else 0)
        for uuid, usage in self.tracked.items():
            if (usage.nodename == nodename and uuid not in listed
                    and usage.sequence > sequence):
                tracked[uuid] = usage
        for usage in tracked.values():
            if host is None or usage.numa_topology is None:
                continue
            try:
                host = numa_usage.numa_usage_from_instance_numa(host, usage.numa_topology)
            except exception.NovaException as e:
                LOG.error("Instance %s: its NUMA usage cannot be accounted on %s: %s",
                          usage.uuid, nodename, exception.one_line(e))
        dropped = {u for u, usage in self.tracked.items()
                   if usage.nodename == nodename and u not in tracked}
        if dropped:
            LOG.info("Usage of instance(s) no longer on %s dropped: %s", nodename,
                     ", ".join(sorted(dropped)))
        for uuid in dropped:
            del self.tracked[uuid]
        self.tracked.update(tracked)
        self.topologies[nodename] = host

    async def _update_node(self, context: Any, nodename: str, resources: dict[str, Any],
                           instances: list[Any], sequence: int) -> None:
        self.resources[nodename] = resources
        self._rebuild_usage(nodename, instances, sequence)
        if nodename not in self.compute_nodes:
            await self._load_or_create_node(context, nodename)
        record = self.compute_nodes[nodename]
        # The record first, as Nova's tracker does: the scheduler sees the healed usage
        # even when placement cannot be reached; then placement, and the record again
        # for the allocation ratios placement has.
        await self._save_node(context, nodename)
        await self.reporter.sync(record["uuid"], nodename,
                                 lambda tree: self._update_provider_tree(tree, nodename,
                                                                         record["uuid"]))
        await self._save_node(context, nodename)
        await self._remove_deleted_instances_allocations(context, record["uuid"])

    async def _remove_deleted_instances_allocations(self, context: Any, rp_uuid: str
                                                    ) -> None:
        """Delete the allocations against the node of instances that are deleted (Nova's
        method of the same name): an instance deleted while its compute was down.

        A consumer that is no instance (a migration, or an instance the scheduler has
        just placed and the conductor not yet created) and an instance that lives
        elsewhere or is being scheduled keep their allocations; the latter is logged.
        """
        if self.instance_lookup is None:
            return
        client = self.reporter.client
        url = f"/resource_providers/{rp_uuid}/allocations"
        response = await client.get(url, version="1.14")
        if response.status_code != 200:
            raise exception.PlacementAPIError(call="GET " + url,
                                              status=response.status_code,
                                              text=response.text[:200])
        for consumer in sorted(response.json()["allocations"]):
            if consumer in self.tracked:
                continue
            try:
                instance = await self.instance_lookup(context, consumer)
            except exception.InstanceNotFound:
                continue
            if instance.deleted:
                deleted = await client.delete(f"/allocations/{consumer}", version="1.28")
                if deleted.status_code in (204, 404):
                    LOG.info("Deleted allocations of deleted instance %s against "
                             "provider %s", consumer, rp_uuid)
                else:
                    LOG.warning("Deleting the allocations of deleted instance %s failed: "
                                "%s %s", consumer, deleted.status_code, deleted.text[:200])
            elif instance.host and instance.host != self.host:
                LOG.warning("Instance %s has been moved to another host %s. There are "
                            "allocations remaining against the source host that might "
                            "need to be removed.", consumer, instance.host)
            elif instance.host:
                LOG.warning("Instance %s is not being actively managed by this compute "
                            "host but has allocations referencing this compute host. "
                            "Skipping heal of allocation because we do not know what to "
                            "do.", consumer)

    def _update_provider_tree(self, tree: ProviderTree, nodename: str, uuid: str) -> None:
        self.driver.update_provider_tree(tree, nodename)
        traits = {COMPUTE_NODE_TRAIT}
        removed = set()
        for capability, trait in CAPABILITY_TRAITS.items():
            (traits if self.driver.capabilities.get(capability) else removed).add(trait)
        tree.add_traits(uuid, *traits)
        tree.remove_traits(uuid, *(removed - traits))
        self.merger.merge(self.provider_configs, tree)

    async def _load_or_create_node(self, context: Any, nodename: str) -> None:
        try:
            record = await self.nodes.compute_node_get_by_host_and_nodename(
                context, self.host, nodename)
        except exception.ComputeHostNotFound:
            values = {"uuid": str(uuidlib.uuid4()), "host": self.host,
                      "hypervisor_hostname": nodename, **self._node_values(nodename)}
            record = await self.nodes.compute_node_create(context, values)
            LOG.info("Compute node record created for %s:%s with uuid: %s",
                     self.host, nodename, record["uuid"])
        self.compute_nodes[nodename] = record

    def _node_values(self, nodename: str,
                     inventory: Mapping[str, Mapping[str, Any]] | None = None
                     ) -> dict[str, Any]:
        """The record's resource columns from the driver's resources and the usage.

        As Nova's tracker: used memory and disk include the reserved amounts; the
        allocation ratios are the inventory's when placement has one.
        """
        resources = self.resources[nodename]
        usages = [u for u in self.tracked.values() if u.nodename == nodename]
        memory_mb = int(resources["memory_mb"])
        local_gb = int(resources["local_gb"])
        memory_used = self.conf.reserved_host_memory_mb + sum(u.memory_mb for u in usages)
        disk_used = (math.ceil(self.conf.reserved_host_disk_mb / 1024)
                     + sum(u.disk_gb for u in usages))
        inventory = inventory or {}
        conf = self.conf

        def ratio(rc: str, configured: float | None, initial: float) -> float:
            if rc in inventory:
                return float(inventory[rc]["allocation_ratio"])
            return float(configured) if configured else float(initial)

        return {
            "vcpus": int(resources["vcpus"]),
            "memory_mb": memory_mb,
            "local_gb": local_gb,
            "vcpus_used": sum(u.vcpus for u in usages),
            "memory_mb_used": memory_used,
            "local_gb_used": disk_used,
            "free_ram_mb": memory_mb - memory_used,
            "free_disk_gb": local_gb - disk_used,
            "running_vms": len(usages),
            "current_workload": 0,
            "hypervisor_type": resources["hypervisor_type"],
            "hypervisor_version": int(resources["hypervisor_version"]),
            "cpu_info": resources.get("cpu_info") or "{}",
            "disk_available_least": resources.get("disk_available_least"),
            "supported_instances": json.dumps(resources.get("supported_instances") or []),
            "pci_stats": None,
            "numa_topology": numa_topology_to_json(self.topologies.get(nodename)),
            "cpu_allocation_ratio": ratio("VCPU", conf.cpu_allocation_ratio,
                                          conf.initial_cpu_allocation_ratio),
            "ram_allocation_ratio": ratio("MEMORY_MB", conf.ram_allocation_ratio,
                                          conf.initial_ram_allocation_ratio),
            "disk_allocation_ratio": ratio("DISK_GB", conf.disk_allocation_ratio,
                                           conf.initial_disk_allocation_ratio),
            "stats": json.dumps(node_stats(usages, self.failed_builds.get(nodename, 0)),
                                sort_keys=True),
        }

    async def _save_node(self, context: Any, nodename: str,
                         inventory: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        record = self.compute_nodes.get(nodename)
        if record is None:
            return
        if inventory is None and self.provider_tree.exists(record["uuid"]):
            inventory = self.provider_tree.data(record["uuid"]).inventory
        values = self._node_values(nodename, inventory)
        changed = {k: v for k, v in values.items() if record.get(k) != v}
        if changed:
            self.compute_nodes[nodename] = await self.nodes.compute_node_update(
                context, record["id"], changed)


class ResourcePeriodicTask(service.Service):
    """``update_available_resource`` every ``[DEFAULT] update_resources_interval``
    seconds (0: Nova's default spacing of 60 s, negative: never after the first run),
    on the reactor's clock. The first run starts with the service; ``first_update``
    fires when it is done. ``instances`` returns (a Deferred or an awaitable of) the
    instances the compute has; an update that fails is logged, and the next one
    tries again."""

    def __init__(self, tracker: ResourceTracker, conf: Any,
                 instances: Callable[[], Any], *, context: Callable[[], Any],
                 reactor: Any = None):
        compute_node_conf.register_opts(conf)
        if reactor is None:
            from twisted.internet import reactor
        self.tracker = tracker
        self.conf = conf
        self.instances = instances
        self.context = context
        self.reactor = reactor
        self.loop: task.LoopingCall | None = None
        self.first_update: defer.Deferred = defer.Deferred()
        self._current: defer.Deferred | None = None

    @property
    def interval(self) -> float:
        interval = self.conf.update_resources_interval
        return compute_node_conf.DEFAULT_PERIODIC_INTERVAL if interval == 0 else interval

    def startService(self) -> None:
        if self.running:
            # Added to a running parent (nova-compute adds it in prepare()), it was
            # started then; the parent's start of its children must not start it again.
            return
        super().startService()
        interval = self.interval
        if interval < 0:
            self._tick()
            return
        self.loop = task.LoopingCall(self._tick)
        self.loop.clock = self.reactor
        self.loop.start(interval, now=True)

    def _tick(self) -> defer.Deferred:
        d = defer.Deferred.fromCoroutine(self.run())
        d.addBoth(self._first_done)
        self._current = d
        return d

    def _first_done(self, result: Any) -> None:
        if not self.first_update.called:
            self.first_update.callback(None)

    async def run(self) -> None:
        try:
            instances = self.instances()
            if isinstance(instances, defer.Deferred | Awaitable):
                instances = await instances
            await self.tracker.update_available_resource(self.context(), instances or ())
        except Exception as e:
            LOG.error("Error updating resources for node(s) of %s: %s", self.tracker.host,
                      exception.one_line(e))
            LOG.debug("update_available_resource failure", exc_info=True)

    def stopService(self) -> defer.Deferred:
        """Stop the loop; fires once an update in flight has finished."""
        super().stopService()
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        current, self._current = self._current, None
        if current is None or current.called:
            return defer.succeed(None)
        done: defer.Deferred = defer.Deferred()
        current.addBoth(lambda result: (done.callback(None), result)[1])
        return done


async def build_compute_node(conf: Any, *, transport: Any, reactor: Any,
                             instances: Callable[[], Any]
                             ) -> tuple[Any, ResourceTracker, ResourcePeriodicTask]:
    """The driver (``[DEFAULT] compute_driver``, its host checked by ``init_host``),
    the tracker with the provider config files, and the periodic task: what
    nova-compute prepares before its children start. A bad driver name, host file,
    CPU option or provider config file raises here, which stops the service in one
    line."""
    from nova_tx.compute.provider_config import load_provider_configs
    from nova_tx.conductor.compute_nodes_api import ComputeNodeAPI
    from nova_tx.conf import compute as compute_conf
    from nova_tx.conf import virt as virt_conf
    from nova_tx.context import RequestContext
    from nova_tx.placement.client import make_client
    from nova_tx.virt.driver import load_compute_driver

    for module in (compute_conf, compute_node_conf, virt_conf):
        module.register_opts(conf)
    driver = load_compute_driver(conf, reactor=reactor)
    await driver.init_host(conf.host)
    configs = load_provider_configs(conf.compute.provider_config_location)
    tracker = ResourceTracker(conf.host, driver, conf,
                              ComputeNodeAPI(transport, conf, reactor=reactor),
                              make_client(conf), provider_configs=configs)
    periodic = ResourcePeriodicTask(tracker, conf, instances,
                                    context=lambda: RequestContext(is_admin=True),
                                    reactor=reactor)
    return driver, tracker, periodic
