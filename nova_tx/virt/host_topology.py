"""A host's NUMA topology from what the hypervisor reports and the CPU options (spec/E §3).

The options are arguments, as the caller (a virt driver) reads them:
``[compute] cpu_shared_set`` / ``cpu_dedicated_set``, ``[DEFAULT] vcpu_pin_set``,
``reserved_host_cpus``, ``reserved_huge_pages``, ``cpu_allocation_ratio`` /
``ram_allocation_ratio`` and their ``initial_*`` defaults, and the physnet / tunnel NUMA
affinity of ``[neutron_physnet_<name>] numa_nodes`` / ``[neutron_tunnel] numa_nodes``.

The four CPU layouts (§3.2): nothing configured (every CPU both shared and dedicated,
the legacy layout), only ``cpu_shared_set`` (no pinning), only ``cpu_dedicated_set``
(no floating NUMA guests), both (a disjoint split).
"""
from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nova_tx import exception
from nova_tx.objects import numa as obj
from nova_tx.virt.cpuset import format_cpu_spec, parse_cpu_spec

__all__ = [
    "HostCellInfo",
    "allocation_ratio",
    "build_host_numa_topology",
    "host_cpu_sets",
    "parse_reserved_huge_pages",
]


@dataclasses.dataclass
class HostCellInfo:
    """One NUMA cell as the hypervisor reports it (libvirt capabilities).

    ``sockets`` maps each CPU of the cell to its socket; ``siblings`` are the thread
    sibling lists of the cell's CPUs; ``mempages`` are (size KiB, total pages).
    """

    id: int
    cpus: set[int]
    memory_kb: int
    siblings: list[set[int]] = dataclasses.field(default_factory=list)
    sockets: dict[int, int] = dataclasses.field(default_factory=dict)
    mempages: list[tuple[int, int]] = dataclasses.field(default_factory=list)


def _spec(value: str | None) -> set[int] | None:
    return None if value is None or value == "" else parse_cpu_spec(value)


def host_cpu_sets(online_cpus: Iterable[int], cpu_shared_set: str | None = None,
                  cpu_dedicated_set: str | None = None, vcpu_pin_set: str | None = None,
                  reserved_host_cpus: int = 0) -> tuple[set[int], set[int]]:
    """(shared, dedicated) host CPUs after the start-up checks of spec/E §3.1.

    Raises ``ConfigError`` for combinations nova-compute refuses to start with, and
    ``Invalid`` for a configured CPU that is not online.
    """
    online = set(online_cpus)
    shared_set = _spec(cpu_shared_set)
    dedicated_set = _spec(cpu_dedicated_set)
    pin_set = _spec(vcpu_pin_set)
    if shared_set is not None and dedicated_set is not None and shared_set & dedicated_set:
        raise exception.ConfigError(reason=(
            f"[compute] cpu_dedicated_set and [compute] cpu_shared_set must be disjoint, "
            f"but both contain {format_cpu_spec(shared_set & dedicated_set)}"))
    if pin_set is not None and dedicated_set is not None:
        raise exception.ConfigError(reason=(
            "[DEFAULT] vcpu_pin_set and [compute] cpu_dedicated_set are mutually exclusive; "
            "use cpu_dedicated_set (and cpu_shared_set) only"))
    if reserved_host_cpus and (shared_set is not None or dedicated_set is not None):
        raise exception.ConfigError(reason=(
            "[DEFAULT] reserved_host_cpus cannot be combined with [compute] cpu_shared_set "
            "or cpu_dedicated_set: CPUs outside both sets are already reserved"))
    for name, cpus in (("[compute] cpu_dedicated_set", dedicated_set),
                       ("[compute] cpu_shared_set", shared_set),
                       ("[DEFAULT] vcpu_pin_set", pin_set)):
        if cpus is not None and not cpus <= online:
            raise exception.Invalid(
                f"Requested {name} {format_cpu_spec(cpus)} is invalid, because one or more "
                f"of its CPUs are not online; online CPUs are {format_cpu_spec(online)}")

    if pin_set is not None:
        shared = pin_set
    elif shared_set is not None:
        shared = shared_set
    elif dedicated_set is not None:
        shared = set()
    else:
        shared = set(online)
    dedicated = set(dedicated_set or ())
    # The legacy layout: without cpu_dedicated_set, pinned guests use the shared CPUs,
    # unless cpu_shared_set alone says "no pinning here".
    if not dedicated and not (shared_set is not None and pin_set is None):
        dedicated = set(shared)
    return shared, dedicated


