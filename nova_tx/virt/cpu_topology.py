"""The guest-visible CPU topology: sockets, cores and threads (spec/E §1.6, §2.11).

Seed rules applied on top of Zed (spec/E §0.2):

* D3 (rule T0): preferred values whose product does not divide the vCPU count, or
  three preferred values whose product is not the vCPU count, are refused (400) once
  the flavor preferences that exceed the limits have been discarded.
* D4: with no preference at all, a guest with k NUMA cells prefers k sockets.
* D5: the limits are ``hw:cpu_max_sockets/_cores/_threads`` (never ``hw:max_cpu_*``).
"""
from __future__ import annotations

from typing import Any

from nova_tx import exception
from nova_tx.objects import numa as obj

__all__ = [
    "get_best_cpu_topology",
    "get_cpu_topology_constraints",
    "get_desirable_cpu_topologies",
    "get_possible_cpu_topologies",
    "sort_possible_cpu_topologies",
]

# The default limit of each dimension when neither flavor nor image sets one.
DEFAULT_MAX = 65536
_DIMENSIONS = ("sockets", "cores", "threads")


def _read(source: dict[str, Any], keys: list[str], what: str) -> list[int]:
    values = []
    for key in keys:
        raw = source.get(key)
        if raw is None or raw == "":
            values.append(0)
            continue
        try:
            value = int(str(raw).strip())
        except ValueError as e:
            raise exception.InvalidRequest(
                f"Invalid {what} '{key}'. Error: {e}") from None
        if value < 0:
            raise exception.InvalidRequest(
                f"Invalid {what} '{key}'. Error: {value} is negative")
        values.append(value)
    return values


def get_cpu_topology_constraints(flavor: obj.Flavor, image: obj.ImageMeta | None = None,
                                 numa_cells: int = 0
                                 ) -> tuple[obj.VirtCPUTopology, obj.VirtCPUTopology]:
    """The preferred and the maximum topology (spec/E §2.11 steps 1–7).

    ``numa_cells`` is the number of cells of the guest's NUMA topology (0 without one),
    for D4.
    """
    specs = flavor.extra_specs or {}
    props = image.properties if image is not None else {}
    flavor_max = _read(specs, [f"hw:cpu_max_{d}" for d in _DIMENSIONS], "flavor extra spec")
    image_max = _read(props, [f"hw_cpu_max_{d}" for d in _DIMENSIONS], "image property")
    if any(f and i > f for f, i in zip(flavor_max, image_max, strict=True)):
        raise exception.ImageVCPULimitsRangeExceeded(
            image_sockets=image_max[0], image_cores=image_max[1], image_threads=image_max[2],
            flavor_sockets=flavor_max[0], flavor_cores=flavor_max[1],
            flavor_threads=flavor_max[2])
    maximum = [i or f or DEFAULT_MAX for f, i in zip(flavor_max, image_max, strict=True)]

    flavor_pref = _read(specs, [f"hw:cpu_{d}" for d in _DIMENSIONS], "flavor extra spec")
    image_pref = _read(props, [f"hw_cpu_{d}" for d in _DIMENSIONS], "image property")
    if any(p > m for p, m in zip(flavor_pref, maximum, strict=True)):
        # Limits from the image narrowed the flavor below its own preference: drop it.
        flavor_pref = [0, 0, 0]
    if any(p > m for p, m in zip(image_pref, maximum, strict=True)):
        raise exception.ImageVCPUTopologyRangeExceeded(
            image_sockets=image_pref[0], image_cores=image_pref[1],
            image_threads=image_pref[2], max_sockets=maximum[0], max_cores=maximum[1],
            max_threads=maximum[2])
    if any(image_pref):
        preferred, prefix = image_pref, "hw_cpu_"
    else:
        preferred, prefix = flavor_pref, "hw:cpu_"

    # T0 (D3): the preferred values must be factors of the vCPU count.
    product = 1
    for value in preferred:
        product *= value or 1
    if flavor.vcpus % product or (all(preferred) and product != flavor.vcpus):
        raise exception.InvalidRequest(
            f"The preferred CPU topology ({prefix}sockets={preferred[0]}, "
            f"{prefix}cores={preferred[1]}, {prefix}threads={preferred[2]}) must be made "
            f"of factors of the number of vCPUs ({flavor.vcpus})")

    # D4: no preference at all and a NUMA guest: one socket per guest NUMA cell.
    if not any(preferred) and numa_cells:
        preferred = [numa_cells, 0, 0]
    return obj.VirtCPUTopology(*preferred), obj.VirtCPUTopology(*maximum)


def get_possible_cpu_topologies(vcpus: int, maximum: obj.VirtCPUTopology,
                                allow_threads: bool = True) -> list[obj.VirtCPUTopology]:
    """Every (sockets, cores, threads) within the limits whose product is ``vcpus``.

    Ordered by most sockets×cores first, then most sockets, then most threads: fewer
    threads and more sockets are preferred when nothing else decides.
    """
    max_sockets = min(vcpus, maximum.sockets)
    max_cores = min(vcpus, maximum.cores)
    max_threads = min(vcpus, maximum.threads) if allow_threads else 1
    possible = [
        obj.VirtCPUTopology(s, c, t)
        for t in range(1, max_threads + 1)
        for c in range(1, max_cores + 1)
        for s in range(1, max_sockets + 1)
        if s * c * t == vcpus
    ]
    if not possible:
        raise exception.ImageVCPULimitsRangeImpossible(
            vcpus=vcpus, sockets=max_sockets, cores=max_cores, threads=max_threads)
    return sorted(possible, reverse=True,
                  key=lambda topo: (topo.sockets * topo.cores, topo.sockets, topo.threads))


def _score(topology: obj.VirtCPUTopology, preferred: obj.VirtCPUTopology) -> int:
    return sum(1 for d in _DIMENSIONS
               if getattr(preferred, d) and getattr(topology, d) == getattr(preferred, d))


def sort_possible_cpu_topologies(possible: list[obj.VirtCPUTopology],
                                 preferred: obj.VirtCPUTopology) -> list[obj.VirtCPUTopology]:
    """Group by how many preferred values match (3, 2, 1, 0), keeping the given order."""
    return sorted(possible, key=lambda topo: -_score(topo, preferred))


def get_desirable_cpu_topologies(flavor: obj.Flavor, image: obj.ImageMeta | None = None,
                                 allow_threads: bool = True,
                                 numa_topology: obj.InstanceNUMATopology | None = None
                                 ) -> list[obj.VirtCPUTopology]:
    preferred, maximum = get_cpu_topology_constraints(
        flavor, image, len(numa_topology.cells) if numa_topology else 0)
    possible = get_possible_cpu_topologies(flavor.vcpus, maximum, allow_threads)
    return sort_possible_cpu_topologies(possible, preferred)


def get_best_cpu_topology(flavor: obj.Flavor, image: obj.ImageMeta | None = None,
                          allow_threads: bool = True,
                          numa_topology: obj.InstanceNUMATopology | None = None
                          ) -> obj.VirtCPUTopology:
    """The topology the guest is given: the first of ``get_desirable_cpu_topologies``."""
    return get_desirable_cpu_topologies(flavor, image, allow_threads, numa_topology)[0]
