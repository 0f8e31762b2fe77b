"""NUMA, CPU pinning, huge page and PCI-affinity objects, with Nova's names (spec/E §2.1).

Plain mutable dataclasses: the reference rules in ``nova_tx.virt.hardware`` copy them
before changing anything, so a caller's objects are never altered behind its back.

Each class has ``to_dict()`` / ``from_dict()``. The dict form is the JSON that
``docs/numa.md`` documents (a host with its current usage, a flavor with extra specs,
image properties, PCI pools and requests), the one ``nova-manage numa fit`` reads.
CPU sets are written as sorted lists of ints; ``from_dict`` also takes a CPU set
specification string (``"0-3,^2"``), which is how operators write them.

Units: cell and guest memory in MiB, page sizes in KiB (as in Nova).
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from nova_tx import exception
from nova_tx.virt.cpuset import parse_cpu_spec

# Nova's field values (nova.objects.fields), spelled once.
CPU_POLICY_SHARED = "shared"
CPU_POLICY_DEDICATED = "dedicated"
CPU_POLICY_MIXED = "mixed"
CPU_POLICIES = (CPU_POLICY_DEDICATED, CPU_POLICY_SHARED, CPU_POLICY_MIXED)
PINNED_CPU_POLICIES = (CPU_POLICY_DEDICATED, CPU_POLICY_MIXED)

THREAD_POLICY_PREFER = "prefer"
THREAD_POLICY_ISOLATE = "isolate"
THREAD_POLICY_REQUIRE = "require"
THREAD_POLICIES = (THREAD_POLICY_PREFER, THREAD_POLICY_ISOLATE, THREAD_POLICY_REQUIRE)

EMULATOR_THREADS_SHARE = "share"
EMULATOR_THREADS_ISOLATE = "isolate"
EMULATOR_THREADS_POLICIES = (EMULATOR_THREADS_SHARE, EMULATOR_THREADS_ISOLATE)

PCI_NUMA_REQUIRED = "required"
PCI_NUMA_LEGACY = "legacy"
PCI_NUMA_PREFERRED = "preferred"
PCI_NUMA_SOCKET = "socket"
PCI_NUMA_POLICIES = (PCI_NUMA_REQUIRED, PCI_NUMA_LEGACY, PCI_NUMA_PREFERRED, PCI_NUMA_SOCKET)

# Symbolic guest page sizes (InstanceNUMACell.pagesize before a fit chooses KiB).
MEMPAGES_SMALL = -1
MEMPAGES_LARGE = -2
MEMPAGES_ANY = -3

__all__ = [
    "Flavor",
    "ImageMeta",
    "InstanceNUMACell",
    "InstanceNUMATopology",
    "InstancePCIRequest",
    "NUMACell",
    "NUMAFitRequest",
    "NUMAPagesTopology",
    "NUMATopology",
    "NUMATopologyLimits",
    "NetworkMetadata",
    "PciDevicePool",
    "VirtCPUTopology",
]


def _cpus(value: Any, what: str) -> set[int]:
    """A CPU set from JSON: a list of ints or a CPU set specification string."""
    if value is None:
        return set()
    if isinstance(value, str):
        return parse_cpu_spec(value)
    try:
        return {int(cpu) for cpu in value}
    except (TypeError, ValueError):
        raise exception.Invalid(f"{what} must be a list of CPU numbers or a CPU set "
                                f"specification, got {value!r}") from None


def _sorted(cpus: Iterable[int]) -> list[int]:
    return sorted(cpus)


def _require(data: Mapping[str, Any], key: str, what: str) -> Any:
    try:
        return data[key]
    except KeyError:
        raise exception.Invalid(f"{what} needs '{key}'") from None
    except TypeError:
        raise exception.Invalid(f"{what} must be a JSON object, got {data!r}") from None


@dataclasses.dataclass
class NUMAPagesTopology:
    """One page size of a host cell: how many pages exist, are used and are reserved."""

    size_kb: int
    total: int
    used: int = 0
    reserved: int = 0

    @property
    def free(self) -> int:
        return self.total - self.used - self.reserved

    @property
    def free_kb(self) -> int:
        return self.free * self.size_kb

    @property
    def total_kb(self) -> int:
        return self.total * self.size_kb

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NUMAPagesTopology:
        what = "a page size entry"
        return cls(size_kb=int(_require(data, "size_kb", what)),
                   total=int(_require(data, "total", what)),
                   used=int(data.get("used", 0)),
                   reserved=int(data.get("reserved", 0)))


@dataclasses.dataclass
class NetworkMetadata:
    """The physnets and tunnel a host cell is affine to, or a request needs (§2.10.3)."""

    physnets: set[str] = dataclasses.field(default_factory=set)
    tunneled: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"physnets": sorted(self.physnets), "tunneled": self.tunneled}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> NetworkMetadata:
        data = data or {}
        return cls(physnets=set(data.get("physnets", ())), tunneled=bool(data.get("tunneled")))


@dataclasses.dataclass
class NUMACell:
    """A host NUMA node with its current usage (Nova's ``objects.NUMACell``).

    ``cpuset`` holds the shared (VCPU) CPUs of the node and ``pcpuset`` the dedicated
    (PCPU) ones; on a host with neither ``cpu_shared_set`` nor ``cpu_dedicated_set`` both
    hold every CPU of the node (the legacy layout, spec/E §3.2). ``siblings`` lists the
    hyperthread sibling sets, ordered by their lowest CPU (the ordering the pinning
    rules depend on, spec/E §2.8).
    """

    id: int
    cpuset: set[int] = dataclasses.field(default_factory=set)
    pcpuset: set[int] = dataclasses.field(default_factory=set)
    memory: int = 0
    cpu_usage: int = 0
    memory_usage: int = 0
    pinned_cpus: set[int] = dataclasses.field(default_factory=set)
    siblings: list[set[int]] = dataclasses.field(default_factory=list)
    mempages: list[NUMAPagesTopology] = dataclasses.field(default_factory=list)
    network_metadata: NetworkMetadata = dataclasses.field(default_factory=NetworkMetadata)
    socket: int | None = None

    def __post_init__(self) -> None:
        self.siblings = sorted((set(s) for s in self.siblings), key=lambda s: min(s, default=-1))

    @property
    def free_pcpus(self) -> set[int]:
        return self.pcpuset - self.pinned_cpus

    @property
    def free_siblings(self) -> list[set[int]]:
        """Each sibling set reduced to its free pCPUs; empty sets are kept, in order."""
        free = self.free_pcpus
        return [sib & free for sib in self.siblings]

    @property
    def avail_pcpus(self) -> int:
        return len(self.free_pcpus)

    @property
    def avail_memory(self) -> int:
        return self.memory - self.memory_usage

    @property
    def has_threads(self) -> bool:
        return any(len(sib) > 1 for sib in self.siblings)

    def can_fit_pagesize(self, pagesize: int, memory_kb: int, use_free: bool = True) -> bool:
        """Whether ``memory_kb`` fits in whole pages of ``pagesize`` KiB on this cell.

        ``use_free`` counts only free pages (no overcommit); otherwise every page of the
        size counts. Raises ``MemoryPageSizeNotSupported`` for a size the cell lacks.
        """
        for pages in self.mempages:
            if pages.size_kb == pagesize:
                available = pages.free_kb if use_free else pages.total_kb
                return memory_kb <= available and memory_kb % pages.size_kb == 0
        raise exception.MemoryPageSizeNotSupported(pagesize=pagesize)

    def pin_cpus(self, cpus: set[int]) -> None:
        if cpus - self.pcpuset:
            raise exception.CPUPinningUnknown(requested=_sorted(cpus),
                                              available=_sorted(self.pcpuset))
        if self.pinned_cpus & cpus:
            raise exception.CPUPinningInvalid(requested=_sorted(cpus),
                                              available=_sorted(self.free_pcpus))
        self.pinned_cpus = self.pinned_cpus | cpus

    def unpin_cpus(self, cpus: set[int]) -> None:
        if cpus - self.pcpuset:
            raise exception.CPUUnpinningUnknown(requested=_sorted(cpus),
                                                available=_sorted(self.pcpuset))
        if (self.pinned_cpus & cpus) != cpus:
            raise exception.CPUUnpinningInvalid(requested=_sorted(cpus),
                                                available=_sorted(self.pinned_cpus))
        self.pinned_cpus = self.pinned_cpus - cpus

    def _with_siblings(self, cpus: set[int]) -> set[int]:
        result = set(cpus)
        for sib in self.siblings:
            if sib & cpus:
                result |= sib
        return result

    def pin_cpus_with_siblings(self, cpus: set[int]) -> None:
        """Pin ``cpus`` and every thread sibling of them (the ``isolate`` thread policy)."""
        self.pin_cpus(self._with_siblings(cpus))

    def unpin_cpus_with_siblings(self, cpus: set[int]) -> None:
        self.unpin_cpus(self._with_siblings(cpus))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "socket": self.socket,
            "cpuset": _sorted(self.cpuset),
            "pcpuset": _sorted(self.pcpuset),
            "siblings": [_sorted(s) for s in self.siblings],
            "memory": self.memory,
            "cpu_usage": self.cpu_usage,
            "memory_usage": self.memory_usage,
            "pinned_cpus": _sorted(self.pinned_cpus),
            "mempages": [p.to_dict() for p in self.mempages],
            "network_metadata": self.network_metadata.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NUMACell:
        """A host cell from JSON; absent ``siblings`` means one thread per core."""
        what = "a host NUMA cell"
        cpuset = _cpus(data.get("cpuset"), "cpuset")
        pcpuset = _cpus(data.get("pcpuset"), "pcpuset")
        if "siblings" in data:
            siblings = [_cpus(s, "siblings") for s in data["siblings"]]
        else:
            siblings = [{cpu} for cpu in sorted(cpuset | pcpuset)]
        socket = data.get("socket")
        return cls(
            id=int(_require(data, "id", what)),
            cpuset=cpuset,
            pcpuset=pcpuset,
            memory=int(_require(data, "memory", what)),
            cpu_usage=int(data.get("cpu_usage", 0)),
            memory_usage=int(data.get("memory_usage", 0)),
            pinned_cpus=_cpus(data.get("pinned_cpus"), "pinned_cpus"),
            siblings=siblings,
            mempages=[NUMAPagesTopology.from_dict(p) for p in data.get("mempages", ())],
            network_metadata=NetworkMetadata.from_dict(data.get("network_metadata")),
            socket=None if socket is None else int(socket),
        )


@dataclasses.dataclass
class NUMATopology:
    """A host's NUMA topology: its cells in host order."""

    cells: list[NUMACell] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def has_threads(self) -> bool:
        return any(cell.has_threads for cell in self.cells)

    def copy(self) -> NUMATopology:
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        return {"cells": [cell.to_dict() for cell in self.cells]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NUMATopology:
        return cls(cells=[NUMACell.from_dict(c) for c in _require(data, "cells", "a host")])


@dataclasses.dataclass
class InstanceNUMACell:
    """A guest NUMA node (Nova's ``objects.InstanceNUMACell``).

    Before a fit ``id`` is the guest node index and ``pagesize`` may be symbolic
    (``MEMPAGES_SMALL/LARGE/ANY``); after it, ``id`` is the host cell and ``pagesize``
    the chosen size in KiB. ``cpuset`` holds the floating vCPUs, ``pcpuset`` the pinned
    ones; ``cpu_pinning`` maps pinned vCPU to host pCPU and ``cpuset_reserved`` holds
    the pCPU(s) kept for the emulator threads (``hw:emulator_threads_policy=isolate``).
    """

    id: int
    cpuset: set[int] = dataclasses.field(default_factory=set)
    pcpuset: set[int] = dataclasses.field(default_factory=set)
    memory: int = 0
    pagesize: int | None = None
    cpu_policy: str | None = None
    cpu_thread_policy: str | None = None
    cpu_pinning: dict[int, int] | None = None
    cpuset_reserved: set[int] | None = None

    @property
    def total_cpus(self) -> set[int]:
        return self.cpuset | self.pcpuset

    @property
    def cpu_pinning_requested(self) -> bool:
        return self.cpu_policy in PINNED_CPU_POLICIES

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cpuset": _sorted(self.cpuset),
            "pcpuset": _sorted(self.pcpuset),
            "memory": self.memory,
            "pagesize": self.pagesize,
            "cpu_policy": self.cpu_policy,
            "cpu_thread_policy": self.cpu_thread_policy,
            "cpu_pinning": (None if self.cpu_pinning is None else
                            {str(v): p for v, p in sorted(self.cpu_pinning.items())}),
            "cpuset_reserved": (None if self.cpuset_reserved is None
                                else _sorted(self.cpuset_reserved)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InstanceNUMACell:
        what = "a guest NUMA cell"
        pinning = data.get("cpu_pinning")
        reserved = data.get("cpuset_reserved")
        pagesize = data.get("pagesize")
        return cls(
            id=int(_require(data, "id", what)),
            cpuset=_cpus(data.get("cpuset"), "cpuset"),
            pcpuset=_cpus(data.get("pcpuset"), "pcpuset"),
            memory=int(_require(data, "memory", what)),
            pagesize=None if pagesize is None else int(pagesize),
            cpu_policy=data.get("cpu_policy"),
            cpu_thread_policy=data.get("cpu_thread_policy"),
            cpu_pinning=(None if pinning is None else
                         {int(v): int(p) for v, p in pinning.items()}),
            cpuset_reserved=None if reserved is None else _cpus(reserved, "cpuset_reserved"),
        )


@dataclasses.dataclass
class InstanceNUMATopology:
    """A guest's NUMA topology (Nova's ``objects.InstanceNUMATopology``)."""

    cells: list[InstanceNUMACell] = dataclasses.field(default_factory=list)
    emulator_threads_policy: str | None = None

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def emulator_threads_isolated(self) -> bool:
        return self.emulator_threads_policy == EMULATOR_THREADS_ISOLATE

    @property
    def cpu_pinning(self) -> dict[int, int]:
        """Every pinned vCPU of the guest and its pCPU, over all cells."""
        pinning: dict[int, int] = {}
        for cell in self.cells:
            pinning.update(cell.cpu_pinning or {})
        return pinning

    def copy(self) -> InstanceNUMATopology:
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        return {"cells": [cell.to_dict() for cell in self.cells],
                "emulator_threads_policy": self.emulator_threads_policy}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InstanceNUMATopology:
        return cls(cells=[InstanceNUMACell.from_dict(c)
                          for c in _require(data, "cells", "a guest topology")],
                   emulator_threads_policy=data.get("emulator_threads_policy"))


@dataclasses.dataclass(frozen=True)
class VirtCPUTopology:
    """A guest-visible CPU topology (or a preference or limit for one)."""

    sockets: int
    cores: int
    threads: int

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VirtCPUTopology:
        return cls(sockets=int(data["sockets"]), cores=int(data["cores"]),
                   threads=int(data["threads"]))


@dataclasses.dataclass
class NUMATopologyLimits:
    """What a fit may overcommit to: the host's ratios and the request's networks."""

    cpu_allocation_ratio: float = 16.0
    ram_allocation_ratio: float = 1.5
    network_metadata: NetworkMetadata | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"cpu_allocation_ratio": self.cpu_allocation_ratio,
                "ram_allocation_ratio": self.ram_allocation_ratio,
                "network_metadata": (None if self.network_metadata is None
                                     else self.network_metadata.to_dict())}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NUMATopologyLimits:
        network = data.get("network_metadata")
        return cls(cpu_allocation_ratio=float(data.get("cpu_allocation_ratio", 16.0)),
                   ram_allocation_ratio=float(data.get("ram_allocation_ratio", 1.5)),
                   network_metadata=None if network is None else NetworkMetadata.from_dict(network))


@dataclasses.dataclass
class PciDevicePool:
    """A pool of identical free PCI devices of one host NUMA node (``PciDeviceStats``).

    ``numa_node`` is None when the platform does not report one. ``tags`` carries the
    device_spec tags (``physical_network``, ``remote_managed``, ...) that a request's
    spec may match on.
    """

    count: int
    numa_node: int | None = None
    vendor_id: str | None = None
    product_id: str | None = None
    dev_type: str = "type-PCI"
    tags: dict[str, str] = dataclasses.field(default_factory=dict)

    def get(self, key: str) -> Any:
        """The value a request spec compares against: an attribute, else a tag."""
        if key in ("numa_node", "vendor_id", "product_id", "dev_type", "count"):
            return getattr(self, key)
        return self.tags.get(key)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PciDevicePool:
        node = data.get("numa_node")
        return cls(count=int(_require(data, "count", "a PCI pool")),
                   numa_node=None if node is None else int(node),
                   vendor_id=data.get("vendor_id"), product_id=data.get("product_id"),
                   dev_type=data.get("dev_type", "type-PCI"),
                   tags={str(k): str(v) for k, v in (data.get("tags") or {}).items()})


@dataclasses.dataclass
class InstancePCIRequest:
    """``count`` devices matching any one of ``spec`` (a list of ORed match dicts)."""

    count: int
    spec: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    alias_name: str | None = None
    numa_policy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InstancePCIRequest:
        return cls(count=int(_require(data, "count", "a PCI request")),
                   spec=[dict(s) for s in data.get("spec", ())],
                   alias_name=data.get("alias_name"), numa_policy=data.get("numa_policy"))


@dataclasses.dataclass
class Flavor:
    """What the NUMA rules read of a flavor."""

    vcpus: int
    memory_mb: int
    extra_specs: dict[str, str] = dataclasses.field(default_factory=dict)
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flavor:
        what = "a flavor"
        return cls(vcpus=int(_require(data, "vcpus", what)),
                   memory_mb=int(_require(data, "memory_mb", what)),
                   extra_specs={str(k): str(v)
                                for k, v in (data.get("extra_specs") or {}).items()},
                   name=data.get("name"))


@dataclasses.dataclass
class ImageMeta:
    """An image's properties as Glance stores them (``hw_numa_cpus.0``, ...)."""

    properties: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"properties": dict(self.properties)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ImageMeta:
        return cls(properties=dict((data or {}).get("properties") or {}))


@dataclasses.dataclass
class NUMAFitRequest:
    """The whole question "does this guest fit on this host", as one JSON document."""

    host: NUMATopology
    flavor: Flavor
    image: ImageMeta = dataclasses.field(default_factory=ImageMeta)
    limits: NUMATopologyLimits = dataclasses.field(default_factory=NUMATopologyLimits)
    pci_pools: list[PciDevicePool] | None = None
    pci_requests: list[InstancePCIRequest] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host.to_dict(),
            "flavor": self.flavor.to_dict(),
            "image": self.image.to_dict(),
            "limits": self.limits.to_dict(),
            "pci_pools": (None if self.pci_pools is None
                          else [p.to_dict() for p in self.pci_pools]),
            "pci_requests": [r.to_dict() for r in self.pci_requests],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NUMAFitRequest:
        what = "a fit request"
        pools = data.get("pci_pools")
        return cls(
            host=NUMATopology.from_dict(_require(data, "host", what)),
            flavor=Flavor.from_dict(_require(data, "flavor", what)),
            image=ImageMeta.from_dict(data.get("image")),
            limits=NUMATopologyLimits.from_dict(data.get("limits") or {}),
            pci_pools=None if pools is None else [PciDevicePool.from_dict(p) for p in pools],
            pci_requests=[InstancePCIRequest.from_dict(r)
                          for r in data.get("pci_requests") or ()],
        )
