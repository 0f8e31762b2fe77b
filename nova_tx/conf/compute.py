"""``[compute]`` CPU-layout options and the ``[DEFAULT]`` resource options of a compute host.

As in Nova's ``nova/conf/compute.py``: the names and defaults are Nova's (Zed), except
``packing_host_numa_cells_allocation_strategy``, whose default is False (spread) as the
Zed code shipped (spec/DECISIONS.md). ``nova_tx.virt.hardware`` never reads them: the
compute and the scheduler pass their values in.
"""
from oslo_config import cfg, types

from nova_tx.conf.base import register_group_opts

compute_group = cfg.OptGroup(
    "compute",
    title="Compute Manager Options",
    help="Options for a compute host: its CPU layout and NUMA placement.",
)

compute_group_opts = [
    cfg.StrOpt(
        "cpu_shared_set",
        help="Host CPUs (a CPU set spec such as '4-12,^8,15') for floating guests: the "
        "VCPU inventory, the CPUs of guests without a dedicated CPU policy, and the CPUs "
        "of emulator threads under hw:emulator_threads_policy=share. Must be disjoint "
        "from cpu_dedicated_set and online.",
    ),
    cfg.StrOpt(
        "cpu_dedicated_set",
        help="Host CPUs (a CPU set spec) for pinned guests: the PCPU inventory and the "
        "CPUs of guests with hw:cpu_policy=dedicated or mixed. Cannot be combined with "
        "vcpu_pin_set. Without it (and without cpu_shared_set alone), pinned guests use "
        "the shared CPUs (the legacy layout).",
    ),
    cfg.BoolOpt(
        "packing_host_numa_cells_allocation_strategy",
        default=False,
        help="How a guest's NUMA cells are placed on a host's cells: True packs them onto "
        "the most used cells (least free memory and CPUs first), False spreads them onto "
        "the least used. Cells with PCI devices come first when the guest asks for PCI "
        "devices, last otherwise, whichever the strategy.",
    ),
]

resource_opts = [
    cfg.StrOpt(
        "vcpu_pin_set",
        deprecated_for_removal=True,
        deprecated_since="20.0.0",
        deprecated_reason="Use [compute] cpu_shared_set and cpu_dedicated_set.",
        help="Host CPUs (a CPU set spec) for both floating and pinned guests. Cannot be "
        "combined with [compute] cpu_dedicated_set.",
    ),
    cfg.IntOpt(
        "reserved_host_cpus",
        default=0,
        min=0,
        help="Host CPUs reserved from the VCPU inventory. Cannot be combined with "
        "[compute] cpu_shared_set or cpu_dedicated_set (CPUs outside both are reserved).",
    ),
    cfg.IntOpt(
        "reserved_host_memory_mb",
        default=512,
        min=0,
        help="Host memory (MiB) reserved from the MEMORY_MB inventory; NUMA cell memory "
        "is not reduced by it.",
    ),
    cfg.IntOpt(
        "reserved_host_disk_mb",
        default=0,
        min=0,
        help="Host disk (MiB) reserved from the DISK_GB inventory (rounded up to GiB).",
    ),
    cfg.MultiOpt(
        "reserved_huge_pages",
        item_type=types.Dict(),
        help="Huge pages reserved per NUMA node, one entry per node and size: "
        "'node:0,size:2048,count:64' or 'node:1,size:1GB,count:1'. Sizes are KiB or carry "
        "a unit (2MB, 1GB).",
    ),
    cfg.FloatOpt(
        "cpu_allocation_ratio",
        min=0.0,
        help="VCPU overcommit ratio. Unset or 0.0 keeps the inventory's ratio, or "
        "initial_cpu_allocation_ratio for a new one. PCPU is never overcommitted.",
    ),
    cfg.FloatOpt(
        "ram_allocation_ratio",
        min=0.0,
        help="MEMORY_MB overcommit ratio. Unset or 0.0 keeps the inventory's ratio, or "
        "initial_ram_allocation_ratio for a new one. Pinned guests never overcommit memory.",
    ),
    cfg.FloatOpt(
        "disk_allocation_ratio",
        min=0.0,
        help="DISK_GB overcommit ratio. Unset or 0.0 keeps the inventory's ratio, or "
        "initial_disk_allocation_ratio for a new one.",
    ),
    cfg.FloatOpt("initial_cpu_allocation_ratio", default=16.0, min=0.0,
                 help="VCPU allocation ratio of a new compute node's inventory."),
    cfg.FloatOpt("initial_ram_allocation_ratio", default=1.5, min=0.0,
                 help="MEMORY_MB allocation ratio of a new compute node's inventory."),
    cfg.FloatOpt("initial_disk_allocation_ratio", default=1.0, min=0.0,
                 help="DISK_GB allocation ratio of a new compute node's inventory."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(resource_opts)
    register_group_opts(conf, compute_group, compute_group_opts)


def list_opts() -> dict:
    return {"DEFAULT": resource_opts, compute_group: compute_group_opts}
