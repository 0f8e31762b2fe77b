"""Host state for every candidate host, as numpy columns, refreshed in place.

Nova's scheduler builds one ``HostState`` object per compute node on every request and
its filters and weighers walk them host by host. ``HostStates`` keeps the same fields
as columns, one row per compute node (Nova's ``(host, nodename)`` state key), next to
the NUMA arrays of the kernel (``HostArrays``, same rows), so that a filter or a
weigher is a handful of array operations over all candidate rows.

It is refreshed incrementally, never rebuilt per request:

* ``update_from_compute_node(record, service)``: a compute node record (Nova's
  ``HostState._update_from_compute_node``, including its rule that a record older than
  the state's last update, a claim among them, is ignored); a new node takes a spare
  row, and ``remove_node`` frees one.
* ``update_service(service)``: the ``services`` record of a host (ComputeFilter).
* ``update_instance_info`` / ``delete_instance_info`` / ``sync_instance_info``: the
  casts computes send (as Nova's ``HostManager`` receives them). When Nova would go to
  the database (an unknown host, a sync that does not match) these return False and
  the caller loads the host's instances and hands them to ``set_instance_info``.
* ``update_aggregates(aggregates)`` / ``delete_aggregate(aggregate)``: the API's casts.
* ``consume_from_request(row, spec_obj)``: Nova's ``HostState.consume_from_request``
  after a claim: RAM, disk, vCPUs, instances, I/O ops, and the NUMA topology and PCI
  pools through the kernel's fit and ``HostArrays.update_host``.

Rows. ``rows()`` are the rows in use; a row of a removed node is emptied and reused
by the next new node; when no row is spare the columns (and ``HostArrays``) double.

Columns (``[capacity]`` each; see ``_COLUMNS``): ``free_ram_mb``,
``total_usable_ram_mb``, ``free_disk_mb`` (``min(free_disk_gb, disk_available_least)``
MiB), ``disk_mb_used``, ``total_usable_disk_gb``, ``vcpus_total``, ``vcpus_used``, the
three allocation ratios, ``num_instances``, ``num_io_ops``, ``failed_builds`` (from the
node's ``stats``), ``hypervisor_version``, ``updated`` (epoch seconds, NaN: never),
the service's ``service_disabled``, ``service_forced_down``, ``service_heartbeat``
(``last_seen_up`` or ``created_at``, epoch seconds, NaN: none) and ``has_service``,
``pci_free`` (free PCI devices of every pool); object columns ``host``, ``nodename``,
``uuid``, ``cell_uuid``, ``hypervisor_type``, ``hypervisor_hostname``, ``cpu_info``,
``host_ip``, ``stats``; ``supported_id`` (an index into ``supported_table``, the
distinct ``supported_instances`` lists); ``hypervisor_type_id``, ``cpu_info_id`` and
``cell_uuid_id`` (indexes into ``interned[name]``, the distinct values of those
columns, so that a filter on them works once per distinct value); ``ip_version``/``ip_hi``/``ip_lo`` (the host
IP as two 64-bit words); ``traits`` (``[capacity, words]`` uint64, bit ``i`` of
``trait_names[i]``); ``metrics[name]`` (float64, NaN where a host does not report it).

Aggregates are kept as Nova keeps them (by id, with the host names of each) and read
through cached per-key arrays (``aggregate_number``, ``rows_in_aggregates``) that any
aggregate or host change invalidates.
"""
from __future__ import annotations

import collections
import copy
import dataclasses
import datetime
import ipaddress
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nova_tx.objects import numa as numa_obj
from nova_tx.scheduler import kernel
from nova_tx.scheduler.host_arrays import HostArrays
from nova_tx.virt import numa_usage, pci_affinity

__all__ = ["Aggregate", "ComputeNodeRecord", "HostState", "HostStates"]

LOG = logging.getLogger(__name__)

_NUMERIC = (
    ("free_ram_mb", np.int64), ("total_usable_ram_mb", np.int64),
    ("free_disk_mb", np.int64), ("disk_mb_used", np.int64),
    ("total_usable_disk_gb", np.int64), ("vcpus_total", np.int64), ("vcpus_used", np.int64),
    ("cpu_allocation_ratio", np.float64), ("ram_allocation_ratio", np.float64),
    ("disk_allocation_ratio", np.float64), ("num_instances", np.int64),
    ("num_io_ops", np.int64), ("failed_builds", np.int64), ("hypervisor_version", np.int64),
    ("updated", np.float64), ("service_disabled", np.bool_),
    ("service_forced_down", np.bool_), ("service_heartbeat", np.float64),
    ("has_service", np.bool_), ("pci_free", np.int64), ("supported_id", np.int32),
    ("ip_version", np.int8), ("ip_hi", np.uint64), ("ip_lo", np.uint64),
    ("active", np.bool_), ("hypervisor_type_id", np.int32), ("cpu_info_id", np.int32),
    ("cell_uuid_id", np.int32),
)
#: Object columns with few distinct values across a fleet, also kept as ``<name>_id``.
INTERNED = ("hypervisor_type", "cpu_info", "cell_uuid")
_OBJECTS = ("host", "nodename", "uuid", "cell_uuid", "hypervisor_type",
            "hypervisor_hostname", "cpu_info", "host_ip", "stats")
