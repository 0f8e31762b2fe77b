"""PciPassthroughFilter: the host's free PCI devices satisfy every PCI request.

Each request on its own (as Nova's ``PciDeviceStats.support_requests`` without NUMA
cells): enough devices in pools matching one of its specs, leaving out PF, vDPA and
remote-managed pools unless the request asks for them. Affinity to the guest's NUMA
cells is the NUMATopologyFilter's. Vectorised over the kernel's pool table
(``HostArrays``): the spec matching runs once per pool kind, the counts per host are
numpy sums.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler import kernel
from nova_tx.scheduler.filters import BaseHostFilter


class PciPassthroughFilter(BaseHostFilter):
    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        requests = list(getattr(spec_obj, "pci_requests", None) or ())
        if not requests:
            return np.ones(len(rows), dtype=bool)
        arrays = host_states.arrays
        passes = arrays.has_pci_pools[rows].copy()
        if not passes.any() or not len(arrays.pool_host):
            return np.zeros(len(rows), dtype=bool)
        need, _policy, _match, keep = kernel._pci_arrays(arrays, requests)
        free = keep.sum(axis=2)  # [request, host]
        for i in range(len(requests)):
            passes &= free[i, rows] >= need[i]
        return passes
