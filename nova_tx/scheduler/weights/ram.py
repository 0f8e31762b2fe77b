"""RAMWeigher: free RAM (may be negative: overcommitted, then it counts as 0).

``minval`` 0, so weights are ``free_ram_mb / max(free_ram_mb)``; multiplier
``[filter_scheduler] ram_weight_multiplier`` (positive spreads, negative stacks),
aggregate key ``ram_weight_multiplier``. Vectorised.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.weights import BaseHostWeigher


class RAMWeigher(BaseHostWeigher):
    minval = 0
    multiplier_option = ("filter_scheduler", "ram_weight_multiplier")
    aggregate_key = "ram_weight_multiplier"

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        return host_states.free_ram_mb[rows].astype(np.float64)
