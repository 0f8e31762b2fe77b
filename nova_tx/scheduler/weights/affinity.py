"""ServerGroupSoftAffinityWeigher and ServerGroupSoftAntiAffinityWeigher.

For a request in a ``soft-affinity`` (``soft-anti-affinity``) group, the raw value is
the number (minus the number) of the group's members on the host; 0 for other
requests. Multipliers ``[filter_scheduler] soft_affinity_weight_multiplier`` and
``soft_anti_affinity_weight_multiplier`` (at least 0), aggregate keys of the same
names. Vectorised (members are looked up by uuid).
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from nova_tx.scheduler.weights import BaseHostWeigher

LOG = logging.getLogger(__name__)


class _SoftAffinityWeigherBase(BaseHostWeigher):
    policy_name = ""
    sign = 1.0

    def raw(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        group = getattr(spec_obj, "instance_group", None)
        if group is None or group.policy != self.policy_name:
            return np.zeros(len(rows), dtype=np.float64)
        counts = host_states.instance_counts(group.members or ())[rows]
        return self.sign * counts.astype(np.float64)


class ServerGroupSoftAffinityWeigher(_SoftAffinityWeigherBase):
    policy_name = "soft-affinity"
    multiplier_option = ("filter_scheduler", "soft_affinity_weight_multiplier")
    aggregate_key = "soft_affinity_weight_multiplier"


class ServerGroupSoftAntiAffinityWeigher(_SoftAffinityWeigherBase):
    policy_name = "soft-anti-affinity"
    sign = -1.0
    multiplier_option = ("filter_scheduler", "soft_anti_affinity_weight_multiplier")
    aggregate_key = "soft_anti_affinity_weight_multiplier"
