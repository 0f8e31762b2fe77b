"""IoOpsFilter and AggregateIoOpsFilter: fewer than the maximum I/O-heavy instances.

A host passes while ``num_io_ops < max_io_ops_per_host`` (rejected at the maximum, as
Nova's code; spec D §7 item 2). The aggregate form takes the smallest integer value of
the hosts' aggregates' ``max_io_ops_per_host`` key, else the option. Vectorised.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter, utils


class IoOpsFilter(BaseHostFilter):
    def _max(self, host_states: Any, rows: np.ndarray) -> Any:
        return self.conf.filter_scheduler.max_io_ops_per_host

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        return host_states.num_io_ops[rows] < self._max(host_states, rows)


class AggregateIoOpsFilter(IoOpsFilter):
    def _max(self, host_states: Any, rows: np.ndarray) -> Any:
        return utils.number_or_default(host_states, rows, "max_io_ops_per_host",
                                       self.conf.filter_scheduler.max_io_ops_per_host)
