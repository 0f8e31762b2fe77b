"""ComputeFilter: the host's compute service is enabled and up.

Up is the database servicegroup driver's rule (``nova_tx.servicegroup.api``): not
forced down, and the last heartbeat (``last_seen_up``, else ``created_at``) at most
``service_down_time`` from now, either way. A node whose host has no service record
fails (Nova never builds a host state for it). Vectorised.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter
from nova_tx.servicegroup.api import effective_service_down_time


class ComputeFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        now = host_states.clock()
        down_time = effective_service_down_time(self.conf)
        with np.errstate(invalid="ignore"):
            recent = np.abs(now - host_states.service_heartbeat[rows]) <= down_time
        return (host_states.has_service[rows] & ~host_states.service_disabled[rows]
                & ~host_states.service_forced_down[rows] & recent)