_RESERVED_KEYS = ("node", "size", "count")
_PAGE_SIZE = re.compile(r"^(\d*\.?\d+)([KMGT]i?)?(b|bit|B)$")
_EXPONENT = {"K": 1, "Ki": 1, "M": 2, "Mi": 2, "G": 3, "Gi": 3, "T": 4, "Ti": 4}


def _size_kb(text: str) -> int:
    if text.isdigit():
        return int(text)
    match = _PAGE_SIZE.match(text)
    if not match:
        raise ValueError(text)
    size = float(match.group(1)) / (8 if match.group(3) in ("b", "bit") else 1)
    if match.group(2):
        size *= 1024 ** _EXPONENT[match.group(2)]
    return int(math.ceil(size)) // 1024


def parse_reserved_huge_pages(values: Sequence[str | Mapping[str, Any]] | None
                              ) -> dict[int, dict[int, int]]:
    """``reserved_huge_pages`` entries as {node: {size KiB: count}}.

    Each entry is a dict (as oslo.config's Dict type gives it) or its text form
    ``node:0,size:2048,count:64``; the size may carry a unit (``1GB``).
    """
    reserved: dict[int, dict[int, int]] = {}
    for value in values or ():
        try:
            if isinstance(value, str):
                entry = dict(item.split(":", 1) for item in value.split(","))
            else:
                entry = dict(value)
            entry = {str(k).strip(): str(v).strip() for k, v in entry.items()}
            if set(entry) != set(_RESERVED_KEYS):
                raise ValueError(value)
            reserved.setdefault(int(entry["node"]), {})[_size_kb(entry["size"])] = int(
                entry["count"])
        except (ValueError, TypeError, KeyError):
            raise exception.InvalidReservedMemoryPagesOption(conf=values) from None
    return reserved


def build_host_numa_topology(
    cells: Sequence[HostCellInfo],
    online_cpus: Iterable[int],
    cpu_shared_set: str | None = None,
    cpu_dedicated_set: str | None = None,
    vcpu_pin_set: str | None = None,
    reserved_host_cpus: int = 0,
    reserved_huge_pages: Sequence[str | Mapping[str, Any]] | None = None,
    physnet_numa_nodes: Mapping[str, Iterable[int]] | None = None,
    tunnel_numa_nodes: Iterable[int] | None = None,
) -> obj.NUMATopology:
    """The host topology a compute reports, with no usage yet (spec/E §3.2)."""
    online = set(online_cpus)
    shared, dedicated = host_cpu_sets(online, cpu_shared_set, cpu_dedicated_set,
                                      vcpu_pin_set, reserved_host_cpus)
    usable = shared | dedicated
    reserved = parse_reserved_huge_pages(reserved_huge_pages)
    tunnel_nodes = set(tunnel_numa_nodes or ())
    result = []
    for info in cells:
        cpus = info.cpus & online
        siblings: list[set[int]] = []
        for sib in info.siblings:
            kept = set(sib) & usable & cpus
            if kept and kept not in siblings:
                siblings.append(kept)
        cell_sockets = {info.sockets[c] for c in info.cpus if c in info.sockets}
        physnets = {name for name, nodes in (physnet_numa_nodes or {}).items()
                    if info.id in set(nodes)}
        result.append(obj.NUMACell(
            id=info.id,
            cpuset=cpus & shared,
            pcpuset=cpus & dedicated,
            memory=info.memory_kb // 1024,
            siblings=siblings,
            mempages=[obj.NUMAPagesTopology(size_kb=size, total=total,
                                            reserved=reserved.get(info.id, {}).get(size, 0))
                      for size, total in info.mempages],
            socket=cell_sockets.pop() if len(cell_sockets) == 1 else None,
            network_metadata=obj.NetworkMetadata(physnets, info.id in tunnel_nodes),
        ))
    return obj.NUMATopology(cells=result)


def allocation_ratio(configured: float | None, existing: float | None, initial: float
                     ) -> float:
    """The inventory allocation ratio (spec/E §3.1).

    A configured ratio (``cpu_allocation_ratio``, ...) that is set and not 0.0 wins;
    otherwise the inventory keeps its existing ratio, and a new inventory starts at
    ``initial`` (``initial_cpu_allocation_ratio``, ...).
    """
    if configured is not None and configured != 0.0:
        return float(configured)
    if existing is not None:
        return float(existing)
    return float(initial)
