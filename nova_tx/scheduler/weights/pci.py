"""PCIWeigher: keep hosts with PCI devices for the guests that need them.

Raw value ``100 - min(free PCI devices, 99)``: fewer free devices weigh more, so guests
without PCI requests avoid PCI hosts and guests with them stack. Multiplier
``[filter_scheduler] pci_weight_multiplier`` (at least 0), aggregate key
``pci_weight_multiplier``. Vectorised (``HostStates.pci_free``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nova_tx.scheduler.weights import BaseHostWeigher

MAX_DEVICES = 100


class PCIWeigher(BaseHostWeigher):
    multiplier_option = ("filter_scheduler", "pci_weight_multiplier")
    aggregate_key = "pci_weight_multiplier"

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        free = host_states.pci_free[rows]
        return (MAX_DEVICES - np.minimum(free, MAX_DEVICES - 1)).astype(np.float64)
