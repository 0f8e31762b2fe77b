"""One instance's metadata as the guest sees it (Nova's ``InstanceMetadata``).

``InstanceMetadata`` is built from what the database holds (the instance with its
metadata, system metadata, info cache and key pair, its block device mappings and
tagged devices) and is what the cache keeps. ``lookup(path)`` walks either tree and
returns the data at ``path``: a listing (list or dict), a leaf (str/bytes/number) or
a :class:`Dynamic` item the handler completes (the password, vendordata, which are
never cached). An unknown path or version raises InvalidMetadataPath (404).
"""
from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import posixpath
from collections.abc import Callable
from typing import Any

from nova_tx.metadata import netdata, password
from nova_tx.metadata import versions as v
from nova_tx.metadata.errors import InvalidMetadataPath, InvalidMetadataVersion

TEXT_PLAIN = "text/plain"
APPLICATION_JSON = "application/json"

MD_JSON_NAME = "meta_data.json"
VD_JSON_NAME = "vendor_data.json"
VD2_JSON_NAME = "vendor_data2.json"
NW_JSON_NAME = "network_data.json"
UD_NAME = "user_data"
PASS_NAME = "password"
CONTENT_DIR = "content"

#: EC2's block device mapping of an instance without a root device name.
DEFAULT_MAPPINGS = {"ami": "sda1", "ephemeral0": "sda2", "root": "/dev/sda1",
                    "swap": "sda3"}


class Dynamic:
    """An item computed per request: ``kind`` is ``password``, ``vendor_data`` or
    ``vendor_data2``; the handler knows how to complete each."""

    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return "Dynamic(%r)" % self.kind


def ec2_id(prefix: str, number: int | None) -> str:
    return "%s-%08x" % (prefix, (number or 0) & 0xFFFFFFFF)


def image_ec2_id(prefix: str, image_uuid: str | None) -> str | None:
    """Nova maps a Glance id to an EC2 id through its ``s3_images`` table; nova-tx has
    none and derives a stable id from the uuid's first 32 bits instead."""
    if not image_uuid:
        return None
    digits = "".join(c for c in image_uuid if c in "0123456789abcdefABCDEF")[:8]
    try:
        return ec2_id(prefix, int(digits, 16))
    except ValueError:
        return None


def strip_dev(name: str | None) -> str | None:
    return name[5:] if name and name.startswith("/dev/") else name


def block_device_mapping(instance: Any, bdms: list[dict]) -> dict[str, str]:
    """EC2's ``block-device-mapping`` (Nova's ``block_device.instance_block_mapping``)."""
    root = instance.root_device_name
    if root is None:
        return dict(DEFAULT_MAPPINGS)
    mappings = {"ami": strip_dev(root), "root": root}
    if instance.default_ephemeral_device:
        mappings["ephemeral0"] = instance.default_ephemeral_device
    if instance.default_swap_device:
        mappings["swap"] = instance.default_swap_device
    ebs: list[str] = []
    blanks: list[dict] = []
    for bdm in bdms:
        if bdm.get("no_device"):
            continue
        if bdm.get("destination_type") == "volume":
            if bdm.get("device_name") and bdm["device_name"] != root:
                ebs.append(bdm["device_name"])
            continue
        if bdm.get("source_type") == "blank" and bdm.get("destination_type") == "local":
            blanks.append(bdm)
    for number, device in enumerate(sorted(ebs)):
        mappings["ebs%d" % number] = device
    swaps = [b for b in blanks if b.get("guest_format") == "swap"]
    if swaps:
        mappings["swap"] = swaps[-1].get("device_name")
    for number, bdm in enumerate(b for b in blanks if b.get("guest_format") != "swap"):
        mappings["ephemeral%d" % number] = bdm.get("device_name")
    return mappings


def decode_user_data(value: str | None) -> bytes | None:
    """The raw user data (the API stores it base64-encoded)."""
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        return value.encode()


