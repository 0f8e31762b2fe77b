"""NUMATopologyFilter: the guest's NUMA topology fits the host's (in the kernel).

``kernel.filter_hosts`` over the candidate rows: a guest without a NUMA topology
passes everywhere; a NUMA guest needs a host topology and a fit under the host's own
allocation ratios, its PCI requests against the host's pools and the request's
network affinity; ``hw:cpu_policy=dedicated`` with ``hw:cpu_thread_policy=require``
(flavor or image) needs a host with SMT siblings. ``[compute]
packing_host_numa_cells_allocation_strategy`` chooses pack or spread, as in Nova.
One call into the compiled kernel for all rows.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from oslo_config import cfg

from nova_tx.objects import numa as numa_obj
from nova_tx.scheduler import kernel
from nova_tx.scheduler.filters import BaseHostFilter


def packing(conf: cfg.ConfigOpts | None) -> bool:
    try:
        return bool(conf.compute.packing_host_numa_cells_allocation_strategy)
    except (AttributeError, cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return False


def fit_request(spec_obj: Any, pack: bool) -> kernel.FitRequest:
    """The kernel's question for this request (host ratios, the request's networks)."""
    limits = numa_obj.NUMATopologyLimits(
        network_metadata=getattr(spec_obj, "network_metadata", None))
    return kernel.FitRequest(getattr(spec_obj, "numa_topology", None), limits,
                             list(getattr(spec_obj, "pci_requests", None) or ()),
                             pack=pack, host_limits=True)


class NUMATopologyFilter(BaseHostFilter):
    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        if getattr(spec_obj, "numa_topology", None) is None:
            return np.ones(len(rows), dtype=bool)
        request = fit_request(spec_obj, packing(self.conf))
        image = getattr(spec_obj, "image", None)
        result = kernel.filter_hosts(request, host_states.arrays, spec_obj.flavor, image,
                                     hosts=rows)
        return result.fits
