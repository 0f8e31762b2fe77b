"""AllHostsFilter: every host passes."""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter


class AllHostsFilter(BaseHostFilter):
    run_filter_once_per_request = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        return np.ones(len(rows), dtype=bool)