#: The columns ComputeCapabilitiesFilter and JsonFilter may read as Nova's HostState
#: attributes of the same names.
NUMERIC_ATTRIBUTES = frozenset(("free_ram_mb", "total_usable_ram_mb", "free_disk_mb",
                                "disk_mb_used", "total_usable_disk_gb", "vcpus_total",
                                "vcpus_used", "cpu_allocation_ratio", "ram_allocation_ratio",
                                "disk_allocation_ratio", "num_instances", "num_io_ops",
                                "failed_builds", "hypervisor_version"))
STRING_ATTRIBUTES = frozenset(("host", "nodename", "uuid", "cell_uuid", "hypervisor_type",
                               "hypervisor_hostname", "cpu_info", "host_ip"))
#: Every data attribute of Nova's HostState (an unscoped extra spec naming one is
#: checked by ComputeCapabilitiesFilter).
HOST_STATE_ATTRIBUTES = NUMERIC_ATTRIBUTES | STRING_ATTRIBUTES | frozenset((
    "stats", "metrics", "numa_topology", "pci_stats", "supported_instances", "limits",
    "instances", "aggregates", "updated", "service", "allocation_candidates"))

_INITIAL_CAPACITY = 16


def _epoch(value: datetime.datetime | float | int | str | None) -> float:
    """Seconds since the epoch of a record's timestamp (naive datetimes are UTC)."""
    if value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.timestamp()


def _json(value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return json.loads(value)
    return value


@dataclasses.dataclass
class ComputeNodeRecord:
    """What the scheduler reads of a ``compute_nodes`` row (Nova's ComputeNode fields).

    ``nova_tx.objects.compute_node.ComputeNode`` carries only what the operator
    commands read; this is the scheduler's view of the same row. ``from_primitive``
    accepts the row's JSON columns as stored (``stats``, ``metrics``,
    ``numa_topology``, ``supported_instances``, ``pci_stats``) or decoded.
    """

    uuid: str
    host: str
    hypervisor_hostname: str
    memory_mb: int = 0
    memory_mb_used: int = 0
    #: Nova's column; None: ``memory_mb - memory_mb_used``. May be negative.
    free_ram_mb: int | None = None
    local_gb: int = 0
    local_gb_used: int = 0
    free_disk_gb: int | None = None
    disk_available_least: int | None = None
    vcpus: int = 0
    vcpus_used: int = 0
    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5
    disk_allocation_ratio: float = 1.0
    hypervisor_type: str | None = None
    hypervisor_version: int = 0
    cpu_info: str = ""
    #: ``supported_hv_specs``: (architecture, hypervisor type, vm mode) triples.
    supported_instances: Sequence[Sequence[str]] = ()
    host_ip: str | None = None
    stats: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Monitor metrics: ``{"name", "value", "timestamp", "source"}`` dicts.
    metrics: Sequence[Mapping[str, Any]] = ()
    numa_topology: numa_obj.NUMATopology | None = None
    #: Free PCI device pools (``pci_stats``); None: the node reports none.
    pci_pools: Sequence[numa_obj.PciDevicePool] | None = None
    cell_uuid: str | None = None
    updated_at: datetime.datetime | float | None = None
    traits: Iterable[str] = ()

    @classmethod
    def from_primitive(cls, values: Mapping[str, Any]) -> ComputeNodeRecord:
        fields = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in values.items() if k in fields}
        known["stats"] = _json(values.get("stats"), {})
        known["metrics"] = _json(values.get("metrics"), [])
        specs = values.get("supported_instances", values.get("supported_hv_specs"))
        known["supported_instances"] = [tuple(s) for s in _json(specs, [])]
        topology = _json(values.get("numa_topology"), None)
        if isinstance(topology, Mapping):
            # Nova's column wraps the object: {"nova_object.data": {...}}.
            topology = topology.get("nova_object.data", topology)
            topology = numa_obj.NUMATopology.from_dict(topology)
        known["numa_topology"] = topology
        pools = values.get("pci_pools", values.get("pci_stats"))
        pools = _json(pools, None)
        if isinstance(pools, Mapping):
            pools = pools.get("nova_object.data", pools).get("objects", [])
        known["pci_pools"] = (None if pools is None else
                              [p if isinstance(p, numa_obj.PciDevicePool)
                               else numa_obj.PciDevicePool.from_dict(p) for p in pools])
        return cls(**known)


