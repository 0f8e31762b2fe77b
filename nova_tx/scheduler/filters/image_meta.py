"""Image properties as Nova's ``ImageMetaProps`` holds them, for the image filters.

Glance gives strings; Nova's ``ImageMetaProps.from_dict`` keeps only its known fields
(``STANDARD``), takes legacy names (``architecture``, ``hypervisor_type``, ``vm_mode``,
...) when the current name is not set, and types the values: flexible booleans become
``True``/``False``, integers ``int``, architectures, hypervisor types and VM modes their
canonical names. The filters compare ``str()`` of those values, so they are typed the
same way here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["STANDARD", "canonical_arch", "canonical_hv_type", "canonical_vm_mode",
           "image_meta_props"]

_BOOLEANS = frozenset((
    "hw_boot_menu", "hw_ipxe_boot", "hw_locked_memory",
    "hw_mem_encryption", "hw_pmu", "hw_qemu_guest_agent", "hw_time_hpet",
    "hw_vif_multiqueue_enabled", "hw_virtio_packed_ring", "hw_ephemeral_encryption",
    "img_bittorrent", "img_bdm_v2", "img_cache_in_nova", "img_hide_hypervisor_id",
    "img_linked_clone", "img_use_agent", "os_require_quiesce",
    "os_skip_agent_inject_files_at_boot", "os_skip_agent_inject_ssh",
))
_INTEGERS = frozenset((
    "hw_cpu_cores", "hw_cpu_sockets", "hw_cpu_threads", "hw_cpu_max_cores",
    "hw_cpu_max_sockets", "hw_cpu_max_threads", "hw_device_id", "hw_numa_nodes",
    "hw_serial_port_count", "hw_video_ram", "img_compression_level", "img_version",
))
#: The fields of Nova's ``ImageMetaProps`` (Zed): the "standard" property names.
STANDARD = _BOOLEANS | _INTEGERS | frozenset((
    "hw_architecture", "hw_emulation_architecture", "hw_auto_disk_config", "hw_cdrom_bus",
    "hw_cpu_policy", "hw_cpu_thread_policy", "hw_cpu_realtime_mask", "hw_disk_bus",
    "hw_disk_type", "hw_ephemeral_encryption_format", "hw_firmware_type", "hw_floppy_bus",
    "hw_input_bus", "hw_machine_type", "hw_mem_page_size", "hw_numa_cpus", "hw_numa_mem",
    "hw_pci_numa_affinity_policy", "hw_pointer_model", "hw_rescue_bus",
    "hw_rescue_device", "hw_rng_model", "hw_scsi_model", "hw_tpm_model", "hw_tpm_version",
    "hw_video_model", "hw_vif_model", "hw_viommu_model", "hw_vm_mode",
    "hw_watchdog_action", "img_block_device_mapping", "img_config_drive",
    "img_hv_requested_version", "img_hv_type", "img_mappings", "img_owner_id",
    "img_root_device_name", "img_signature", "img_signature_hash_method",
    "img_signature_certificate_uuid", "img_signature_key_type", "os_admin_user",
    "os_command_line", "os_distro", "os_secure_boot", "os_type", "traits_required",
))
_LEGACY = {
    "architecture": "hw_architecture", "owner_id": "img_owner_id",
    "vmware_disktype": "hw_disk_type", "vmware_image_version": "img_version",
    "vmware_ostype": "os_distro", "auto_disk_config": "hw_auto_disk_config",
    "ipxe_boot": "hw_ipxe_boot", "xenapi_device_id": "hw_device_id",
    "xenapi_image_compression_level": "img_compression_level",
    "vmware_linked_clone": "img_linked_clone", "xenapi_use_agent": "img_use_agent",
    "xenapi_skip_agent_inject_ssh": "os_skip_agent_inject_ssh",
    "xenapi_skip_agent_inject_files_at_boot": "os_skip_agent_inject_files_at_boot",
    "cache_in_nova": "img_cache_in_nova", "vm_mode": "hw_vm_mode",
    "bittorrent": "img_bittorrent", "mappings": "img_mappings",
    "block_device_mapping": "img_block_device_mapping", "bdm_v2": "img_bdm_v2",
    "root_device_name": "img_root_device_name",
    "hypervisor_version_requires": "img_hv_requested_version",
    "hypervisor_type": "img_hv_type",
}
_TRUE = ("1", "t", "true", "on", "y", "yes")


def canonical_arch(name: str | None) -> str | None:
    """Nova's ``Architecture.canonicalize`` (i386/i486/i586/x86_32 -> i686, amd64 ->
    x86_64; its substring test on ``"x86_32"`` included)."""
    if name is None:
        return None
    name = str(name).lower()
    if name in ("i386", "i486", "i586") or name in "x86_32":
        return "i686"
    if name == "amd64":
        return "x86_64"
    return name


def canonical_hv_type(name: str | None) -> str | None:
    if name is None:
        return None
    name = str(name).lower()
    return "xen" if name == "xapi" else name


def canonical_vm_mode(mode: str | None) -> str | None:
    if mode is None:
        return None
    mode = str(mode).lower()
    if mode == "pv":
        return "xen"
    if mode in ("hv", "baremetal"):
        return "hvm"
    return mode


def _typed(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _BOOLEANS:
        return value if isinstance(value, bool) else str(value).strip().lower() in _TRUE
    if name in _INTEGERS:
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if name in ("hw_architecture", "hw_emulation_architecture"):
        return canonical_arch(value)
    if name == "img_hv_type":
        return canonical_hv_type(value)
    if name == "hw_vm_mode":
        return canonical_vm_mode(value)
    return value


def image_meta_props(properties: Mapping[str, Any] | None) -> dict[str, Any]:
    """The image's standard properties, typed (legacy names when the current is unset)."""
    properties = properties or {}
    result = {}
    for legacy, current in _LEGACY.items():
        if legacy in properties:
            result[current] = properties[legacy]
    for name, value in properties.items():
        if name in STANDARD:
            result[name] = value
    return {name: _typed(name, value) for name, value in result.items()}
