"""BuildFailureWeigher: hosts with recent build failures sink.

Raw value ``failed_builds`` (reported by the compute in its stats); the multiplier is
``-1 x [filter_scheduler] build_failure_weight_multiplier`` (1e6 by default, so it
outweighs the others; 0 disables it), aggregate key
``build_failure_weight_multiplier`` (also negated). Vectorised.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.weights import BaseHostWeigher


class BuildFailureWeigher(BaseHostWeigher):
    multiplier_option = ("filter_scheduler", "build_failure_weight_multiplier")
    aggregate_key = "build_failure_weight_multiplier"
    negate = True

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        return host_states.failed_builds[rows].astype(np.float64)
