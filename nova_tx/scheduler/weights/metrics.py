"""MetricsWeigher: the sum of the host's metrics times their ``[metrics] weight_setting``
ratios.

A host missing a metric of the setting: with ``[metrics] required`` (default) the
weigher raises ``ComputeHostMetricNotFound`` (enable the MetricsFilter to drop such
hosts first); otherwise the host weighs ``weight_of_unavailable``, unless that
metric's ratio times the host's multiplier is 0 (then the metric is skipped).
Multiplier ``[metrics] weight_multiplier``, aggregate key ``metrics_weight_multiplier``.
Vectorised (one float column per metric name).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx import exception
from nova_tx.scheduler.filters import utils
from nova_tx.scheduler.weights import BaseHostWeigher


class MetricsWeigher(BaseHostWeigher):
    multiplier_option = ("metrics", "weight_multiplier")
    aggregate_key = "metrics_weight_multiplier"

    def setting(self) -> list[tuple[str, float]]:
        return utils.parse_options(self.conf.metrics.weight_setting, sep="=",
                                   converter=float, name="metrics.weight_setting")

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        options = self.conf.metrics
        value = np.zeros(len(rows), dtype=np.float64)
        unavailable = np.zeros(len(rows), dtype=bool)
        multipliers = None
        for name, ratio in self.setting():
            column = host_states.metrics.get(name)
            values = (np.full(len(rows), np.nan) if column is None else column[rows])
            missing = np.isnan(values)
            if missing.any():
                if options.required:
                    row = int(rows[np.flatnonzero(missing)[0]])
                    raise exception.ComputeHostMetricNotFound(
                        host=host_states.host[row], node=host_states.nodename[row],
                        name=name)
                if multipliers is None:
                    multipliers = self.multipliers(host_states, rows)
                unavailable |= missing & (ratio * multipliers != 0)
            value += np.where(missing, 0.0, values * ratio)
        return np.where(unavailable, options.weight_of_unavailable, value)
