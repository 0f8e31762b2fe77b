"""AggregateTypeAffinityFilter: aggregates that name flavors take only those flavors.

A host passes when none of its aggregates has ``instance_type``, or the flavor's name is
one of the comma-separated names of one that has. Vectorised (per aggregate).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter, utils


class AggregateTypeAffinityFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        name = spec_obj.flavor.name
        named = utils.any_value(host_states, rows, "instance_type", lambda values: name in values)
        return named | ~utils.has_key(host_states, rows, "instance_type")
