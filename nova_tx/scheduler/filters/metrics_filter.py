"""MetricsFilter: the host reports every metric named in ``[metrics] weight_setting``.

Vectorised (a metric column is NaN where a host does not report it).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter, utils


class MetricsFilter(BaseHostFilter):
    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        names = {name for name, _ in utils.parse_options(
            self.conf.metrics.weight_setting, sep="=", converter=float,
            name="metrics.weight_setting")}
        passes = np.ones(len(rows), dtype=bool)
        for name in names:
            column = host_states.metrics.get(name)
            if column is None:
                return np.zeros(len(rows), dtype=bool)
            passes &= ~np.isnan(column[rows])
        return passes
