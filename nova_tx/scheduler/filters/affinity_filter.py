"""Affinity filters: SameHostFilter, DifferentHostFilter, SimpleCIDRAffinityFilter,
ServerGroupAffinityFilter and ServerGroupAntiAffinityFilter.

Instances are looked up by uuid in ``HostStates``' instance index (the
``update_instance_info`` data), so each costs the number of uuids named, not the
number of hosts. Vectorised.
"""
from __future__ import annotations

import ipaddress
from typing import Any

import numpy as np

from nova_tx.scheduler.filters import BaseHostFilter


def _uuids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return list(value)


class DifferentHostFilter(BaseHostFilter):
    """Hint ``different_host``: no listed instance on the host."""

    run_filter_once_per_request = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        uuids = spec_obj.get_scheduler_hint("different_host")
        if not uuids:
            return np.ones(len(rows), dtype=bool)
        return ~host_states.rows_with_any_instance(_uuids(uuids))[rows]


class SameHostFilter(BaseHostFilter):
    """Hint ``same_host``: some listed instance on the host."""

    run_filter_once_per_request = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        uuids = spec_obj.get_scheduler_hint("same_host")
        if not uuids:
            return np.ones(len(rows), dtype=bool)
        return host_states.rows_with_any_instance(_uuids(uuids))[rows]


class SimpleCIDRAffinityFilter(BaseHostFilter):
    """Hint ``build_near_host_ip``: the host IP is in ``build_near_host_ip + cidr``
    (``cidr`` default ``/24``). A host without a valid IP fails."""

    run_filter_once_per_request = True

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        near = spec_obj.get_scheduler_hint("build_near_host_ip")
        if not near:
            return np.ones(len(rows), dtype=bool)
        cidr = spec_obj.get_scheduler_hint("cidr", "/24")
        network = ipaddress.ip_network(f"{near}{cidr}", strict=False)
        # Addresses are 128-bit numbers held as two words (IPv4: high word 0); the
        # network's mask clears its host bits.
        number = int(network.network_address)
        host_bits = network.max_prefixlen - network.prefixlen
        mask = ((1 << 128) - 1) ^ ((1 << host_bits) - 1)
        mask_hi, mask_lo = mask >> 64, mask & 0xFFFFFFFFFFFFFFFF
        number_hi, number_lo = number >> 64, number & 0xFFFFFFFFFFFFFFFF
        hi = host_states.ip_hi[rows]
        lo = host_states.ip_lo[rows]
        return ((host_states.ip_version[rows] == network.version)
                & ((hi & np.uint64(mask_hi)) == np.uint64(number_hi & mask_hi))
                & ((lo & np.uint64(mask_lo)) == np.uint64(number_lo & mask_lo)))


class ServerGroupAntiAffinityFilter(BaseHostFilter):
    """Group policy ``anti-affinity``: fewer than ``max_server_per_host`` (rule, default
    1) group members on the host, or the instance itself already there (a move)."""

    policy_name = "anti-affinity"

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        group = spec_obj.instance_group
        if group is None or group.policy != self.policy_name:
            return np.ones(len(rows), dtype=bool)
        rules = group.rules or {}
        limit = int(rules["max_server_per_host"]) if "max_server_per_host" in rules else 1
        counts = host_states.instance_counts(group.members or ())[rows]
        passes = counts < limit
        if spec_obj.instance_uuid:
            passes |= host_states.rows_with_any_instance([spec_obj.instance_uuid])[rows]
        return passes


class ServerGroupAffinityFilter(BaseHostFilter):
    """Group policy ``affinity``: the group has no hosts yet, or the host is one."""

    policy_name = "affinity"

    def filter_rows(self, host_states: Any, rows: np.ndarray, spec_obj: Any) -> np.ndarray:
        group = spec_obj.instance_group
        if group is None or group.policy != self.policy_name or not group.hosts:
            return np.ones(len(rows), dtype=bool)
        return np.isin(host_states.host[rows].astype(object), list(group.hosts))
