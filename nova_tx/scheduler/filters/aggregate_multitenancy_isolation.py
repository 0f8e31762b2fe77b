"""AggregateMultiTenancyIsolation: hosts of tenant-restricted aggregates take only those
tenants.

A host in at least one aggregate with the ``filter_tenant_id`` key (exactly that key:
the ``filter_tenant_id<suffix>`` keys are the placement prefilter's) passes only a
request whose project is among the comma-separated values of those aggregates; other
hosts pass everyone. Vectorised (per aggregate).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter, utils

KEY = "filter_tenant_id"


class AggregateMultiTenancyIsolation(BaseHostFilter):
    run_filter_once_per_request = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        project = spec_obj.project_id
        allowed = utils.any_value(host_states, rows, KEY, lambda values: project in values)
        return allowed | ~utils.has_key(host_states, rows, KEY)
