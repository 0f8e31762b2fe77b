"""A hypervisor node as recorded in its cell's database (``compute_nodes``).

The identity fields are what every caller reads; the resource fields are filled by
the queries of ``os-hypervisors`` (``compute_nodes.get_all_full`` and friends) and
keep their defaults elsewhere.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ComputeNode:
    id: int
    uuid: str | None
    host: str | None
    hypervisor_hostname: str | None
    #: Nova's counter: 0 until ``discover_hosts`` has mapped the node's host to a cell.
    mapped: int = 0
    # The resource view os-hypervisors shows (filled by the queries that read it).
    service_id: int | None = None
    vcpus: int = 0
    memory_mb: int = 0
    local_gb: int = 0
    vcpus_used: int = 0
    memory_mb_used: int = 0
    local_gb_used: int = 0
    hypervisor_type: str | None = None
    hypervisor_version: int | None = None
    free_ram_mb: int | None = None
    free_disk_gb: int | None = None
    current_workload: int | None = None
    running_vms: int | None = None
    cpu_info: str | None = None
    disk_available_least: int | None = None
    host_ip: str | None = None