@dataclasses.dataclass
class Aggregate:
    """A host aggregate as the API casts it to the scheduler (Nova's ``Aggregate``)."""

    id: int
    uuid: str | None = None
    name: str | None = None
    hosts: list[str] = dataclasses.field(default_factory=list)
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_primitive(cls, values: Mapping[str, Any]) -> Aggregate:
        values = values.get("nova_object.data", values)
        return cls(id=values["id"], uuid=values.get("uuid"), name=values.get("name"),
                   hosts=list(values.get("hosts") or ()),
                   metadata={str(k): str(v) for k, v in (values.get("metadata") or {}).items()})


def _as_aggregate(value: Any) -> Aggregate:
    if isinstance(value, Aggregate):
        return value
    if isinstance(value, Mapping):
        return Aggregate.from_primitive(value)
    return Aggregate(id=value.id, uuid=getattr(value, "uuid", None),
                     name=getattr(value, "name", None), hosts=list(value.hosts or ()),
                     metadata=dict(value.metadata or {}))


def _uuid_of(instance: Any) -> str:
    if isinstance(instance, str):
        return instance
    if isinstance(instance, Mapping):
        return instance.get("nova_object.data", instance)["uuid"]
    return instance.uuid


def _ip_words(value: str | None) -> tuple[int, int, int]:
    """(version, high 64 bits, low 64 bits); version 0 when there is no valid IP."""
    if not value:
        return 0, 0, 0
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        return 0, 0, 0
    number = int(address)
    return address.version, number >> 64, number & 0xFFFFFFFFFFFFFFFF


@dataclasses.dataclass
class HostState:
    """One row read back as Nova's ``HostState`` object, for filters that walk hosts."""

    host: str
    nodename: str
    uuid: str
    cell_uuid: str | None
    free_ram_mb: int
    total_usable_ram_mb: int
    free_disk_mb: int
    disk_mb_used: int
    total_usable_disk_gb: int
    vcpus_total: int
    vcpus_used: int
    cpu_allocation_ratio: float
    ram_allocation_ratio: float
    disk_allocation_ratio: float
    num_instances: int
    num_io_ops: int
    failed_builds: int
    hypervisor_type: str | None
    hypervisor_version: int
    hypervisor_hostname: str | None
    cpu_info: str
    host_ip: str | None
    stats: dict[str, Any]
    supported_instances: list[tuple]
    metrics: list[dict[str, Any]]
    numa_topology: numa_obj.NUMATopology | None
    pci_stats: list[numa_obj.PciDevicePool] | None
    instances: dict[str, Any]
    aggregates: list[Aggregate]
    service: dict[str, Any] | None
    updated: float | None
    limits: dict[str, Any] = dataclasses.field(default_factory=dict)


