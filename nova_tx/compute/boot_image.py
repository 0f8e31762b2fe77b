"""The boot image against the flavor (Nova's ``compute/api.py``
``_check_requested_image`` and ``_validate_flavor_image_nostatus``) and what the
instance keeps of it (``utils.get_system_metadata_from_image``)."""
from __future__ import annotations

from typing import Any

from nova_tx import exception
from nova_tx.image import api as image_api
from nova_tx.objects import request_spec as rs
from nova_tx.objects.flavor import Flavor
from nova_tx.virt import hardware

GiB = 1024 ** 3
#: Image properties that do not go into the instance's system metadata.
_SM_SKIP_KEYS = ("mappings", "block_device_mapping", "img_signature_hash_method",
                 "img_signature", "img_signature_key_type",
                 "img_signature_certificate_uuid")
_SM_INHERITABLE = ("min_ram", "min_disk", "disk_format", "container_format")


def check_requested_image(image: dict[str, Any] | None, flavor: Flavor,
                          root_bdm: dict[str, Any] | None) -> None:
    """Nova's ``_check_requested_image``: the image is active and fits the flavor's
    memory and root disk (or the root volume about to be made from it)."""
    if not image:
        return
    if image.get("status") != "active":
        raise image_api.ImageNotActive(image_id=image.get("id"))
    config_drive = image.get("img_config_drive", "optional")
    if config_drive not in ("optional", "mandatory"):
        raise exception.InvalidImageConfigDrive(config_drive=config_drive)
    if flavor.memory_mb < int(image.get("min_ram") or 0):
        raise exception.FlavorMemoryTooSmall()
    image_min_disk = int(image.get("min_disk") or 0) * GiB
    image_size = int(image.get("size") or 0)
    if root_bdm is not None and root_bdm.get("destination_type") == "volume":
        if not root_bdm.get("volume_size"):
            return
        dest_size = int(root_bdm["volume_size"]) * GiB
        if image_size > dest_size:
            raise exception.VolumeSmallerThanMinDisk(volume_size=dest_size,
                                                     image_min_disk=image_size)
        if image_min_disk > dest_size:
            raise exception.VolumeSmallerThanMinDisk(volume_size=dest_size,
                                                     image_min_disk=image_min_disk)
        return
    dest_size = flavor.root_gb * GiB
    if dest_size == 0:
        # A zero-disk flavor: the policy decides (check_zero_disk_flavor).
        return
    if image_size > dest_size:
        raise exception.FlavorDiskSmallerThanImage(flavor_size=dest_size,
                                                   image_size=image_size)
    if image_min_disk > dest_size:
        raise exception.FlavorDiskSmallerThanMinDisk(flavor_size=dest_size,
                                                     image_min_disk=image_min_disk)


def _pci_aliases(conf: Any) -> list[Any]:
    try:
        return list(conf.pci.alias or [])
    except Exception:  # noqa: BLE001 - no [pci] options in this process
        return []


def image_meta(image: dict[str, Any] | None) -> rs.ImageMeta:
    return rs.ImageMeta.from_image(image or {})


def flavor_image_constraints(flavor: Flavor, image: dict[str, Any] | None, conf: Any
                             ) -> tuple[Any, list[Any]]:
    """(NUMA topology, PCI requests) the flavor and image ask for; the kernel's rules
    raise the documented 400s for combinations that cannot be."""
    meta = image_meta(image)
    numa_flavor = flavor.for_numa()
    topology = hardware.numa_get_constraints(numa_flavor, meta)
    hardware.get_cpu_topology_constraints(
        numa_flavor, meta, len(topology.cells) if topology is not None else 0)
    pci_requests: list[Any] = []
    if (flavor.extra_specs or {}).get("pci_passthrough:alias"):
        aliases = hardware.parse_pci_aliases(_pci_aliases(conf))
        pci_requests = hardware.get_pci_requests_from_flavor(numa_flavor, meta, aliases)
    return topology, pci_requests


def system_metadata_from_image(image: dict[str, Any] | None) -> dict[str, str]:
    """Nova's ``utils.get_system_metadata_from_image``: the image's properties as
    ``image_<key>`` (and its min_ram, min_disk and formats)."""
    if not image:
        return {}
    result: dict[str, str] = {}
    properties = {k: v for k, v in image_meta(image).properties.items()
                  if k not in _SM_SKIP_KEYS}
    for key, value in properties.items():
        if value is not None:
            result["image_%s" % key] = str(value)[:255]
    for key in _SM_INHERITABLE:
        if image.get(key) is not None:
            result["image_%s" % key] = str(image[key])
    return result
