"""A server as recorded in its cell's database (``instances`` and the tables that hang
off it), Nova's ``objects.Instance`` (version 2.7).

The row's columns are plain fields; what Nova keeps beside the row is here too, each
loaded only when a query is asked for it (``expected_attrs``, as Nova's):

- ``instance_extra``: ``flavor`` (and ``old_flavor``/``new_flavor`` during a resize),
  ``numa_topology``, ``pci_requests``, ``trusted_certs``, ``keypairs`` (the key pair
  the server was built with, for the metadata service);
- ``instance_metadata`` and ``instance_system_metadata``: ``metadata`` and
  ``system_metadata`` (dicts of strings);
- ``instance_info_caches``: ``network_info`` (Nova's network model as JSON lists);
- ``tags``, ``security_groups`` (names) and the latest ``fault``.

``to_primitive()`` is Nova's versioned-object primitive, the JSON a build request
stores (``build_requests.instance``) and RPC carries, so an instance serialised by Nova
loads here and the other way round. Only fields that hold a value are written, as Nova
writes only the fields that are set; a field Nova does not allow to be null is left
out rather than written as null.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Mapping
from typing import Any

from nova_tx.objects import numa
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.keypair import KeyPair

NAMESPACE = "nova"

#: Nova Zed's versions of the objects an Instance primitive carries.
VERSIONS = {
    "Instance": "2.7",
    "InstanceInfoCache": "1.5",
    "SecurityGroupList": "1.1",
    "SecurityGroup": "1.2",
    "TagList": "1.1",
    "Tag": "1.1",
    "TrustedCerts": "1.0",
    "InstanceFault": "1.2",
    "KeyPairList": "1.3",
    "KeyPair": "1.4",
}

#: Columns of ``instances`` that are fields of the same name.
COLUMNS = (
    "id", "uuid", "user_id", "project_id", "image_ref", "kernel_id", "ramdisk_id",
    "hostname", "launch_index", "key_name", "key_data", "power_state", "vm_state",
    "task_state", "memory_mb", "vcpus", "root_gb", "ephemeral_gb", "ephemeral_key_uuid",
    "host", "node", "instance_type_id", "user_data", "reservation_id", "launched_at",
    "terminated_at", "availability_zone", "display_name", "display_description",
    "launched_on", "locked", "locked_by", "os_type", "architecture", "vm_mode",
    "root_device_name", "default_ephemeral_device", "default_swap_device",
    "config_drive", "access_ip_v4", "access_ip_v6", "auto_disk_config", "progress",
    "shutdown_terminate", "disable_terminate", "cell_name", "cleaned", "hidden",
    "created_at", "updated_at", "deleted_at", "deleted",
)
DATETIME_FIELDS = ("launched_at", "terminated_at", "created_at", "updated_at", "deleted_at")
BOOLEAN_FIELDS = ("locked", "auto_disk_config", "shutdown_terminate", "disable_terminate",
                  "cleaned", "hidden", "deleted")
#: The joined parts a query may be asked for, as Nova names them in ``expected_attrs``.
EXTRA_ATTRS = ("flavor", "numa_topology", "pci_requests", "trusted_certs", "keypairs")
JOINED_ATTRS = ("metadata", "system_metadata", "info_cache", "security_groups", "tags",
                "fault") + EXTRA_ATTRS
#: Fields Nova declares non-nullable: a primitive leaves them out when they are None.
_NOT_NULLABLE = frozenset({"id", "uuid", "flavor", "metadata", "system_metadata",
                           "deleted", "cleaned", "hidden", "locked", "auto_disk_config",
                           "shutdown_terminate", "disable_terminate", "config_drive"})


def envelope(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as Nova's versioned-object primitive of object ``name``."""
    from nova_tx.objects import request_spec

    version = VERSIONS.get(name) or request_spec.VERSIONS[name]
    return {"nova_object.name": name, "nova_object.namespace": NAMESPACE,
            "nova_object.version": version, "nova_object.data": data,
            "nova_object.changes": sorted(data)}


def unwrap(primitive: Any) -> Any:
    if isinstance(primitive, Mapping) and "nova_object.data" in primitive:
        return primitive["nova_object.data"]
    return primitive


def isotime(value: datetime.datetime) -> str:
    """oslo.versionedobjects' DateTime primitive: ISO 8601 to the second, ``Z``."""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_isotime(value: Any) -> datetime.datetime | None:
    """A naive UTC datetime from a primitive's (or a row's) timestamp."""
    if value is None or isinstance(value, datetime.datetime):
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            return value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value
    parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