class InstanceMetadata:
    def __init__(self, instance: Any, conf: Any, *, address: str | None = None,
                 bdms: list[dict] | None = None, devices: list[dict] | None = None,
                 content: list[tuple[str, bytes]] | None = None,
                 extra_md: dict | None = None, network_info: list | None = None,
                 urandom: Callable[[int], bytes] = os.urandom,
                 today: Callable[[], str] | None = None):
        self.instance = instance
        self.conf = conf
        self.uuid = instance.uuid
        self.address = address
        self.bdms = list(bdms or ())
        self.devices = list(devices or ())
        self.extra_md = dict(extra_md or {})
        self._urandom = urandom
        self._today = today or (
            lambda: datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"))
        self.userdata_raw = decode_user_data(instance.user_data)
        self.launch_metadata = {str(k): str(val) for k, val in
                                (instance.metadata or {}).items()}
        self.password = password.extract(instance.system_metadata or {})
        nw_info = instance.network_info if network_info is None else network_info
        self.network_info = nw_info or []
        self.network_metadata = netdata.network_metadata(self.network_info)
        self.fixed_ips, self.floating_ips = netdata.fixed_and_floating(self.network_info)
        self.mappings = block_device_mapping(instance, self.bdms)
        # Injected files (config drive only): content/0000, content/0001, ...
        self.files: list[dict] = []
        self.content: dict[str, bytes] = {}
        for number, (path, data) in enumerate(content or ()):
            key = "%04i" % number
            self.files.append({"path": path, "content_path": "/%s/%s" % (CONTENT_DIR, key)})
            self.content[key] = data

    # -- shared facts ----------------------------------------------------------------

    @property
    def hostname(self) -> str | None:
        domain = self.conf.api.dhcp_domain
        if domain and self.instance.hostname:
            return "%s.%s" % (self.instance.hostname, domain)
        return self.instance.hostname

    @property
    def availability_zone(self) -> str | None:
        return self.instance.availability_zone

    def _keypair(self):
        """The key pair the server was built with (``instance_extra.keypairs``); an
        instance created without that record falls back on its ``key_name`` and
        ``key_data`` columns, the type then taken as ssh."""
        instance = self.instance
        if not instance.key_name:
            return None
        if instance.keypairs:
            return instance.keypairs[0]
        if instance.key_data:
            from nova_tx.objects.keypair import KeyPair

            return KeyPair(name=instance.key_name, user_id=instance.user_id,
                           fingerprint=None, public_key=instance.key_data)
        return None

    # -- EC2 -------------------------------------------------------------------------

    def ec2_metadata(self, version: str) -> dict:
        if version == v.LATEST:
            version = v.EC2_VERSIONS[-1]
        if version not in v.EC2_VERSIONS:
            raise InvalidMetadataVersion(version=version)
        instance = self.instance
        hostname = self.hostname
        meta: dict[str, Any] = {
            "ami-id": image_ec2_id("ami", instance.image_ref),
            "ami-launch-index": instance.launch_index,
            "ami-manifest-path": "FIXME",
            "instance-id": ec2_id("i", instance.id),
            "hostname": hostname,
            "local-ipv4": self.fixed_ips[0] if self.fixed_ips else (self.address or ""),
            "reservation-id": instance.reservation_id,
            "security-groups": list(instance.security_groups or ()),
        }
        keypair = self._keypair()
        if instance.key_name:
            meta["public-keys"] = {"0": {
                "_name": "0=" + instance.key_name,
                "openssh-key": instance.key_data or (keypair.public_key if keypair else "")}}
        if v.at_least("2007-01-19", version):
            meta["local-hostname"] = hostname
            meta["public-hostname"] = hostname
            meta["public-ipv4"] = self.floating_ips[0] if self.floating_ips else ""
        if v.at_least("2007-08-29", version):
            meta["instance-type"] = instance.flavor.name if instance.flavor else None
        if v.at_least("2007-12-15", version):
            meta["block-device-mapping"] = dict(self.mappings)
            if instance.kernel_id:
                meta["kernel-id"] = image_ec2_id("aki", instance.kernel_id)
            if instance.ramdisk_id:
                meta["ramdisk-id"] = image_ec2_id("ari", instance.ramdisk_id)
        if v.at_least("2008-02-01", version):
            meta["placement"] = {"availability-zone": self.availability_zone}
        if v.at_least("2008-09-01", version):
            meta["instance-action"] = "none"
        data: dict[str, Any] = {"meta-data": meta}
        if self.userdata_raw is not None:
            data["user-data"] = self.userdata_raw
        return data

    # -- OpenStack -------------------------------------------------------------------

    def openstack_version(self, version: str) -> str:
        if version == v.LATEST:
            version = v.OPENSTACK_VERSIONS[-1]
        if version not in v.OPENSTACK_VERSIONS:
            raise InvalidMetadataVersion(version=version)
        return version

    def metadata_json(self, version: str) -> dict:
        version = self.openstack_version(version)
        instance = self.instance
        metadata: dict[str, Any] = {"uuid": self.uuid}
        if self.launch_metadata:
            metadata["meta"] = dict(self.launch_metadata)
        if self.files:
            metadata["files"] = list(self.files)
        if self.extra_md:
            metadata.update(self.extra_md)
        keypair = self._keypair()
        if keypair is not None:
            metadata["public_keys"] = {keypair.name: keypair.public_key}
            metadata["keys"] = [{"name": keypair.name, "type": keypair.type or "ssh",
                                 "data": keypair.public_key}]
        metadata["hostname"] = self.hostname
        metadata["name"] = instance.display_name
        metadata["launch_index"] = instance.launch_index
        metadata["availability_zone"] = self.availability_zone
        if v.at_least(v.GRIZZLY, version):
            metadata["random_seed"] = base64.b64encode(self._urandom(512)).decode()
        if v.at_least(v.LIBERTY, version):
            metadata["project_id"] = instance.project_id
        if v.at_least(v.NEWTON_ONE, version):
            metadata["devices"] = self.device_metadata(version)
        if v.at_least(v.VICTORIA, version):
            metadata["dedicated_cpus"] = self.dedicated_cpus()
        return metadata

    def device_metadata(self, version: str) -> list[dict]:
        """Tagged devices (Nova's ``_get_device_metadata``): NICs without tags, vlan or
        vf_trusted, and disks without tags, are left out."""
        found = []
        for device in self.devices:
            kind = device.get("type")
            bus = device.get("bus") or "none"
            address = device.get("address") or "none"
            item: dict[str, Any] = {"type": kind, "bus": bus, "address": address}
            tags = device.get("tags") or []
            if kind == "nic":
                item["mac"] = device.get("mac")
                if tags:
                    item["tags"] = tags
                if device.get("vlan") is not None and v.at_least(v.OCATA, version):
                    item["vlan"] = device["vlan"]
                if device.get("vf_trusted") is not None and v.at_least(v.ROCKY, version):
                    item["vf_trusted"] = device["vf_trusted"]
                if set(item) == {"type", "bus", "address", "mac"}:
                    continue
            elif kind == "disk":
                if device.get("serial"):
                    item["serial"] = device["serial"]
                if device.get("path"):
                    item["path"] = device["path"]
                if tags:
                    item["tags"] = tags
                if not tags:
                    continue
            else:
                continue
            found.append(item)
        return found

    def dedicated_cpus(self) -> list[int]:
        topology = self.instance.numa_topology
        if topology is None:
            return []
        return sorted(set(topology.cpu_pinning.values()))

    def version_listing(self, version: str) -> list[str]:
        listing = [MD_JSON_NAME]
        if self.userdata_raw is not None:
            listing.append(UD_NAME)
        if v.at_least(v.GRIZZLY, version):
            listing.append(PASS_NAME)
        if v.at_least(v.HAVANA, version):
            listing.append(VD_JSON_NAME)
        if v.at_least(v.LIBERTY, version):
            listing.append(NW_JSON_NAME)
        if v.at_least(v.NEWTON_TWO, version):
            listing.append(VD2_JSON_NAME)
        return listing

    def openstack_item(self, tokens: list[str]) -> tuple[Any, str]:
        if tokens[0] == CONTENT_DIR:
            if len(tokens) != 2 or tokens[1] not in self.content:
                raise KeyError(CONTENT_DIR)
            return self.content[tokens[1]], TEXT_PLAIN
        version = self.openstack_version(tokens[0])
        if len(tokens) == 1:
            return self.version_listing(version), TEXT_PLAIN
        path = "/".join(tokens[1:])
        if path == MD_JSON_NAME:
            return json.dumps(self.metadata_json(version)).encode(), APPLICATION_JSON
        if path == UD_NAME and self.userdata_raw is not None:
            return self.userdata_raw, TEXT_PLAIN
        if path == NW_JSON_NAME:
            # As Nova: served at every version, and {} without network info.
            return json.dumps(self.network_metadata or {}).encode(), APPLICATION_JSON
        if path == PASS_NAME and v.at_least(v.GRIZZLY, version):
            return Dynamic("password"), TEXT_PLAIN
        if path == VD_JSON_NAME and v.at_least(v.HAVANA, version):
            if "StaticJSON" in self.conf.api.vendordata_providers:
                return Dynamic("vendor_data"), APPLICATION_JSON
        if path == VD2_JSON_NAME and v.at_least(v.NEWTON_TWO, version):
            return Dynamic("vendor_data2"), APPLICATION_JSON
        raise KeyError(path)

    # -- the walk --------------------------------------------------------------------

    def top_listing(self, tree: str) -> list[str]:
        if tree == "openstack":
            today = self._today()
            return [d for d in v.OPENSTACK_VERSIONS if d <= today] + [v.LATEST]
        return list(v.EC2_VERSIONS) + [v.LATEST]

    def lookup(self, path: str) -> tuple[Any, str]:
        """``(data, content type)`` at ``path`` of the service's URL space."""
        path = posixpath.normpath("/" + path.lstrip("/"))
        tokens = path.split("/")[1:]
        if tokens[0] not in ("ec2", "openstack"):
            tokens = ["ec2"] + ([] if tokens[0] == "" else tokens)
        if len(tokens) == 1:
            return self.top_listing(tokens[0]), TEXT_PLAIN
        try:
            if tokens[0] == "openstack":
                return self.openstack_item(tokens[1:])
            data = self.ec2_metadata(tokens[1])
            return find_path_in_tree(data, tokens[2:]), TEXT_PLAIN
        except (InvalidMetadataVersion, KeyError):
            raise InvalidMetadataPath(path=path) from None


def find_path_in_tree(data: Any, tokens: list[str]) -> Any:
    """Walk dicts only: a leaf or a list has no children (Nova would index a list with
    the token and fail with a 500)."""
    for token in tokens:
        if not isinstance(data, dict) or token not in data or token == "_name":
            raise KeyError(token)
        data = data[token]
    return data


def md_print(data: Any) -> bytes:
    """Nova's ``ec2_md_print``: a listing as lines, sub-trees as ``key/``."""
    if isinstance(data, dict):
        lines = []
        for key in sorted(data):
            if key == "_name":
                continue
            value = data[key]
            if isinstance(value, dict):
                lines.append(str(value["_name"]) if "_name" in value else key + "/")
            else:
                lines.append(key)
        return "\n".join(lines).encode()
    if isinstance(data, list):
        return "\n".join(str(item) for item in data).encode()
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    if data is None:
        return b"None"
    return str(data).encode()
