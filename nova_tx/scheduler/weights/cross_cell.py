"""CrossCellWeigher: on a cross-cell move, prefer the source cell.

For a request whose ``requested_destination`` has a cell and allows cross-cell moves:
+1 for hosts of that cell, -1 for others; 0 otherwise. Multiplier
``[filter_scheduler] cross_cell_move_weight_multiplier``, aggregate key
``cross_cell_move_weight_multiplier``. Vectorised.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.weights import BaseHostWeigher


class CrossCellWeigher(BaseHostWeigher):
    multiplier_option = ("filter_scheduler", "cross_cell_move_weight_multiplier")
    aggregate_key = "cross_cell_move_weight_multiplier"

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        destination = getattr(spec_obj, "requested_destination", None)
        cell = getattr(destination, "cell", None) if destination is not None else None
        if not (cell and getattr(destination, "allow_cross_cell_move", False)):
            return np.zeros(len(rows), dtype=np.float64)
        uuid = cell.get("uuid") if isinstance(cell, dict) else getattr(cell, "uuid", None)
        return np.where(host_states.cell_uuid[rows] == uuid, 1.0, -1.0)