@dataclasses.dataclass
class InstanceFault:
    """Why an instance last failed (``instance_faults``; the API shows the latest)."""

    instance_uuid: str
    code: int
    message: str | None = None
    details: str | None = None
    host: str | None = None
    created_at: datetime.datetime | None = None
    id: int | None = None

    def to_primitive(self) -> dict[str, Any]:
        data: dict[str, Any] = {"instance_uuid": self.instance_uuid, "code": self.code,
                                "message": self.message, "details": self.details,
                                "host": self.host}
        if self.id is not None:
            data["id"] = self.id
        if self.created_at is not None:
            data["created_at"] = isotime(self.created_at)
        return envelope("InstanceFault", data)

    @classmethod
    def from_primitive(cls, primitive: Any) -> InstanceFault:
        data = unwrap(primitive)
        return cls(instance_uuid=data.get("instance_uuid"), code=int(data.get("code", 0)),
                   message=data.get("message"), details=data.get("details"),
                   host=data.get("host"), created_at=parse_isotime(data.get("created_at")),
                   id=data.get("id"))


@dataclasses.dataclass
class Instance:
    uuid: str
    project_id: str | None = None
    user_id: str | None = None
    #: Soft-deleted: the row stays (``deleted`` set to its id) until it is archived.
    deleted: bool = False
    id: int | None = None
    display_name: str | None = None
    display_description: str | None = None
    hostname: str | None = None
    image_ref: str | None = None
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    #: The current flavor (in ``instance_extra``); ``instance_type_id`` is its row id.
    flavor: Flavor | None = None
    old_flavor: Flavor | None = None
    new_flavor: Flavor | None = None
    instance_type_id: int | None = None
    memory_mb: int | None = None
    vcpus: int | None = None
    root_gb: int | None = None
    ephemeral_gb: int | None = None
    ephemeral_key_uuid: str | None = None
    vm_state: str | None = None
    task_state: str | None = None
    power_state: int | None = None
    #: The compute service's host and node; None until the instance is scheduled.
    host: str | None = None
    node: str | None = None
    launched_on: str | None = None
    availability_zone: str | None = None
    launched_at: datetime.datetime | None = None
    terminated_at: datetime.datetime | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
    deleted_at: datetime.datetime | None = None
    key_name: str | None = None
    key_data: str | None = None
    user_data: str | None = None
    config_drive: str | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    locked: bool = False
    locked_by: str | None = None
    os_type: str | None = None
    architecture: str | None = None
    vm_mode: str | None = None
    launch_index: int | None = None
    reservation_id: str | None = None
    root_device_name: str | None = None
    default_ephemeral_device: str | None = None
    default_swap_device: str | None = None
    progress: int | None = None
    auto_disk_config: bool = False
    shutdown_terminate: bool = False
    disable_terminate: bool = False
    cell_name: str | None = None
    cleaned: bool = False
    #: The copy a cross-cell resize leaves in the source cell: never listed.
    hidden: bool = False
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    system_metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    tags: list[str] = dataclasses.field(default_factory=list)
    security_groups: list[str] = dataclasses.field(default_factory=list)
    #: The image certificate ids to trust (2.63), None when none were asked for.
    trusted_certs: list[str] | None = None
    numa_topology: numa.InstanceNUMATopology | None = None
    pci_requests: list[numa.InstancePCIRequest] | None = None
    #: The key pairs the server was built with (Nova keeps them in instance_extra).
    keypairs: list[KeyPair] | None = None
    #: The info cache: Nova's network model (a list of VIF dicts), None when unknown.
    network_info: list[dict[str, Any]] | None = None
    fault: InstanceFault | None = None

    def replace(self, **changes: Any) -> Instance:
        return dataclasses.replace(self, **changes)

    def get(self, name: str, default: Any = None) -> Any:
        """A field by name (Nova objects' ``get``), ``default`` for an unknown one."""
        return getattr(self, name, default)

    @property
    def name(self) -> str:
        """Nova's ``instance.name`` with its default template ``instance-%08x``."""
        return "instance-%08x" % (self.id or 0)

    # -- Nova's primitive ------------------------------------------------------------------

    def to_primitive(self) -> dict[str, Any]:
        from nova_tx.objects import request_spec

        data: dict[str, Any] = {}
        for name in COLUMNS:
            value = getattr(self, name)
            if name in DATETIME_FIELDS and value is not None:
                value = isotime(value)
            if name == "deleted":
                value = bool(value)
            if value is None and name in _NOT_NULLABLE:
                continue
            data[name] = value
        if self.flavor is not None:
            data["flavor"] = request_spec.flavor_to_primitive(self.flavor)
        for name in ("old_flavor", "new_flavor"):
            flavor = getattr(self, name)
            data[name] = None if flavor is None else request_spec.flavor_to_primitive(flavor)
        data["metadata"] = dict(self.metadata)
        data["system_metadata"] = dict(self.system_metadata)
        data["tags"] = envelope("TagList", {"objects": [
            envelope("Tag", {"resource_id": self.uuid, "tag": tag}) for tag in self.tags]})
        data["security_groups"] = envelope("SecurityGroupList", {"objects": [
            envelope("SecurityGroup", {"name": name}) for name in self.security_groups]})
        data["trusted_certs"] = (None if self.trusted_certs is None else
                                 envelope("TrustedCerts", {"ids": list(self.trusted_certs)}))
        data["numa_topology"] = (
            None if self.numa_topology is None
            else request_spec.numa_topology_to_primitive(self.numa_topology))
        data["pci_requests"] = (
            None if self.pci_requests is None
            else request_spec.pci_requests_to_primitive(self.pci_requests, self.uuid))
        data["info_cache"] = envelope("InstanceInfoCache", {
            "instance_uuid": self.uuid,
            "network_info": json.dumps(self.network_info or [])})
        data["fault"] = None if self.fault is None else self.fault.to_primitive()
        if self.keypairs is not None:
            data["keypairs"] = keypairs_to_primitive(self.keypairs)
        return envelope("Instance", data)

    @classmethod
    def from_primitive(cls, primitive: Any) -> Instance:
        from nova_tx.objects import request_spec

        data = unwrap(primitive)
        values: dict[str, Any] = {}
        for name in COLUMNS:
            if name not in data:
                continue
            value = data[name]
            if name in DATETIME_FIELDS:
                value = parse_isotime(value)
            elif name in BOOLEAN_FIELDS:
                value = bool(value)
            values[name] = value
        values.setdefault("uuid", data.get("uuid"))
        for name in ("flavor", "old_flavor", "new_flavor"):
            if data.get(name):
                values[name] = request_spec.flavor_from_primitive(data[name])
        for name in ("metadata", "system_metadata"):
            if data.get(name):
                values[name] = {str(k): v for k, v in data[name].items()}
        if data.get("tags"):
            values["tags"] = [unwrap(t)["tag"] for t in unwrap(data["tags"])["objects"]]
        if data.get("security_groups"):
            values["security_groups"] = [
                unwrap(g).get("name") for g in unwrap(data["security_groups"])["objects"]]
        if data.get("trusted_certs"):
            values["trusted_certs"] = list(unwrap(data["trusted_certs"]).get("ids") or [])
        if data.get("numa_topology"):
            values["numa_topology"] = request_spec.numa_topology_from_primitive(
                data["numa_topology"])
        if data.get("pci_requests"):
            values["pci_requests"] = request_spec.pci_requests_from_primitive(
                data["pci_requests"])
        if data.get("info_cache"):
            network_info = unwrap(data["info_cache"]).get("network_info")
            if isinstance(network_info, str):
                network_info = json.loads(network_info) if network_info else []
            values["network_info"] = network_info
        if data.get("fault"):
            values["fault"] = InstanceFault.from_primitive(data["fault"])
        if data.get("keypairs"):
            values["keypairs"] = keypairs_from_primitive(data["keypairs"])
        return cls(**values)


def keypairs_to_primitive(keypairs: list[KeyPair]) -> dict[str, Any]:
    """Nova's KeyPairList primitive (what ``instance_extra.keypairs`` holds)."""
    objects = []
    for keypair in keypairs:
        data: dict[str, Any] = {"name": keypair.name, "user_id": keypair.user_id,
                                "fingerprint": keypair.fingerprint,
                                "public_key": keypair.public_key, "type": keypair.type}
        if keypair.id is not None:
            data["id"] = keypair.id
        objects.append(envelope("KeyPair", data))
    return envelope("KeyPairList", {"objects": objects})


def keypairs_from_primitive(primitive: Any) -> list[KeyPair]:
    found = []
    for item in unwrap(primitive).get("objects") or ():
        data = unwrap(item)
        found.append(KeyPair(name=data.get("name"), user_id=data.get("user_id"),
                             fingerprint=data.get("fingerprint"),
                             public_key=data.get("public_key"),
                             type=data.get("type") or "ssh", id=data.get("id")))
    return found
