"""The other namespaces Nova Zed validates: ``hw_rng``, ``hw_video``, ``os``, ``quota``,
``accel``, ``pci_passthrough``, ``resources*``, ``trait*``, ``group_policy``,
``capabilities``, ``aggregate_instance_extra_specs``, ``powervm``, ``vmware``."""
from __future__ import annotations

import os_resource_classes
import os_traits

from nova_tx.api.validation.extra_specs.base import BOOL, INT, STR, spec

GROUP = {"name": "group", "pattern": r"([a-zA-Z0-9_-]{1,64})?"}

DRIVERS = [
    spec("hw_rng:allowed", BOOL, "Whether the image may ask for a random number generator."),
    spec("hw_rng:rate_bytes", INT, "Bytes of host entropy per period.", min=0),
    spec("hw_rng:rate_period", INT, "Length of a period in seconds.", min=0),
    spec("hw_video:ram_max_mb", INT, "Most video RAM an image may ask for.", min=0),
    # spec/F §15.3: "optional" is documented and means "disabled"; we accept it.
    spec("os:secure_boot", STR, "UEFI Secure Boot.",
         enum=["disabled", "required", "optional"]),
    spec("accel:device_profile", STR, "A Cyborg device profile."),
    spec("pci_passthrough:alias", STR, "PCI aliases and counts.",
         pattern=r"[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*"),
    spec("group_policy", STR, "Granular group policy.", enum=["isolate", "none"]),
]

QUOTAS = [
    *(spec(f"quota:{resource}_{key}", kind, "VMware quota.")
      for resource in ("cpu", "memory", "disk_io", "vif")
      for key, kind in (("limit", INT), ("reservation", INT), ("shares_level", STR),
                        ("shares_share", INT))),
    *(spec(f"quota:cpu_{key}", INT, "libvirt CPU quota.", min=0)
      for key in ("shares", "period", "quota")),
    *(spec(f"quota:disk_{stat}_{metric}_sec", INT, "Disk I/O quota.", min=0)
      for stat in ("read", "write", "total") for metric in ("bytes", "iops")),
    *(spec(f"quota:vif_{stat}_{metric}", INT, "VIF bandwidth quota.", min=0)
      for stat in ("inbound", "outbound") for metric in ("average", "peak", "burst")),
]

PLACEMENT = [
    *(spec(f"resources{{group}}:{rc}", INT, f"Amount of {rc}.", parameters=[GROUP])
      for rc in os_resource_classes.STANDARDS),
    spec("resources{group}:CUSTOM_{resource}", INT, "Amount of a custom resource class.",
         parameters=[GROUP, {"name": "resource", "pattern": r"[A-Z0-9_]+"}]),
    *(spec(f"trait{{group}}:{trait}", STR, f"Require or forbid {trait}.",
           enum=["required", "forbidden"], parameters=[GROUP])
      for trait in os_traits.get_traits()),
    spec("trait{group}:CUSTOM_{trait}", STR, "Require or forbid a custom trait.",
         enum=["required", "forbidden"],
         parameters=[GROUP, {"name": "trait", "pattern": r"[A-Z0-9_]+"}]),
]

_CAPABILITIES = (
    "id", "uuid", "service_id", "host", "vcpus", "memory_mb", "local_gb", "vcpus_used",
    "memory_mb_used", "local_gb_used", "hypervisor_type", "hypervisor_version",
    "hypervisor_hostname", "free_ram_mb", "free_disk_gb", "current_workload",
    "running_vms", "disk_available_least", "host_ip", "mapped", "cpu_allocation_ratio",
    "ram_allocation_ratio", "disk_allocation_ratio", "total_usable_ram_mb",
    "total_usable_disk_gb", "disk_mb_used", "free_disk_mb", "vcpus_total", "num_instances",
    "num_io_ops", "failed_builds", "aggregates", "cell_uuid", "updated")
_NESTED_CAPABILITIES = (
    "cpu_info", "metrics", "stats", "numa_topology", "supported_hv_specs",
    "pci_device_pools", "nodename", "pci_stats", "supported_instances", "limits",
    "instances")

SCHEDULER = [
    *(spec(f"capabilities:{name}", STR, "ComputeCapabilitiesFilter.")
      for name in _CAPABILITIES),
    *(spec(f"capabilities:{name}{{filter}}", STR, "ComputeCapabilitiesFilter.",
           parameters=[{"name": "filter", "pattern": r"(:\w+)*"}])
      for name in _NESTED_CAPABILITIES),
    spec("aggregate_instance_extra_specs:{key}", STR, "AggregateInstanceExtraSpecsFilter.",
         parameters=[{"name": "key", "pattern": r".+"}]),
]

POWERVM = [
    spec("powervm:min_mem", INT, min=256),
    spec("powervm:max_mem", INT, min=256),
    spec("powervm:min_vcpu", INT, min=1),
    spec("powervm:max_vcpu", INT, min=1),
    spec("powervm:proc_units", STR, pattern=r"\d+\.\d+"),
    spec("powervm:min_proc_units", STR, pattern=r"\d+\.\d+"),
    spec("powervm:max_proc_units", STR, pattern=r"\d+\.\d+"),
    spec("powervm:dedicated_proc", BOOL),
    spec("powervm:shared_weight", INT, min=0, max=255),
    spec("powervm:availability_priority", INT, min=0, max=255),
    spec("powervm:uncapped", BOOL),
    spec("powervm:dedicated_sharing_mode", STR,
         enum=["share_idle_procs", "keep_idle_procs", "share_idle_procs_active",
               "share_idle_procs_always"]),
    spec("powervm:processor_compatibility", STR,
         enum=["default", "POWER6", "POWER6+", "POWER6_Enhanced", "POWER6+_Enhanced",
               "POWER7", "POWER8"]),
    spec("powervm:shared_proc_pool_name", STR),
    spec("powervm:srr_capability", BOOL),
]

VMWARE = [
    spec("vmware:hw_version", STR, "Hardware version."),
    spec("vmware:storage_policy", STR, "Storage policy."),
]

VALIDATORS = DRIVERS + QUOTAS + PLACEMENT + SCHEDULER + POWERVM + VMWARE
