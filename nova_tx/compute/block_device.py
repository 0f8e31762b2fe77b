"""Block device mappings at boot: the API's v2 dicts, the legacy (v1) conversion and
every check of spec A §4 that needs no other service (Nova's ``nova/block_device.py``
and the BDM half of ``compute/api.py``).

A mapping is a plain dict with Nova's internal keys (``source_type``,
``destination_type``, ``image_id`` / ``volume_id`` / ``snapshot_id``, ``boot_index``,
``volume_size``, ``device_name``, ``guest_format``, ``disk_bus``, ``device_type``,
``delete_on_termination``, ``volume_type``, ``tag``, ``no_device``), as Nova's
``BlockDeviceDict`` is a dict; the conductor turns them into rows.

Decisions (spec A §5, named in docs/servers-create.md):

* Q2: only the six documented ``source_type -> destination_type`` pairs are accepted;
  ``volume -> local`` and ``snapshot -> local`` are a 400 at the API rather than a
  failure on the compute host.
* Q3: a missing ``destination_type`` means ``volume`` for volume and snapshot sources
  (what the legacy format always meant); for image and blank sources it means
  ``local`` (Nova's compute manager reads it so).
* Q4: ``image -> local`` must name the same image as ``imageRef``.
* ``device_type`` must be one Nova's object field accepts (Nova fails later with a
  500 on anything else).
"""
from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

from nova_tx import exception

#: What ``BlockDeviceDict`` knows (anything else in a v2 mapping is refused).
FIELDS = frozenset((
    "id", "instance_uuid", "source_type", "destination_type", "guest_format",
    "device_type", "disk_bus", "boot_index", "device_name", "delete_on_termination",
    "snapshot_id", "volume_id", "volume_size", "image_id", "no_device",
    "connection_info", "tag", "volume_type", "encrypted", "encryption_secret_uuid",
    "encryption_format", "encryption_options"))
DB_ONLY_FIELDS = frozenset(("id", "instance_uuid", "attachment_id", "uuid"))
REQUIRED_FIELDS = frozenset(("source_type",))

#: Nova's ``fields.DiskBus.ALL`` (Zed).
DISK_BUSES = ("fdc", "ide", "sata", "scsi", "usb", "virtio", "xen", "lxc", "uml")
#: Nova's ``fields.BlockDeviceType.ALL``.
DEVICE_TYPES = ("cdrom", "disk", "floppy", "fs", "lun")
#: The pairs the documentation lists (spec A §4.2).
SUPPORTED_PAIRS = frozenset((
    ("image", "local"), ("volume", "volume"), ("snapshot", "volume"),
    ("image", "volume"), ("blank", "volume"), ("blank", "local")))

DEFAULT_ROOT_DEVICE_NAME = "vda"
_EPHEMERAL = re.compile(r"^ephemeral(\d|[1-9]\d+)$")
_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


