"""PCI–NUMA affinity: which device pools may serve a guest placed on given host cells.

spec/E §2.10.1 (ref Zed ``nova/pci/stats.py``). A request's policy is one of
``required``, ``legacy``, ``preferred`` or ``socket``; whatever it is, strict affinity is
used when it has enough devices, and each policy then relaxes in its own way:

* ``required``: only pools on the guest's host cells.
* ``socket``: pools on any host cell of the sockets of the guest's host cells (never a
  pool without a NUMA node; nothing at all if a host cell has no socket).
* ``legacy``: also pools that report no NUMA node.
* ``preferred``: every pool, the affine ones first.

``support_requests`` answers the scheduler's question the way Zed's
``PciDeviceStats.support_requests`` does: each request must be satisfiable on its own
(requests do not consume devices from each other). ``apply_requests`` is the claim:
it takes the devices, pool by pool in the filtered order, and fails if any request
cannot be met after the earlier ones.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from nova_tx.objects import numa as obj

__all__ = ["apply_requests", "filter_pools", "free_devices_per_cell", "support_requests"]

_TRUE = ("1", "t", "true", "on", "y", "yes")


def _is_true(value: Any) -> bool:
    return str(value).strip().lower() in _TRUE if value is not None else False


def _prop_match(pool: obj.PciDevicePool, specs: Iterable[dict[str, Any]]) -> bool:
    """Nova's ``pci_device_prop_match``: the pool matches any one spec, case-insensitively."""
    def matches(spec: dict[str, Any]) -> bool:
        for key, wanted in spec.items():
            have = pool.get(key)
            if isinstance(wanted, list) and isinstance(have, list):
                if not all(item in have for item in wanted):
                    return False
                continue
            if isinstance(wanted, str):
                wanted = wanted.lower()
            if isinstance(have, str):
                have = have.lower()
            if have != wanted:
                return False
        return True
    return any(matches(spec) for spec in specs)


def _count(pools: Iterable[obj.PciDevicePool]) -> int:
    return sum(pool.count for pool in pools)


def _on_nodes(pools: Iterable[obj.PciDevicePool], nodes: Iterable[int | None]
              ) -> list[obj.PciDevicePool]:
    allowed = list(nodes)
    return [pool for pool in pools if pool.numa_node in allowed]


def _filter_for_socket(pools: list[obj.PciDevicePool], numa_cells: Sequence[Any],
                       host: obj.NUMATopology | None) -> list[obj.PciDevicePool]:
    host_cells = host.cells if host is not None else []
    if not host_cells or any(cell.socket is None for cell in host_cells):
        return []
    guest_hosts = {cell.id for cell in numa_cells}
    sockets = {cell.socket for cell in host_cells if cell.id in guest_hosts}
    nodes = [cell.id for cell in host_cells if cell.socket in sockets]
    return _on_nodes(pools, nodes)


def _filter_for_numa_cells(pools: list[obj.PciDevicePool], request: obj.InstancePCIRequest,
                           numa_cells: Sequence[Any], host: obj.NUMATopology | None
                           ) -> list[obj.PciDevicePool]:
    policy = request.numa_policy or obj.PCI_NUMA_LEGACY
    cell_ids: list[int | None] = [cell.id for cell in numa_cells]
    strict = _on_nodes(pools, cell_ids)
    if policy == obj.PCI_NUMA_REQUIRED or _count(strict) >= request.count:
        return strict
    if policy == obj.PCI_NUMA_SOCKET:
        return _filter_for_socket(pools, numa_cells, host)
    cell_ids.append(None)
    loose = _on_nodes(pools, cell_ids)
    if policy == obj.PCI_NUMA_LEGACY or _count(loose) >= request.count:
        return loose
    # preferred: anything, affine pools (and those without a node) first.
    return sorted(pools, key=lambda pool: pool.numa_node not in cell_ids)


def filter_pools(pools: list[obj.PciDevicePool], request: obj.InstancePCIRequest,
                 numa_cells: Sequence[Any] | None = None,
                 host: obj.NUMATopology | None = None) -> list[obj.PciDevicePool] | None:
    """The pools that may serve ``request``, in the order devices are taken, or None.

    ``numa_cells`` are the guest cells after a fit (their ids are host cell ids); None
    or empty means the guest has no NUMA topology, and then affinity is not checked.
    ``host`` gives the sockets for the ``socket`` policy.
    """
    wanted = request.count
    filtered = [pool for pool in pools if _prop_match(pool, request.spec)]
    if _count(filtered) < wanted:
        return None
    if numa_cells:
        filtered = _filter_for_numa_cells(filtered, request, numa_cells, host)
        if _count(filtered) < wanted:
            return None
    if all(spec.get("dev_type") != "type-PF" for spec in request.spec):
        filtered = [pool for pool in filtered if pool.dev_type != "type-PF"]
        if _count(filtered) < wanted:
            return None
    if all(spec.get("dev_type") != "vdpa" for spec in request.spec):
        filtered = [pool for pool in filtered if pool.dev_type != "vdpa"]
        if _count(filtered) < wanted:
            return None
    if all(not _is_true(spec.get("remote_managed")) for spec in request.spec):
        filtered = [pool for pool in filtered if not _is_true(pool.tags.get("remote_managed"))]
        if _count(filtered) < wanted:
            return None
    return filtered


def support_requests(pools: list[obj.PciDevicePool],
                     requests: Sequence[obj.InstancePCIRequest],
                     numa_cells: Sequence[Any] | None = None,
                     host: obj.NUMATopology | None = None) -> bool:
    """Whether every request, taken on its own, can be met (the scheduler's check)."""
    return all(filter_pools(pools, request, numa_cells, host) is not None
               for request in requests)


def apply_requests(pools: list[obj.PciDevicePool],
                   requests: Sequence[obj.InstancePCIRequest],
                   numa_cells: Sequence[Any] | None = None,
                   host: obj.NUMATopology | None = None) -> list[obj.PciDevicePool] | None:
    """The pools left after taking every request's devices in turn, or None if one fails.

    The given pools are not changed; emptied pools are dropped from the result.
    """
    remaining = copy.deepcopy(pools)
    for request in requests:
        chosen = filter_pools(remaining, request, numa_cells, host)
        if chosen is None:
            return None
        needed = request.count
        for pool in chosen:
            if needed == 0:
                break
            taken = min(pool.count, needed)
            pool.count -= taken
            needed -= taken
        remaining = [pool for pool in remaining if pool.count > 0]
    return remaining


def free_devices_per_cell(pools: Iterable[obj.PciDevicePool]) -> dict[int | None, int]:
    """Free devices per host NUMA node (the key None collects devices without a node)."""
    totals: dict[int | None, int] = {}
    for pool in pools:
        totals[pool.numa_node] = totals.get(pool.numa_node, 0) + pool.count
    return totals
