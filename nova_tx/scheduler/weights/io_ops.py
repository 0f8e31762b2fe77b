"""IoOpsWeigher: the host's I/O-heavy instances (``num_io_ops``).

``minval`` 0; multiplier ``[filter_scheduler] io_ops_weight_multiplier`` (default -1.0:
idle hosts first), aggregate key ``io_ops_weight_multiplier``. Vectorised.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.weights import BaseHostWeigher


class IoOpsWeigher(BaseHostWeigher):
    minval = 0
    multiplier_option = ("filter_scheduler", "io_ops_weight_multiplier")
    aggregate_key = "io_ops_weight_multiplier"

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        return host_states.num_io_ops[rows].astype(np.float64)