def bool_from_string(value: Any) -> bool:
    """oslo's ``strutils.bool_from_string`` (not strict): unknown strings are False."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def strip_dev(device_name: str | None) -> str | None:
    """``/dev/vda`` -> ``vda``."""
    return re.sub(r"^/dev/", "", device_name) if device_name else device_name


def prepend_dev(device_name: str | None) -> str | None:
    """``vda`` -> ``/dev/vda``."""
    return device_name and "/dev/" + strip_dev(device_name)


def validate_device_name(value: Any) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= 255:
        raise exception.InvalidBDMFormat(details="Device name empty or too long.")
    if " " in value:
        raise exception.InvalidBDMFormat(details="Device name contains spaces.")


def validate_and_default_volume_size(bdm: dict[str, Any]) -> None:
    if bdm.get("volume_size"):
        try:
            size = int(str(bdm["volume_size"]))
        except ValueError:
            raise exception.InvalidBDMFormat(details="Invalid volume_size.") from None
        if size < 0:
            raise exception.InvalidBDMFormat(details="Invalid volume_size.")
        bdm["volume_size"] = size


def _boot_index(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exception.InvalidBDMFormat(details="Boot index is invalid.") from None


def checked(bdm: Mapping[str, Any]) -> dict[str, Any]:
    """Nova's ``BlockDeviceDict(...)``: known fields only, ``source_type`` present, the
    values normalised (booleans, integers, device names)."""
    bdm = dict(bdm)
    if not set(bdm) <= FIELDS | DB_ONLY_FIELDS:
        raise exception.InvalidBDMFormat(details="Some fields are invalid.")
    if bdm.get("no_device"):
        return bdm
    if not REQUIRED_FIELDS <= set(bdm):
        raise exception.InvalidBDMFormat(details="Some required fields are missing")
    if "delete_on_termination" in bdm:
        bdm["delete_on_termination"] = bool_from_string(bdm["delete_on_termination"])
    if bdm.get("device_name") is not None:
        validate_device_name(bdm["device_name"])
    validate_and_default_volume_size(bdm)
    if "boot_index" in bdm:
        bdm["boot_index"] = _boot_index(bdm["boot_index"])
    return bdm


def from_api(api_dict: Mapping[str, Any], image_ref: str | None) -> dict[str, Any]:
    """A ``block_device_mapping_v2`` entry in the internal form (``from_api``).

    ``image_ref`` is the request's ``imageRef`` (None when absent): the only image a
    ``image -> local`` mapping may name, as boot device 0.
    """
    bdm = dict(api_dict)
    if not bdm.get("no_device"):
        source_type = bdm.get("source_type")
        device_uuid = bdm.get("uuid")
        destination_type = bdm.get("destination_type")
        volume_type = bdm.get("volume_type")
        if source_type is None:
            raise exception.InvalidBDMFormat(details="Some required fields are missing")
        if source_type == "blank" and device_uuid:
            raise exception.InvalidBDMFormat(details="Invalid device UUID.")
        if source_type != "blank":
            if not device_uuid:
                raise exception.InvalidBDMFormat(details="Missing device UUID.")
            bdm[f"{source_type}_id"] = device_uuid
        if destination_type is None:
            destination_type = "volume" if source_type in ("volume", "snapshot") else "local"
            bdm["destination_type"] = destination_type
        if (source_type, destination_type) not in SUPPORTED_PAIRS:
            raise exception.InvalidBDMFormat(
                details="Mapping %s to %s is not supported." % (source_type, destination_type))
        if source_type == "image" and destination_type == "local":
            boot_index = _boot_index(bdm.get("boot_index", -1))
            if not (image_ref is not None and boot_index == 0):
                raise exception.InvalidBDMFormat(details="Mapping image to local is not supported.")
            if device_uuid != image_ref:
                raise exception.InvalidBDMFormat(
                    details="The image to local mapping must name the image of imageRef.")
        if destination_type == "local" and volume_type:
            raise exception.InvalidBDMFormat(
                details="Specifying a volume_type with destination_type=local is not "
                "supported.")
        if source_type == "volume" and volume_type:
            raise exception.InvalidBDMFormat(
                details="Specifying volume type to existing volume is not supported.")
    bdm.pop("uuid", None)
    return checked(bdm)


def from_legacy(legacy: Mapping[str, Any], default_ephemeral_format: str | None = None
                ) -> dict[str, Any]:
    """One ``block_device_mapping`` (v1) entry as a v2 one (``BlockDeviceDict.from_legacy``)."""
    copied = dict(legacy)
    virtual_name = copied.pop("virtual_name", None)
    result = {k: v for k, v in copied.items() if k in FIELDS | DB_ONLY_FIELDS}
    result.setdefault("boot_index", -1)
    if virtual_name == "swap" or (virtual_name and _EPHEMERAL.match(virtual_name)):
        result.update(source_type="blank", destination_type="local",
                      delete_on_termination=True)
        result["guest_format"] = "swap" if virtual_name == "swap" else default_ephemeral_format
    elif copied.get("snapshot_id"):
        result.update(source_type="snapshot", destination_type="volume")
    elif copied.get("volume_id"):
        result.update(source_type="volume", destination_type="volume")
    elif copied.get("no_device"):
        # A suppressor of an image's mapping: it keeps only its device name.
        result = {"device_name": copied.get("device_name"), "no_device": True,
                  "boot_index": -1}
    else:
        raise exception.InvalidBDMFormat(details="Unrecognized legacy format.")
    return checked(result)


def create_image_bdm(image_ref: str, boot_index: int | None = 0) -> dict[str, Any]:
    """The root mapping of a boot from ``image_ref`` (what a plain image boot gets)."""
    return {"source_type": "image", "image_id": image_ref, "delete_on_termination": True,
            "boot_index": boot_index, "device_type": "disk", "destination_type": "local"}


def create_blank_bdm(size: int, guest_format: str | None = None) -> dict[str, Any]:
    return {"source_type": "blank", "destination_type": "local", "boot_index": -1,
            "volume_size": size, "guest_format": guest_format,
            "delete_on_termination": True}


def from_legacy_mapping(legacy: Iterable[Mapping[str, Any]], image_uuid: str | None = "",
                        root_device_name: str | None = None, no_root: bool = False,
                        default_ephemeral_format: str | None = None) -> list[dict[str, Any]]:
    """A whole v1 list as v2, with the boot indexes Nova gives (spec A §4.5)."""
    new_bdms = [from_legacy(bdm, default_ephemeral_format) for bdm in legacy]
    if no_root:
        for bdm in new_bdms:
            bdm["boot_index"] = -1
        return new_bdms
    image_bdm = None
    volume_backed = False
    if not root_device_name and not image_uuid:
        # Without a root device name nor an image, the first volume boots.
        non_blank = [bdm for bdm in new_bdms if bdm.get("source_type") != "blank"]
        if non_blank:
            non_blank[0]["boot_index"] = 0
    else:
        for bdm in new_bdms:
            if (bdm.get("source_type") in ("volume", "snapshot", "image")
                    and root_device_name is not None
                    and strip_dev(bdm.get("device_name")) == strip_dev(root_device_name)):
                bdm["boot_index"] = 0
                volume_backed = True
            elif not bdm.get("no_device"):
                bdm["boot_index"] = -1
            else:
                bdm["boot_index"] = None
        if not volume_backed and image_uuid:
            image_bdm = create_image_bdm(image_uuid, boot_index=0)
    return ([image_bdm] if image_bdm else []) + new_bdms


def new_format_is_swap(bdm: Mapping[str, Any]) -> bool:
    return (bdm.get("source_type") == "blank" and bdm.get("destination_type") == "local"
            and bdm.get("guest_format") == "swap")


def new_format_is_ephemeral(bdm: Mapping[str, Any]) -> bool:
    return (bdm.get("source_type") == "blank" and bdm.get("destination_type") == "local"
            and bdm.get("guest_format") != "swap")


def get_root_bdm(bdms: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((bdm for bdm in bdms if bdm.get("boot_index", -1) == 0), None)


def is_volume_backed(bdms: Iterable[Mapping[str, Any]]) -> bool:
    root = get_root_bdm(bdms)
    return root is not None and root.get("destination_type") == "volume"


def merge_bdms_lists(overridable: list[dict[str, Any]], overrider: list[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    """``overrider`` plus those of ``overridable`` whose device name it does not use."""
    names = {bdm.get("device_name") for bdm in overrider if bdm.get("device_name")}
    return overrider + [bdm for bdm in overridable if bdm.get("device_name") not in names]


def is_swap_or_ephemeral(virtual_name: str | None) -> bool:
    return bool(virtual_name) and (virtual_name == "swap"
                                   or _EPHEMERAL.match(virtual_name) is not None)


def _json_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            raise exception.InvalidBDMFormat(
                details="The image's %s is not JSON." % what) from None
    return list(value or [])


def image_mapping_bdms(flavor: Any, mappings: Any,
                       default_ephemeral_format: str | None = None) -> list[dict[str, Any]]:
    """The swap and ephemeral disks of an image's EC2 ``mappings`` property (Nova's
    ``_prepare_image_mapping``); a disk the flavor gives no size is left out."""
    prepared = []
    for mapping in _json_list(mappings, "mappings"):
        virtual_name = mapping.get("virtual")
        if not is_swap_or_ephemeral(virtual_name):
            continue
        device = mapping.get("device")
        if device and not device.startswith("/"):
            device = "/dev/" + device
        guest_format = "swap" if virtual_name == "swap" else (
            mapping.get("guest_format") or default_ephemeral_format)
        size = flavor.swap if guest_format == "swap" else flavor.ephemeral_gb
        if not size:
            continue
        prepared.append({"device_name": device, "source_type": "blank",
                         "destination_type": "local", "device_type": "disk",
                         "guest_format": guest_format, "delete_on_termination": True,
                         "boot_index": -1, "volume_size": size})
    return prepared


def image_defined_bdms(image_properties: Mapping[str, Any],
                       root_device_name: str = DEFAULT_ROOT_DEVICE_NAME,
                       default_ephemeral_format: str | None = None, flavor: Any = None
                       ) -> list[dict[str, Any]]:
    """The mappings an image defines: its ``block_device_mapping`` property (legacy
    unless the image says ``bdm_v2``), overriding by device name the disks of its
    ``mappings`` property (with ``flavor``)."""
    defined = _json_list(image_properties.get("block_device_mapping"),
                         "block_device_mapping")
    if not bool_from_string(image_properties.get("bdm_v2", False)):
        bdms = from_legacy_mapping(defined, None, root_device_name,
                                   default_ephemeral_format=default_ephemeral_format)
    else:
        bdms = [checked({k: v for k, v in dict(bdm).items() if k in FIELDS | DB_ONLY_FIELDS})
                for bdm in defined]
    if flavor is not None and image_properties.get("mappings"):
        bdms = merge_bdms_lists(
            image_mapping_bdms(flavor, image_properties["mappings"],
                               default_ephemeral_format), bdms)
    return bdms


def flavor_defined_bdms(flavor: Any, bdms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The flavor's ephemeral and swap disks the request did not ask for itself."""
    defined = []
    if flavor.ephemeral_gb and not any(map(new_format_is_ephemeral, bdms)):
        defined.append(create_blank_bdm(flavor.ephemeral_gb))
    if flavor.swap and not any(map(new_format_is_swap, bdms)):
        defined.append(create_blank_bdm(flavor.swap, "swap"))
    return defined


