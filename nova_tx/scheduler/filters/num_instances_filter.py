"""NumInstancesFilter and AggregateNumInstancesFilter: fewer than the maximum instances.

A host passes while ``num_instances < max_instances_per_host``; the aggregate form takes
the smallest integer ``max_instances_per_host`` of the host's aggregates, else the
option. Vectorised.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter, utils


class NumInstancesFilter(BaseHostFilter):
    def _max(self, host_states: Any, rows: np.ndarray) -> Any:
        return self.conf.filter_scheduler.max_instances_per_host

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        return host_states.num_instances[rows] < self._max(host_states, rows)


class AggregateNumInstancesFilter(NumInstancesFilter):
    def _max(self, host_states: Any, rows: np.ndarray) -> Any:
        return utils.number_or_default(host_states, rows, "max_instances_per_host",
                                       self.conf.filter_scheduler.max_instances_per_host)
