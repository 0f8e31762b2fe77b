"""Claiming a fitted guest into a host's NUMA usage, and releasing it (spec/E §2.9).

``numa_usage_from_instance_numa`` is Nova's accounting function: for each host cell,
every guest cell placed on it (``guest_cell.id == host_cell.id``) adds (or, when
freeing, removes) its memory, its floating vCPUs, its pages and its pinned pCPUs.
Guests without a NUMA topology change nothing: placement alone accounts for them.

``claim`` is what a compute does on a build: fit again with the limits the scheduler
used, then account the result; ``release`` undoes ``claim`` exactly.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

from nova_tx.objects import numa as obj
from nova_tx.virt.numa_fit import numa_fit_instance_to_host

__all__ = ["claim", "numa_usage_from_instance_numa", "release"]


def _account_pages(cell: obj.NUMACell, guest_cell: obj.InstanceNUMACell, sign: int) -> None:
    if not cell.mempages:
        return
    size = guest_cell.pagesize or min(pages.size_kb for pages in cell.mempages)
    for pages in cell.mempages:
        if pages.size_kb == size:
            pages.used = max(0, pages.used + sign * (guest_cell.memory * 1024 // size))


def numa_usage_from_instance_numa(host: obj.NUMATopology | None,
                                  guest: obj.InstanceNUMATopology | None,
                                  free: bool = False) -> obj.NUMATopology | None:
    """A new host topology with ``guest`` (already fitted) added, or removed if ``free``.

    Pinning a pCPU outside ``pcpuset`` raises ``CPUPinningUnknown``, pinning a pinned
    one ``CPUPinningInvalid``, unpinning a free one ``CPUUnpinningInvalid``: a claim
    that races another is refused rather than double-booked. Usages never go below 0.
    """
    if not host or not guest:
        return host
    sign = -1 if free else 1
    result = copy.deepcopy(host)
    for cell in result.cells:
        memory_usage = cell.memory_usage
        cpu_usage = cell.cpu_usage
        for guest_cell in guest.cells:
            if guest_cell.id != cell.id:
                continue
            _account_pages(cell, guest_cell, sign)
            memory_usage += sign * guest_cell.memory
            cpu_usage += sign * len(guest_cell.cpuset)
            if not guest_cell.cpu_pinning_requested:
                continue
            pcpus = set((guest_cell.cpu_pinning or {}).values())
            pcpus |= guest_cell.cpuset_reserved or set()
            isolate = guest_cell.cpu_thread_policy == obj.THREAD_POLICY_ISOLATE
            if free:
                (cell.unpin_cpus_with_siblings if isolate else cell.unpin_cpus)(pcpus)
            else:
                (cell.pin_cpus_with_siblings if isolate else cell.pin_cpus)(pcpus)
        cell.memory_usage = max(0, memory_usage)
        cell.cpu_usage = max(0, cpu_usage)
    return result


def claim(host: obj.NUMATopology, requested: obj.InstanceNUMATopology | None,
          limits: obj.NUMATopologyLimits | None = None,
          pci_requests: Sequence[obj.InstancePCIRequest] | None = None,
          pci_pools: Sequence[obj.PciDevicePool] | None = None,
          pack: bool = False,
          ) -> tuple[obj.InstanceNUMATopology | None, obj.NUMATopology] | None:
    """Fit ``requested`` on ``host`` and account it: (fitted guest, new host), or None.

    A guest without a NUMA topology claims nothing: (None, an unchanged copy).
    """
    if requested is None:
        return None, copy.deepcopy(host)
    fitted = numa_fit_instance_to_host(host, requested, limits, pci_requests, pci_pools, pack)
    if fitted is None:
        return None
    return fitted, numa_usage_from_instance_numa(host, fitted)


def release(host: obj.NUMATopology, fitted: obj.InstanceNUMATopology | None
            ) -> obj.NUMATopology:
    """The host with a claimed guest's usage removed (a new object)."""
    if fitted is None:
        return copy.deepcopy(host)
    return numa_usage_from_instance_numa(host, fitted, free=True)