def check_and_transform(bdms: list[dict[str, Any]], *, flavor: Any,
                        image_properties: Mapping[str, Any], image_ref: str,
                        legacy_bdm: bool, min_count: int, max_count: int,
                        root_device_name: str | None = None,
                        default_ephemeral_format: str | None = None
                        ) -> list[dict[str, Any]]:
    """The full list of an instance's mappings (Nova's ``_check_and_transform_bdm``):
    the request's, the image's they do not override, and the flavor's disks."""
    root_device_name = root_device_name or DEFAULT_ROOT_DEVICE_NAME
    if image_ref:
        for bdm in bdms:
            if (bdm.get("destination_type") == "volume"
                    and strip_dev(bdm.get("device_name")) == root_device_name):
                raise exception.InvalidRequest(
                    "The volume cannot be assigned the same device name as the root "
                    "device %s" % root_device_name)
    from_image = image_defined_bdms(image_properties, root_device_name,
                                    default_ephemeral_format, flavor)
    root_in_image = get_root_bdm(from_image) is not None
    if legacy_bdm:
        bdms = from_legacy_mapping(bdms, image_ref, root_device_name, no_root=root_in_image,
                                   default_ephemeral_format=default_ephemeral_format)
    elif root_in_image:
        # The client put the image in as boot device 0; the image's own root wins.
        bdms = [bdm for bdm in bdms
                if not (bdm.get("boot_index") == 0 and bdm.get("source_type") == "image")]
    bdms = merge_bdms_lists(from_image, [copy.deepcopy(b) for b in bdms])
    if (min_count > 1 or max_count > 1) and any(
            bdm.get("source_type") == "volume" for bdm in bdms):
        raise exception.InvalidRequest(
            "Cannot attach one or more volumes to multiple instances")
    return bdms + flavor_defined_bdms(flavor, bdms)