class HostStates:
    """Every compute node's scheduling state, one row per node (module docstring)."""

    def __init__(self, capacity: int = _INITIAL_CAPACITY,
                 clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.capacity = 0
        for name, dtype in _NUMERIC:
            setattr(self, name, np.zeros(0, dtype=dtype))
        for name in _OBJECTS:
            setattr(self, name, np.empty(0, dtype=object))
        self.traits = np.zeros((0, 1), dtype=np.uint64)
        self.trait_names: list[str] = []
        self._trait_index: dict[str, int] = {}
        self.metrics: dict[str, np.ndarray] = {}
        self._metrics_raw: dict[int, list[dict[str, Any]]] = {}
        self.interned: dict[str, list[Any]] = {name: [None] for name in INTERNED}
        self._intern_index: dict[str, dict[Any, int]] = {name: {None: 0} for name in INTERNED}
        self.supported_table: list[tuple[tuple[str, ...], ...]] = [()]
        self._supported_index: dict[tuple, int] = {(): 0}
        self.arrays = HostArrays(0)
        self._free: list[int] = []
        self._used = 0
        self.node_rows: dict[tuple[str, str], int] = {}
        self.uuid_rows: dict[str, int] = {}
        self.host_rows: dict[str, list[int]] = {}
        self.services: dict[str, Any] = {}
        self.stats_keys: collections.Counter[str] = collections.Counter()
        # Aggregates, as Nova's HostManager keeps them.
        self.aggregates: dict[int, Aggregate] = {}
        self.host_aggregates: dict[str, set[int]] = collections.defaultdict(set)
        # Instances, as Nova's HostManager._instance_info: host -> {uuid: instance}.
        self.instance_info: dict[str, dict[str, Any]] = {}
        self._instance_hosts: dict[str, set[str]] = collections.defaultdict(set)
        # Member rows per aggregate, and answers per key derived from them.
        self._rows_cache: dict[int, np.ndarray] = {}
        self._cache: dict[Any, np.ndarray] = {}
        self._resize(max(capacity, 1))

    # -- rows ----------------------------------------------------------------------------

    def _resize(self, capacity: int) -> None:
        old = self.capacity

        def longer(array: np.ndarray) -> np.ndarray:
            new = (np.empty if array.dtype == object else np.zeros)(
                (capacity, *array.shape[1:]), dtype=array.dtype)
            new[:old] = array
            return new

        for name, _ in _NUMERIC:
            setattr(self, name, longer(getattr(self, name)))
        for name in _OBJECTS:
            setattr(self, name, longer(getattr(self, name)))
        for name, column in self.metrics.items():
            grown = np.full(capacity, np.nan)
            grown[:old] = column
            self.metrics[name] = grown
        self.traits = longer(self.traits)
        self.updated[old:] = np.nan
        self.service_heartbeat[old:] = np.nan
        self.arrays.resize(capacity)
        self.capacity = capacity

    def _allocate_row(self) -> int:
        if self._free:
            return self._free.pop()
        if self._used == self.capacity:
            self._resize(self.capacity * 2)
        row = self._used
        self._used += 1
        return row

    def rows(self) -> np.ndarray:
        """The rows in use, ascending."""
        return np.flatnonzero(self.active[:self._used])

    def __len__(self) -> int:
        return int(self.active.sum())

    def row_of(self, host: str, nodename: str) -> int | None:
        return self.node_rows.get((host, nodename))

    def rows_of_host(self, host: str) -> list[int]:
        return self.host_rows.get(host, [])

    def rows_of_uuids(self, uuids: Iterable[str]) -> np.ndarray:
        return np.array([self.uuid_rows[u] for u in uuids if u in self.uuid_rows],
                        dtype=np.int64)

    # -- compute node records ------------------------------------------------------------

    def update_from_compute_node(self, record: ComputeNodeRecord | Mapping[str, Any],
                                 service: Any = None) -> int:
        """Add or refresh the row of one compute node; its row.

        As Nova, a record older than the row's last update (a claim since it was read
        counts as one) changes nothing.
        """
        if isinstance(record, Mapping):
            record = ComputeNodeRecord.from_primitive(record)
        key = (record.host, record.hypervisor_hostname)
        row = self.node_rows.get(key)
        if row is None:
            row = self._add_node(record)
        else:
            updated_at = _epoch(record.updated_at)
            if (not math.isnan(self.updated[row]) and not math.isnan(updated_at)
                    and self.updated[row] > updated_at):
                if service is not None:
                    self.update_service(service)
                return row
        self._write_record(row, record)
        if service is not None:
            self.update_service(service)
        return row

    def update_from_compute_nodes(self, records: Iterable[Any]) -> list[int]:
        return [self.update_from_compute_node(r) for r in records]

    def _add_node(self, record: ComputeNodeRecord) -> int:
        row = self._allocate_row()
        self.active[row] = True
        self.node_rows[(record.host, record.hypervisor_hostname)] = row
        self.host_rows.setdefault(record.host, []).append(row)
        self.host[row] = record.host
        self.nodename[row] = record.hypervisor_hostname
        self.stats[row] = {}
        service = self.services.get(record.host)
        if service is not None:
            self._write_service(row, service)
        self._invalidate(self.host_aggregates.get(record.host, ()))
        return row

    def remove_node(self, host: str, nodename: str) -> None:
        """Forget a compute node (deleted); its row is emptied for reuse."""
        row = self.node_rows.pop((host, nodename), None)
        if row is None:
            return
        rows = self.host_rows[host]
        rows.remove(row)
        if not rows:
            del self.host_rows[host]
        if self.uuid[row] is not None and self.uuid_rows.get(self.uuid[row]) == row:
            del self.uuid_rows[self.uuid[row]]
        for key in self.stats[row] or {}:
            self._forget_stat_key(key)
        for name, _ in _NUMERIC:
            getattr(self, name)[row] = 0
        for name in _OBJECTS:
            getattr(self, name)[row] = None
        for column in self.metrics.values():
            column[row] = np.nan
        self._metrics_raw.pop(row, None)
        self.traits[row] = 0
        self.updated[row] = np.nan
        self.service_heartbeat[row] = np.nan
        self.arrays.update_host(row, None, None, 16.0, 1.5)
        self._free.append(row)
        self._invalidate(self.host_aggregates.get(host, ()))

    def _forget_stat_key(self, key: str) -> None:
        self.stats_keys[key] -= 1
        if self.stats_keys[key] <= 0:
            del self.stats_keys[key]

    def _write_record(self, row: int, record: ComputeNodeRecord) -> None:
        if record.uuid != self.uuid[row]:
            if self.uuid[row] is not None:
                self.uuid_rows.pop(self.uuid[row], None)
            self.uuid_rows[record.uuid] = row
        self.uuid[row] = record.uuid
        self.cell_uuid[row] = record.cell_uuid
        free_gb = record.free_disk_gb
        if free_gb is None:
            free_gb = record.local_gb - record.local_gb_used
        if record.disk_available_least is not None:
            # Nova: the qcow2 case, virtual size counted as used.
            free_gb = min(record.disk_available_least, free_gb)
        self.free_disk_mb[row] = int(free_gb * 1024)
        self.disk_mb_used[row] = int(record.local_gb_used * 1024)
        self.free_ram_mb[row] = (record.memory_mb - record.memory_mb_used
                                 if record.free_ram_mb is None else record.free_ram_mb)
        self.total_usable_ram_mb[row] = record.memory_mb
        self.total_usable_disk_gb[row] = record.local_gb
        self.vcpus_total[row] = record.vcpus
        self.vcpus_used[row] = record.vcpus_used
        self.updated[row] = _epoch(record.updated_at)
        self.host_ip[row] = None if record.host_ip is None else str(record.host_ip)
        self.ip_version[row], self.ip_hi[row], self.ip_lo[row] = _ip_words(record.host_ip)
        self.hypervisor_type[row] = record.hypervisor_type
        self.hypervisor_version[row] = int(record.hypervisor_version or 0)
        self.hypervisor_hostname[row] = record.hypervisor_hostname
        self.cpu_info[row] = record.cpu_info
        for name in INTERNED:
            self._intern(row, name, getattr(self, name)[row])
        supported = tuple(tuple(spec) for spec in record.supported_instances or ())
        index = self._supported_index.get(supported)
        if index is None:
            index = self._supported_index[supported] = len(self.supported_table)
            self.supported_table.append(supported)
        self.supported_id[row] = index
        stats = dict(record.stats or {})
        for key in self.stats[row] or {}:
            self._forget_stat_key(key)
        self.stats_keys.update(stats.keys())
        self.stats[row] = stats
        self.num_instances[row] = int(stats.get("num_instances", 0))
        self.num_io_ops[row] = int(stats.get("io_workload", 0))
        self.failed_builds[row] = int(stats.get("failed_builds", 0))
        self._write_metrics(row, _json(record.metrics, []) or [])
        self.cpu_allocation_ratio[row] = record.cpu_allocation_ratio
        self.ram_allocation_ratio[row] = record.ram_allocation_ratio
        self.disk_allocation_ratio[row] = record.disk_allocation_ratio
        self.set_traits(row, record.traits or ())
        self._write_numa(row, record.numa_topology, record.pci_pools)

    def _write_numa(self, row: int, topology: numa_obj.NUMATopology | None,
                    pools: Sequence[numa_obj.PciDevicePool] | None) -> None:
        self.arrays.update_host(row, topology, None if pools is None else list(pools),
                                float(self.cpu_allocation_ratio[row]),
                                float(self.ram_allocation_ratio[row]))
        self.pci_free[row] = sum(p.count for p in pools or ())

    def _intern(self, row: int, name: str, value: Any) -> None:
        index = self._intern_index[name].get(value)
        if index is None:
            index = self._intern_index[name][value] = len(self.interned[name])
            self.interned[name].append(value)
        getattr(self, f"{name}_id")[row] = index

    def _write_metrics(self, row: int, metrics: Sequence[Mapping[str, Any]]) -> None:
        for column in self.metrics.values():
            column[row] = np.nan
        raw = []
        for metric in metrics:
            metric = dict(metric)
            raw.append(metric)
            column = self.metrics.get(metric["name"])
            if column is None:
                column = self.metrics[metric["name"]] = np.full(self.capacity, np.nan)
            column[row] = float(metric["value"])
        self._metrics_raw[row] = raw

    def set_traits(self, row: int, traits: Iterable[str]) -> None:
        """The node's traits (a bitset over ``trait_names``)."""
        self.traits[row] = 0
        for trait in traits:
            index = self._trait_index.get(trait)
            if index is None:
                index = self._trait_index[trait] = len(self.trait_names)
                self.trait_names.append(trait)
                if index // 64 >= self.traits.shape[1]:
                    wider = np.zeros((self.capacity, self.traits.shape[1] + 1), dtype=np.uint64)
                    wider[:, :-1] = self.traits
                    self.traits = wider
            self.traits[row, index // 64] |= np.uint64(1 << (index % 64))

    def rows_with_traits(self, rows: np.ndarray, required: Iterable[str] = (),
                         forbidden: Iterable[str] = ()) -> np.ndarray:
        """Mask over ``rows``: has every required trait and none of the forbidden."""
        mask = np.ones(len(rows), dtype=bool)
        for traits, want in ((required, True), (forbidden, False)):
            for trait in traits:
                index = self._trait_index.get(trait)
                if index is None:
                    if want:
                        mask[:] = False
                    continue
                bit = np.uint64(1 << (index % 64))
                mask &= ((self.traits[rows, index // 64] & bit) != 0) == want
        return mask

    # -- services ------------------------------------------------------------------------

    def update_service(self, service: Any) -> None:
        """The ``services`` record of a compute host (any object or dict with Nova's
        ``host``, ``disabled``, ``forced_down``, ``last_seen_up``, ``created_at``)."""
        host = service["host"] if isinstance(service, Mapping) else service.host
        self.services[host] = service
        for row in self.host_rows.get(host, ()):
            self._write_service(row, service)

    def _write_service(self, row: int, service: Any) -> None:
        get = service.get if isinstance(service, Mapping) else (
            lambda name, default=None: getattr(service, name, default))
        self.has_service[row] = True
        self.service_disabled[row] = bool(get("disabled", False))
        self.service_forced_down[row] = bool(get("forced_down", False))
        self.service_heartbeat[row] = _epoch(get("last_seen_up") or get("created_at"))

    # -- instances (update_instance_info / delete_instance_info / sync_instance_info) ---

    def update_instance_info(self, host: str, instances: Iterable[Any]) -> bool:
        """Nova's ``update_instance_info``: the host's new or changed instances.

        False when the host was unknown: Nova then reads the host's instances from
        the database; the caller does that and calls ``set_instance_info``.
        """
        known = self.instance_info.get(host)
        instances = list(instances)
        if known is None:
            self.set_instance_info(host, instances)
            return False
        for instance in instances:
            uuid = _uuid_of(instance)
            known[uuid] = instance
            self._instance_hosts[uuid].add(host)
        return True

    def delete_instance_info(self, host: str, instance_uuid: str) -> bool:
        """Nova's ``delete_instance_info``; False when the host was unknown (reload)."""
        known = self.instance_info.get(host)
        if known is None:
            return False
        known.pop(instance_uuid, None)
        self._forget_instance_host(instance_uuid, host)
        return True

    def sync_instance_info(self, host: str, instance_uuids: Iterable[str]) -> bool:
        """Nova's ``sync_instance_info``: True when the host's instances match the
        compute's list; False when they do not or the host is unknown (Nova then
        re-creates the host's list from the database: ``set_instance_info``)."""
        known = self.instance_info.get(host)
        if known is None:
            LOG.info("Received a sync request from an unknown host '%s'. Re-created its "
                     "InstanceList.", host)
            return False
        if set(known) != set(instance_uuids):
            LOG.info("The instance sync for host '%s' did not match. Re-created its "
                     "InstanceList.", host)
            return False
        LOG.debug("Successfully synced instances from host '%s'.", host)
        return True

    def set_instance_info(self, host: str, instances: Iterable[Any]) -> None:
        """Replace the host's instances (after reading them from the database)."""
        for uuid in self.instance_info.get(host, {}):
            self._forget_instance_host(uuid, host)
        table = {}
        for instance in instances:
            uuid = _uuid_of(instance)
            table[uuid] = instance
            self._instance_hosts[uuid].add(host)
        self.instance_info[host] = table

    def _forget_instance_host(self, uuid: str, host: str) -> None:
        hosts = self._instance_hosts.get(uuid)
        if hosts is not None:
            hosts.discard(host)
            if not hosts:
                del self._instance_hosts[uuid]

    def hosts_of_instance(self, uuid: str) -> set[str]:
        return self._instance_hosts.get(uuid, set())

    def rows_with_any_instance(self, uuids: Iterable[str]) -> np.ndarray:
        """Mask over every row: the node's host has one of ``uuids`` (``instances``)."""
        mask = np.zeros(self.capacity, dtype=bool)
        for uuid in uuids:
            for host in self._instance_hosts.get(uuid, ()):
                mask[self.host_rows.get(host, [])] = True
        return mask

    def instance_counts(self, uuids: Iterable[str]) -> np.ndarray:
        """Per row, how many of ``uuids`` are on the node's host."""
        counts = np.zeros(self.capacity, dtype=np.int64)
        for uuid in set(uuids):
            for host in self._instance_hosts.get(uuid, ()):
                rows = self.host_rows.get(host)
                if rows:
                    counts[rows] += 1
        return counts

    # -- aggregates (update_aggregates / delete_aggregate) ------------------------------

    def update_aggregates(self, aggregates: Any) -> None:
        """Nova's ``update_aggregates``: one aggregate or a list, added or replaced."""
        if not isinstance(aggregates, list | tuple):
            aggregates = [aggregates]
        aggregates = [_as_aggregate(a) for a in aggregates]
        for aggregate in aggregates:
            self._update_aggregate(aggregate)
        self._invalidate([a.id for a in aggregates])

    def _update_aggregate(self, aggregate: Aggregate) -> None:
        self.aggregates[aggregate.id] = aggregate
        for host in aggregate.hosts:
            self.host_aggregates[host].add(aggregate.id)
        members = set(aggregate.hosts)
        for host, ids in self.host_aggregates.items():
            if aggregate.id in ids and host not in members:
                ids.discard(aggregate.id)

    def delete_aggregate(self, aggregate: Any) -> None:
        """Nova's ``delete_aggregate``."""
        aggregate = _as_aggregate(aggregate)
        self.aggregates.pop(aggregate.id, None)
        for host in aggregate.hosts:
            self.host_aggregates[host].discard(aggregate.id)
        self._invalidate([aggregate.id])

    def _invalidate(self, aggregate_ids: Iterable[int]) -> None:
        """Forget the member rows of these aggregates and every per-key answer."""
        for aggregate_id in list(aggregate_ids):
            self._rows_cache.pop(aggregate_id, None)
        self._cache.clear()

    def aggregates_of_host(self, host: str) -> list[Aggregate]:
        return [self.aggregates[i] for i in sorted(self.host_aggregates.get(host, ()))
                if i in self.aggregates]

    def aggregate_rows(self, aggregate_id: int) -> np.ndarray:
        """The rows of the aggregate's member hosts (cached)."""
        rows = self._rows_cache.get(aggregate_id)
        if rows is None:
            aggregate = self.aggregates.get(aggregate_id)
            members = set(aggregate.hosts) if aggregate is not None else set()
            rows = np.array([r for h in members for r in self.host_rows.get(h, ())],
                            dtype=np.int64)
            self._rows_cache[aggregate_id] = rows
        return rows

    def rows_in_aggregates(self, predicate: Callable[[Aggregate], bool],
                           key: Any = None) -> np.ndarray:
        """Mask over every row: the node's host is in an aggregate ``predicate`` takes.

        ``key``, when given, names the predicate for the cache (aggregate changes clear
        it); per-request predicates pass None.
        """
        if key is not None and ("agg", key) in self._cache:
            return self._cache[("agg", key)]
        mask = np.zeros(self.capacity, dtype=bool)
        for aggregate in self.aggregates.values():
            if predicate(aggregate):
                mask[self.aggregate_rows(aggregate.id)] = True
        if key is not None:
            self._cache[("agg", key)] = mask
        return mask

    def aggregate_number(self, key: str, cast: Callable[[str], Any] = float) -> np.ndarray:
        """Per row: the smallest ``cast`` value of ``key`` over the host's aggregates.

        NaN where the host has none, or where one does not cast (Nova's
        ``validate_num_values``: the caller's default then applies, with a warning).
        """
        cache_key = ("number", key, cast)
        values = self._cache.get(cache_key)
        if values is not None:
            return values
        lowest = np.full(self.capacity, np.inf)
        bad = np.zeros(self.capacity, dtype=bool)
        has = np.zeros(self.capacity, dtype=bool)
        for aggregate in self.aggregates.values():
            if key not in aggregate.metadata:
                continue
            rows = self.aggregate_rows(aggregate.id)
            has[rows] = True
            try:
                number = float(cast(aggregate.metadata[key]))
            except (TypeError, ValueError) as e:
                LOG.warning("Could not decode '%s' aggregate value: %s", key, e)
                bad[rows] = True
                continue
            lowest[rows] = np.minimum(lowest[rows], number)
        values = np.where(has & ~bad, lowest, np.nan)
        self._cache[cache_key] = values
        return values

    def aggregate_number_or(self, key: str, default: float, rows: np.ndarray,
                            cast: Callable[[str], Any] = float) -> np.ndarray:
        """``aggregate_number`` over ``rows``, ``default`` where it has none."""
        if not self.aggregates:
            return np.full(len(rows), default, dtype=np.float64)
        values = self.aggregate_number(key, cast)[rows]
        return np.where(np.isnan(values), default, values)

    # -- claims ---------------------------------------------------------------------------

    def consume_from_request(self, row: int, spec_obj: Any, instance_uuid: str | None = None,
                             pack: bool = False) -> numa_obj.InstanceNUMATopology | None:
        """Nova's ``HostState.consume_from_request`` on one row; the fitted NUMA topology.

        RAM, disk and vCPUs are taken, ``num_instances`` and ``num_io_ops`` grow by
        one, and a NUMA guest is fitted again (with the host's own allocation ratios and
        the request's networks, as the NUMATopologyFilter did) and accounted into the
        row's topology, its PCI devices taken from the row's pools; ``spec_obj``'s
        ``numa_topology`` becomes the fitted one, as in Nova. With ``instance_uuid`` and
        a server group, Nova's ``_consume_selected_host`` bookkeeping follows: the host
        joins ``instance_group.hosts`` and the instance the host's instances, so the
        (anti-)affinity filters see earlier members of the same multi-create.
        """
        flavor = spec_obj.flavor
        disk_mb = (int(getattr(flavor, "root_gb", 0) or 0)
                   + int(getattr(flavor, "ephemeral_gb", 0) or 0)) * 1024
        self.free_ram_mb[row] -= int(flavor.memory_mb)
        self.free_disk_mb[row] -= disk_mb
        self.vcpus_used[row] += int(flavor.vcpus)
        self.num_instances[row] += 1
        topology = self.arrays.topologies[row]
        pools = self.arrays.pci_pools[row]
        requests = list(getattr(spec_obj, "pci_requests", None) or ())
        requests = requests if requests and pools is not None else []
        fitted = None
        guest = getattr(spec_obj, "numa_topology", None)
        new_topology = topology
        if topology and guest:
            limits = numa_obj.NUMATopologyLimits(
                cpu_allocation_ratio=float(self.cpu_allocation_ratio[row]),
                ram_allocation_ratio=float(self.ram_allocation_ratio[row]),
                network_metadata=getattr(spec_obj, "network_metadata", None))
            request = kernel.FitRequest(guest, limits, requests, pack=pack, host_limits=True)
            fitted = kernel.fit_hosts(request, self.arrays, hosts=(),
                                      want_details_for=(row,)).fitted[row]
            if fitted is not None:
                new_topology = numa_usage.numa_usage_from_instance_numa(topology, fitted)
                spec_obj.numa_topology = fitted
        new_pools = pools
        if requests:
            cells = fitted.cells if fitted is not None else None
            taken = pci_affinity.apply_requests(list(pools), requests, cells, topology)
            if taken is None:
                LOG.warning("PCI devices of the request could not be taken from %s",
                            self.host[row])
            else:
                new_pools = taken
        if new_topology is not topology or new_pools is not pools:
            self._write_numa(row, new_topology, new_pools)
        # Nova: whatever the request, a claim is an I/O operation (a build or a move).
        self.num_io_ops[row] += 1
        self.updated[row] = self.clock()
        group = getattr(spec_obj, "instance_group", None)
        if group is not None and instance_uuid is not None:
            host = self.host[row]
            if group.hosts is None:
                group.hosts = []
            group.hosts.append(host)
            known = self.instance_info.setdefault(host, {})
            if instance_uuid not in known:
                known[instance_uuid] = instance_uuid
                self._instance_hosts[instance_uuid].add(host)
        return fitted

    # -- reading back ---------------------------------------------------------------------

    def limits(self, row: int, spec_obj: Any) -> dict[str, Any]:
        """What Nova's filters leave in ``host_state.limits`` for a passing row (the
        Selection's ``limits``): the NUMATopologyFilter's ``numa_topology`` limits (the
        host's ratios and the request's networks) for a NUMA guest on a NUMA host."""
        if not (self.arrays.topologies[row] and getattr(spec_obj, "numa_topology", None)):
            return {}
        return {"numa_topology": numa_obj.NUMATopologyLimits(
            cpu_allocation_ratio=float(self.cpu_allocation_ratio[row]),
            ram_allocation_ratio=float(self.ram_allocation_ratio[row]),
            network_metadata=getattr(spec_obj, "network_metadata", None))}

    def host_state(self, row: int) -> HostState:
        """The row as Nova's ``HostState`` (a copy: changing it changes nothing here)."""
        host = self.host[row]
        service = self.services.get(host)
        if service is not None and not isinstance(service, Mapping):
            service = (service.to_primitive() if hasattr(service, "to_primitive")
                       else dict(vars(service)))
        updated = self.updated[row]
        return HostState(
            host=host, nodename=self.nodename[row], uuid=self.uuid[row],
            cell_uuid=self.cell_uuid[row],
            **{name: getattr(self, name)[row].item() for name in NUMERIC_ATTRIBUTES},
            hypervisor_type=self.hypervisor_type[row],
            hypervisor_hostname=self.hypervisor_hostname[row],
            cpu_info=self.cpu_info[row], host_ip=self.host_ip[row],
            stats=dict(self.stats[row] or {}),
            supported_instances=[list(s) for s in self.supported_table[self.supported_id[row]]],
            metrics=copy.deepcopy(self._metrics_raw.get(row, [])),
            numa_topology=self.arrays.topologies[row],
            pci_stats=self.arrays.pci_pools[row],
            instances=dict(self.instance_info.get(host, {})),
            aggregates=self.aggregates_of_host(host),
            service=None if service is None else dict(service),
            updated=None if math.isnan(updated) else float(updated))
