"""AggregateInstanceExtraSpecsFilter: the flavor's extra specs match aggregate metadata.

For each flavor extra spec whose key has no scope or the scope
``aggregate_instance_extra_specs`` (other scopes are ignored), the key (without the
scope) must be in the metadata of one of the host's aggregates and one of its
comma-split values must match the spec's value (``extra_specs_ops.match``). Vectorised
(per aggregate and extra spec).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter, extra_specs_ops, utils

SCOPE = "aggregate_instance_extra_specs"


class AggregateInstanceExtraSpecsFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        passes = np.ones(len(rows), dtype=bool)
        for key, req in (getattr(spec_obj.flavor, "extra_specs", None) or {}).items():
            scope = key.split(":", 1)
            if len(scope) > 1:
                if scope[0] != SCOPE:
                    continue
                key = scope[1]
            passes &= utils.any_value(
                host_states, rows, key,
                lambda values, req=req: any(extra_specs_ops.match(v, req) for v in values))
            if not passes.any():
                break
        return passes
