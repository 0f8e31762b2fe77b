"""CPUWeigher: free vCPUs, ``vcpus_total * cpu_allocation_ratio - vcpus_used``.

``minval`` 0; multiplier ``[filter_scheduler] cpu_weight_multiplier``, aggregate key
``cpu_weight_multiplier``. Vectorised.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.weights import BaseHostWeigher


class CPUWeigher(BaseHostWeigher):
    minval = 0
    multiplier_option = ("filter_scheduler", "cpu_weight_multiplier")
    aggregate_key = "cpu_weight_multiplier"

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        return (host_states.vcpus_total[rows] * host_states.cpu_allocation_ratio[rows]
                - host_states.vcpus_used[rows])
