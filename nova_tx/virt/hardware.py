"""The readable pure-Python reference of every NUMA rule (spec/E): the definition of correct.

The compiled kernel (``nova_tx._speedups``, reached through ``nova_tx.scheduler.kernel``)
must agree with these functions result for result: same fit or no fit, same host
cells, same pinning. They are pure: configuration comes in as arguments (never from
``CONF``) and no argument is modified; every result is a new object.

The rules are split by concern, and this module is their one public face:

* ``nova_tx.virt.constraints``: flavor extra specs and image properties to a guest
  NUMA topology, with every conflict and error (spec/E §1, §2.2).
* ``nova_tx.virt.cpu_topology``: guest sockets/cores/threads (§2.11).
* ``nova_tx.virt.numa_fit``: the guest's cells onto host cells, page sizes and CPU
  pinning, with the pack/spread orders and network affinity (§2.5–§2.8, §2.10.3).
* ``nova_tx.virt.pci_affinity``: PCI device pools against the chosen cells (§2.10).
* ``nova_tx.virt.numa_usage``: claiming a fitted guest into a host and releasing it
  (§2.9).
* ``nova_tx.virt.pci_request``: ``[pci] alias`` and ``pci_passthrough:alias`` (§1.7).
* ``nova_tx.virt.guest_cpus``: vCPU and emulator-thread pinning sets (§2.12).
* ``nova_tx.virt.host_topology``: the host topology from the CPU options, reserved
  huge pages and allocation ratios (§3.1, §3.2).

The usual sequence: ``numa_get_constraints(flavor, image)`` (API: raises the 400s),
``numa_fit_instance_to_host(host, guest, limits, ..., pack=...)`` (scheduler: None
means "does not fit"), ``claim(host, guest, limits, ...)`` and later
``release(host, fitted)`` (compute).
"""
from nova_tx.objects.numa import InstanceNUMATopology, NUMAFitRequest
from nova_tx.virt.constraints import (
    get_cpu_policy_constraint,
    get_cpu_thread_policy_constraint,
    get_dedicated_cpu_constraint,
    get_emulator_thread_policy_constraint,
    get_locked_memory_constraint,
    get_mem_page_size_constraint,
    get_numa_node_count_constraint,
    get_pci_numa_policy_constraint,
    get_realtime_cpu_constraint,
    get_vpmems,
    is_realtime_enabled,
    numa_get_constraints,
    parse_bool,
    parse_mem_page_size,
)
from nova_tx.virt.cpu_topology import (
    get_best_cpu_topology,
    get_cpu_topology_constraints,
    get_desirable_cpu_topologies,
    get_possible_cpu_topologies,
    sort_possible_cpu_topologies,
)
from nova_tx.virt.cpuset import format_cpu_spec, parse_cpu_spec
from nova_tx.virt.guest_cpus import (
    check_realtime_host_config,
    emulator_threads_pin,
    vcpu_pin_sets,
)
from nova_tx.virt.host_topology import (
    HostCellInfo,
    allocation_ratio,
    build_host_numa_topology,
    host_cpu_sets,
    parse_reserved_huge_pages,
)
from nova_tx.virt.numa_fit import (
    fit_instance_cell,
    host_passes_numa_topology,
    numa_fit_instance_to_host,
    pin_instance_cell,
    requires_smt_host,
    select_page_size,
    sort_host_cells,
)
from nova_tx.virt.numa_usage import claim, numa_usage_from_instance_numa, release
from nova_tx.virt.pci_affinity import apply_requests, filter_pools, support_requests
from nova_tx.virt.pci_request import get_pci_requests_from_flavor, parse_pci_aliases

__all__ = [
    "HostCellInfo",
    "allocation_ratio",
    "apply_requests",
    "build_host_numa_topology",
    "check_fit_request",
    "check_realtime_host_config",
    "claim",
    "emulator_threads_pin",
    "filter_pools",
    "fit_instance_cell",
    "format_cpu_spec",
    "get_best_cpu_topology",
    "get_cpu_policy_constraint",
    "get_cpu_thread_policy_constraint",
    "get_cpu_topology_constraints",
    "get_dedicated_cpu_constraint",
    "get_desirable_cpu_topologies",
    "get_emulator_thread_policy_constraint",
    "get_locked_memory_constraint",
    "get_mem_page_size_constraint",
    "get_numa_node_count_constraint",
    "get_pci_numa_policy_constraint",
    "get_pci_requests_from_flavor",
    "get_possible_cpu_topologies",
    "get_realtime_cpu_constraint",
    "get_vpmems",
    "host_cpu_sets",
    "host_passes_numa_topology",
    "is_realtime_enabled",
    "numa_fit_instance_to_host",
    "numa_get_constraints",
    "numa_usage_from_instance_numa",
    "parse_bool",
    "parse_cpu_spec",
    "parse_mem_page_size",
    "requires_smt_host",
    "parse_pci_aliases",
    "parse_reserved_huge_pages",
    "pin_instance_cell",
    "release",
    "select_page_size",
    "sort_host_cells",
    "sort_possible_cpu_topologies",
    "support_requests",
    "vcpu_pin_sets",
]


def check_fit_request(request: NUMAFitRequest, pack: bool = False
                      ) -> tuple[bool, InstanceNUMATopology | None]:
    """Answer one ``NUMAFitRequest`` (the JSON of docs/numa.md): (passes, fitted guest).

    The guest topology comes from the request's flavor and image (an invalid one
    raises its 400 error); a guest without a NUMA topology passes with None.
    ``pack`` is ``[compute] packing_host_numa_cells_allocation_strategy``.
    """
    requested = numa_get_constraints(request.flavor, request.image)
    return host_passes_numa_topology(request.host, requested, request.flavor, request.image,
                                     request.limits, request.pci_requests, request.pci_pools,
                                     pack)
