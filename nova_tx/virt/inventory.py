"""The standard inventories of a compute node provider (VCPU, PCPU, MEMORY_MB,
DISK_GB), as Nova's drivers build them in ``update_provider_tree`` (spec/E §3.3).

Shared by the drivers so that every hypervisor applies the same reserved amounts and
the same allocation ratio rule: a configured ratio wins, else the inventory keeps the
ratio it has in placement (an operator may have changed it there), else a new
inventory gets ``initial_*_allocation_ratio``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nova_tx.virt.host_topology import allocation_ratio


def _existing_ratio(existing: Mapping[str, Mapping[str, Any]] | None, rc: str
                    ) -> float | None:
    record = (existing or {}).get(rc)
    return None if record is None else record.get("allocation_ratio")


def host_inventory(conf: Any, *, vcpus: int, pcpus: int, memory_mb: int, disk_gb: int,
                   existing: Mapping[str, Mapping[str, Any]] | None = None
                   ) -> dict[str, dict[str, Any]]:
    """The node's inventories; a resource with a total of 0 is left out (placement
    refuses a 0 total), as Nova leaves out VCPU or PCPU when the host has none."""
    def record(total: int, ratio: float, reserved: int) -> dict[str, Any]:
        return {"total": total, "min_unit": 1, "max_unit": total, "step_size": 1,
                "allocation_ratio": ratio, "reserved": reserved}

    result: dict[str, dict[str, Any]] = {}
    if vcpus:
        result["VCPU"] = record(vcpus, allocation_ratio(
            conf.cpu_allocation_ratio, _existing_ratio(existing, "VCPU"),
            conf.initial_cpu_allocation_ratio), conf.reserved_host_cpus)
    if pcpus:
        result["PCPU"] = record(pcpus, 1.0, 0)
    if memory_mb:
        result["MEMORY_MB"] = record(memory_mb, allocation_ratio(
            conf.ram_allocation_ratio, _existing_ratio(existing, "MEMORY_MB"),
            conf.initial_ram_allocation_ratio), conf.reserved_host_memory_mb)
    if disk_gb:
        result["DISK_GB"] = record(disk_gb, allocation_ratio(
            conf.disk_allocation_ratio, _existing_ratio(existing, "DISK_GB"),
            conf.initial_disk_allocation_ratio),
            math.ceil(conf.reserved_host_disk_mb / 1024))
    return result