def validate(bdms: list[dict[str, Any]], *, flavor: Any, max_local_block_devices: int
             ) -> None:
    """The checks of Nova's ``_validate_bdm`` that need no other service: boot
    sequence, sizes that must be given, buses and device types, ephemeral and swap
    sizes against the flavor, the local device limit (negative: no limit)."""
    usable = [bdm for bdm in bdms if not bdm.get("no_device")]
    boot_indexes = sorted(bdm["boot_index"] for bdm in usable
                          if bdm.get("boot_index") is not None and bdm["boot_index"] >= 0)
    if not boot_indexes or any(i != v for i, v in enumerate(boot_indexes)):
        raise exception.InvalidBDMBootSequence()
    for bdm in usable:
        if (bdm.get("source_type") == "image" and bdm.get("destination_type") == "volume"
                and not bdm.get("volume_size")):
            raise exception.InvalidBDM(
                message="Images with destination_type 'volume' need to have a non-zero "
                "size specified")
        if (bdm.get("source_type") == "blank" and bdm.get("destination_type") == "volume"
                and not bdm.get("volume_size")):
            raise exception.InvalidBDM(
                message="Blank volumes (source: 'blank', dest: 'volume') need to have "
                "non-zero size")
        disk_bus = bdm.get("disk_bus")
        if disk_bus and disk_bus not in DISK_BUSES:
            raise exception.InvalidBDMDiskBus(disk_bus=disk_bus)
        device_type = bdm.get("device_type")
        if device_type and device_type not in DEVICE_TYPES:
            raise exception.InvalidBDMFormat(
                details="Device type %s is not supported." % device_type)
    ephemeral_size = sum(bdm.get("volume_size") or flavor.ephemeral_gb
                         for bdm in usable if new_format_is_ephemeral(bdm))
    if ephemeral_size > flavor.ephemeral_gb:
        raise exception.InvalidBDMEphemeralSize()
    swaps = [bdm for bdm in usable if new_format_is_swap(bdm)]
    if len(swaps) > 1:
        raise exception.InvalidBDMFormat(details="More than one swap drive requested.")
    if swaps and (swaps[0].get("volume_size") or 0) > flavor.swap:
        raise exception.InvalidBDMSwapSize()
    if max_local_block_devices >= 0:
        local = [bdm for bdm in usable if bdm.get("destination_type") == "local"]
        if len(local) > max_local_block_devices:
            raise exception.InvalidBDMLocalsLimit()


def bdm_primitive(bdm: dict[str, Any], instance_uuid: str | None = None) -> dict[str, Any]:
    """A mapping as Nova's ``BlockDeviceMapping`` primitive (1.20); ``instance_uuid``
    when it belongs to one instance already (a build request's)."""
    data = {k: v for k, v in bdm.items() if v is not None or k == "boot_index"}
    if instance_uuid is not None:
        data["instance_uuid"] = instance_uuid
    data.setdefault("delete_on_termination", False)
    return {"nova_object.name": "BlockDeviceMapping", "nova_object.namespace": "nova",
            "nova_object.version": "1.20", "nova_object.data": data,
            "nova_object.changes": sorted(data)}


def bdm_list_primitive(bdms: list[dict[str, Any]], instance_uuid: str | None = None
                       ) -> dict[str, Any]:
    """Nova's ``BlockDeviceMappingList`` primitive (1.18) of ``bdms``."""
    data = {"objects": [bdm_primitive(b, instance_uuid) for b in bdms]}
    return {"nova_object.name": "BlockDeviceMappingList", "nova_object.namespace": "nova",
            "nova_object.version": "1.18", "nova_object.data": data,
            "nova_object.changes": ["objects"]}
