"""``hw:`` extra specs (Nova Zed's, with the decisions of spec/E §0.2)."""
from __future__ import annotations

from nova_tx import exception
from nova_tx.api.validation.extra_specs.base import BOOL, INT, STR, spec

#: The API's form of a CPU set (spec/E §1.1).
CPU_SPEC = r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"
NODE_ID = [{"name": "id", "pattern": r"\d+"}]


def _page_size(name: str, value: str) -> None:
    # spec/E §1.5: one parser at both layers, so "2M" (which the regex lets through
    # and the guest build would refuse) is refused here too.
    from nova_tx.virt import constraints

    try:
        constraints.parse_mem_page_size(value, name)
    except exception.MemoryPageSizeInvalid:
        raise exception.ValidationError(
            detail=f"Validation failed; '{value}' is not a valid memory page size: "
                   "small, large, any, or a size in KiB or with a unit such as 2MB, "
                   "2MiB or 1GiB.") from None


VALIDATORS = [
    spec("hw:cpu_realtime", BOOL, "Whether realtime priority is enabled."),
    spec("hw:cpu_realtime_mask", STR, "vCPUs that are not realtime (^n) or are.",
         pattern=r"(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"),
    spec("hw:hide_hypervisor_id", BOOL, "Hide the hypervisor ID from the guest."),
    spec("hw:cpu_policy", STR, "CPU policy.", enum=["dedicated", "shared", "mixed"]),
    spec("hw:cpu_thread_policy", STR, "CPU thread policy.",
         enum=["prefer", "isolate", "require"]),
    spec("hw:emulator_threads_policy", STR, "Emulator threads policy.",
         enum=["isolate", "share"]),
    spec("hw:cpu_dedicated_mask", STR, "Pinned vCPUs of a mixed guest.", pattern=CPU_SPEC),
    spec("hw:mem_page_size", STR, "Page size of guest memory.",
         pattern=r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)", check=_page_size),
    spec("hw:locked_memory", BOOL, "Lock guest memory in host RAM."),
    spec("hw:numa_nodes", INT, "Guest NUMA nodes.", min=1),
    spec("hw:numa_cpus.{id}", STR, "vCPUs of guest NUMA node {id}.", pattern=CPU_SPEC,
         parameters=NODE_ID),
    spec("hw:numa_mem.{id}", INT, "MiB of guest NUMA node {id}.", min=1,
         parameters=NODE_ID),
    spec("hw:pci_numa_affinity_policy", STR, "PCI NUMA affinity policy.",
         enum=["required", "preferred", "legacy", "socket"]),
    # spec/E D5: the runtime's names, not Zed's mistaken hw:max_cpu_*.
    *(spec(f"hw:cpu_{what}", INT, f"Preferred guest CPU {what}.", min=1)
      for what in ("sockets", "cores", "threads")),
    *(spec(f"hw:cpu_max_{what}", INT, f"Most guest CPU {what}.", min=1)
      for what in ("sockets", "cores", "threads")),
    spec("hw:boot_menu", BOOL, "Show a boot menu."),
    spec("hw:mem_encryption", BOOL, "AMD SEV memory encryption."),
    spec("hw:pmem", STR, "vPMEM labels.", pattern="([a-zA-Z0-9_]+(,)?)+"),
    spec("hw:pmu", BOOL, "Performance monitoring unit."),
    spec("hw:serial_port_count", INT, "Serial ports.", min=0),
    spec("hw:tpm_model", STR, "TPM model.", enum=["tpm-tis", "tpm-crb"]),
    spec("hw:tpm_version", STR, "TPM version.", enum=["1.2", "2.0"]),
    spec("hw:watchdog_action", STR, "Watchdog action.",
         enum=["none", "pause", "poweroff", "reset", "disabled"]),
    spec("hw:virtio_packed_ring", BOOL, "Packed virtqueues."),
    spec("hw:vif_multiqueue_enabled", BOOL, "Multiqueue virtio-net."),
    spec("hw:viommu_model", STR, "Virtual IOMMU model.",
         enum=["intel", "smmuv3", "virtio", "auto"]),
    # Zed: read by the scheduler's ephemeral encryption prefilter.
    spec("hw:ephemeral_encryption", BOOL, "Encrypted ephemeral storage."),
    spec("hw:ephemeral_encryption_format", STR, "Ephemeral encryption format.",
         enum=["plain", "luks", "luksv2"]),
    # Not namespaced, and as Nova: hide_hypervisor_id and group_policy.
    spec("hide_hypervisor_id", BOOL, "Hide the hypervisor ID from the guest."),
]
