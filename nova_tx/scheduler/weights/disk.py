"""DiskWeigher: free disk (MiB). ``minval`` 0; multiplier ``[filter_scheduler]
disk_weight_multiplier``, aggregate key ``disk_weight_multiplier``. Vectorised."""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.weights import BaseHostWeigher


class DiskWeigher(BaseHostWeigher):
    minval = 0
    multiplier_option = ("filter_scheduler", "disk_weight_multiplier")
    aggregate_key = "disk_weight_multiplier"

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        return host_states.free_disk_mb[rows].astype(np.float64)
