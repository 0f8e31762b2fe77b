"""Nova's ``RequestSpec``: everything the scheduler needs to place one request.

The API builds it (``RequestSpec.from_components``), the conductor sends it to the
scheduler over RPC and stores it in the API database's ``request_specs.spec`` column,
and the prefilters (``nova_tx.scheduler.request_filter``) and the placement query
(``nova_tx.scheduler.resource_request``) read and amend it.

The wire form is Nova's versioned-object primitive, the JSON Nova itself sends and
stores (``{"nova_object.name": "RequestSpec", "nova_object.namespace": "nova",
"nova_object.version": "1.14", "nova_object.data": {...}}``, nested objects in the same
envelope), so a spec written by Nova loads here and the other way round:

* ``to_primitive()`` / ``from_primitive()``: the whole object, for RPC.
* ``to_db_spec()`` / ``from_db_spec()``: the ``request_specs.spec`` text, without the
  per-request fields Nova does not persist (``retry``, ``ignore_hosts``,
  ``requested_destination``, ``requested_resources``, ``network_metadata``,
  ``requested_networks``, ``request_level_params``) and without the server group's
  ``hosts`` and ``members``.

``from_primitive`` also takes the plain ``nova_object.data`` dicts (no envelope), and
any field may be missing, as in specs written by older Nova releases.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import os_resource_classes as orc

from nova_tx.objects import numa
from nova_tx.objects.flavor import Flavor
from nova_tx.virt.cpuset import format_cpu_spec, parse_cpu_spec

LOG = logging.getLogger(__name__)

NAMESPACE = "nova"

#: Nova Zed's versions of the objects a RequestSpec carries.
VERSIONS = {
    "RequestSpec": "1.14",
    "Destination": "1.4",
    "SchedulerLimits": "1.0",
    "SchedulerRetry": "1.1",
    "RequestGroup": "1.3",
    "RequestLevelParams": "1.1",
    "InstanceGroup": "1.11",
    "Flavor": "1.2",
    "ImageMeta": "1.8",
    "ImageMetaProps": "1.31",
    "InstanceNUMATopology": "1.3",
    "InstanceNUMACell": "1.6",
    "InstancePCIRequests": "1.1",
    "InstancePCIRequest": "1.3",
    "NetworkMetadata": "1.0",
    "NetworkRequestList": "1.1",
    "NetworkRequest": "1.3",
    "SecurityGroupList": "1.1",
    "SecurityGroup": "1.2",
}

#: The RequestSpec fields Nova does not write to ``request_specs.spec``.
NOT_PERSISTED = ("retry", "ignore_hosts", "requested_destination", "requested_resources",
                 "network_metadata", "requested_networks", "request_level_params")


# -- the envelope ----------------------------------------------------------------------

def envelope(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as Nova's versioned-object primitive of object ``name``."""
    return {
        "nova_object.name": name,
        "nova_object.namespace": NAMESPACE,
        "nova_object.version": VERSIONS[name],
        "nova_object.data": data,
        "nova_object.changes": sorted(data),
    }


def unwrap(primitive: Any) -> Any:
    """The ``nova_object.data`` of a primitive, or the value itself when it has none."""
    if isinstance(primitive, Mapping) and "nova_object.data" in primitive:
        return primitive["nova_object.data"]
    return primitive


def _set(values: Iterable[str] | None) -> set[str]:
    return set(values or ())


# -- small objects ---------------------------------------------------------------------

@dataclasses.dataclass
class RequestGroup:
    """One group of the placement request (Nova's ``objects.RequestGroup``).

    The unsuffixed group has ``requester_id`` None and ``use_same_provider`` False: its
    resources may come from several providers of one tree. A suffixed group (a flavor's
    ``resources1:...`` or a port's request, named by the port id) is satisfied by one
    provider. ``aggregates`` is a list of OR-lists (``[[A, B], [C]]``: in A or B, and
    in C); ``any_traits`` a list of OR-sets (each becomes ``required<suffix>=in:X,Y``,
    Placement 1.39).
    """

    use_same_provider: bool = True
    resources: dict[str, int] = dataclasses.field(default_factory=dict)
    required_traits: set[str] = dataclasses.field(default_factory=set)
    forbidden_traits: set[str] = dataclasses.field(default_factory=set)
    any_traits: list[set[str]] = dataclasses.field(default_factory=list)
    aggregates: list[list[str]] = dataclasses.field(default_factory=list)
    forbidden_aggregates: set[str] = dataclasses.field(default_factory=set)
    requester_id: str | None = None
    provider_uuids: list[str] = dataclasses.field(default_factory=list)
    in_tree: str | None = None

    def add_resource(self, rclass: str, amount: Any) -> None:
        """Set ``rclass`` to ``amount``; an unknown class or a bad amount is logged and
        skipped, as Nova does with flavor extra specs."""
        if not (rclass.startswith(orc.CUSTOM_NAMESPACE) or rclass in orc.STANDARDS):
            LOG.warning("Received an invalid ResourceClass '%s' in extra_specs.", rclass)
            return
        try:
            value = int(amount)
            if value < 0:
                raise ValueError(amount)
        except (TypeError, ValueError):
            LOG.warning("Resource amounts must be nonnegative integers. Received '%s'",
                        amount)
            return
        self.resources[rclass] = value

    def add_trait(self, trait_name: str, trait_type: str) -> None:
        if trait_type == "required":
            self.required_traits.add(trait_name)
        elif trait_type == "forbidden":
            self.forbidden_traits.add(trait_name)
        else:
            LOG.warning("Only (required, forbidden) traits are supported. Received '%s'.",
                        trait_type)

    def add_any_traits(self, traits: Iterable[str]) -> None:
        """Require at least one of ``traits`` (a one-trait set is a plain requirement)."""
        traits = set(traits)
        if len(traits) == 1:
            self.required_traits |= traits
        elif traits:
            self.any_traits.append(traits)

    def is_empty(self) -> bool:
        return not any((self.resources, self.required_traits, self.forbidden_traits,
                        self.any_traits, self.aggregates, self.forbidden_aggregates))

    def strip_zeros(self) -> None:
        for rclass in [rc for rc, amount in self.resources.items() if amount == 0]:
            del self.resources[rclass]

    @classmethod
    def from_port_request(cls, requester_id: str, request: Mapping[str, Any]
                          ) -> RequestGroup:
        """A group from one Neutron ``resource_request`` group (``resources`` and
        ``required``: ``TRAIT``, ``!TRAIT`` or ``in:A,B``), named by ``requester_id``."""
        group = cls(use_same_provider=True, requester_id=requester_id)
        for rclass, amount in (request.get("resources") or {}).items():
            group.add_resource(rclass, amount)
        for trait in request.get("required") or ():
            if trait.startswith("in:"):
                group.add_any_traits(t for t in trait[3:].split(",") if t)
            elif trait.startswith("!"):
                group.forbidden_traits.add(trait[1:])
            else:
                group.required_traits.add(trait)
        return group

    @classmethod
    def from_port_resource_request(cls, port_id: str, request: Mapping[str, Any]
                                   ) -> tuple[list[RequestGroup], RequestLevelParams]:
        """The groups of one port's ``resource_request``, in either Neutron format:
        the legacy one (``resources``, ``required``: one group named by the port id) or
        the extended one (``request_groups``, each named by its ``id``, and
        ``same_subtree``)."""
        if "request_groups" in request:
            groups = [cls.from_port_request(group["id"], group)
                      for group in request["request_groups"]]
            return groups, RequestLevelParams.from_port_request(request)
        return [cls.from_port_request(port_id, request)], RequestLevelParams()

    def to_primitive(self) -> dict[str, Any]:
        return envelope("RequestGroup", {
            "use_same_provider": self.use_same_provider,
            "resources": dict(self.resources),
            "required_traits": sorted(self.required_traits),
            "forbidden_traits": sorted(self.forbidden_traits),
            "any_traits": [sorted(s) for s in self.any_traits],
            "aggregates": [list(a) for a in self.aggregates],
            "forbidden_aggregates": sorted(self.forbidden_aggregates),
            "requester_id": self.requester_id,
            "provider_uuids": list(self.provider_uuids),
            "in_tree": self.in_tree,
        })

    @classmethod
    def from_primitive(cls, primitive: Any) -> RequestGroup:
        data = unwrap(primitive)
        return cls(
            use_same_provider=bool(data.get("use_same_provider", True)),
            resources={k: int(v) for k, v in (data.get("resources") or {}).items()},
            required_traits=_set(data.get("required_traits")),
            forbidden_traits=_set(data.get("forbidden_traits")),
            any_traits=[set(s) for s in data.get("any_traits") or ()],
            aggregates=[list(a) for a in data.get("aggregates") or ()],
            forbidden_aggregates=_set(data.get("forbidden_aggregates")),
            requester_id=data.get("requester_id"),
            provider_uuids=list(data.get("provider_uuids") or ()),
            in_tree=data.get("in_tree"),
        )


@dataclasses.dataclass
class RequestLevelParams:
    """What applies to the request as a whole (Nova's ``RequestLevelParams``):
    traits of the root provider (``root_required``), ``same_subtree`` lists of group
    suffixes, and ``member_of``, OR-lists of aggregates for the unsuffixed group."""

    root_required: set[str] = dataclasses.field(default_factory=set)
    root_forbidden: set[str] = dataclasses.field(default_factory=set)
    same_subtree: list[list[str]] = dataclasses.field(default_factory=list)
    member_of: list[list[str]] = dataclasses.field(default_factory=list)

    @classmethod
    def from_port_request(cls, request: Mapping[str, Any]) -> RequestLevelParams:
        """From Neutron's extended ``resource_request`` (``same_subtree``)."""
        subtree = request.get("same_subtree") or []
        return cls(same_subtree=[list(subtree)] if subtree else [])

    def extend_with(self, other: RequestLevelParams) -> None:
        self.root_required |= other.root_required
        self.root_forbidden |= other.root_forbidden
        self.same_subtree.extend(list(s) for s in other.same_subtree)
        self.member_of.extend(list(m) for m in other.member_of)

    def to_primitive(self) -> dict[str, Any]:
        return envelope("RequestLevelParams", {
            "root_required": sorted(self.root_required),
            "root_forbidden": sorted(self.root_forbidden),
            "same_subtree": [list(s) for s in self.same_subtree],
            "member_of": [list(m) for m in self.member_of],
        })

    @classmethod
    def from_primitive(cls, primitive: Any) -> RequestLevelParams:
        data = unwrap(primitive) or {}
        return cls(root_required=_set(data.get("root_required")),
                   root_forbidden=_set(data.get("root_forbidden")),
                   same_subtree=[list(s) for s in data.get("same_subtree") or ()],
                   member_of=[list(m) for m in data.get("member_of") or ()])


@dataclasses.dataclass
class Destination:
    """Where the request must (or must not) land (Nova's ``objects.Destination``).

    ``aggregates`` holds comma-joined OR-lists, as Nova stores them: ``["A,B", "C"]``
    means in A or B, and in C.
    """

    host: str | None = None
    node: str | None = None
    cell: dict[str, Any] | None = None
    aggregates: list[str] | None = None
    forbidden_aggregates: set[str] | None = None
    allow_cross_cell_move: bool = False

    def require_aggregates(self, aggregates: Iterable[str]) -> None:
        """Add one OR-list: the destination must be in at least one of them."""
        if self.aggregates is None:
            self.aggregates = []
        self.aggregates.append(",".join(aggregates))

    def append_forbidden_aggregates(self, aggregates: Iterable[str]) -> None:
        if self.forbidden_aggregates is None:
            self.forbidden_aggregates = set()
        self.forbidden_aggregates |= set(aggregates)

    def to_primitive(self) -> dict[str, Any]:
        data: dict[str, Any] = {"allow_cross_cell_move": self.allow_cross_cell_move}
        for name in ("host", "node", "cell"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        if self.aggregates is not None:
            data["aggregates"] = list(self.aggregates)
        if self.forbidden_aggregates is not None:
            data["forbidden_aggregates"] = sorted(self.forbidden_aggregates)
        return envelope("Destination", data)

    @classmethod
    def from_primitive(cls, primitive: Any) -> Destination:
        data = unwrap(primitive)
        forbidden = data.get("forbidden_aggregates")
        aggregates = data.get("aggregates")
        cell = unwrap(data.get("cell"))
        return cls(host=data.get("host"), node=data.get("node"),
                   cell=None if cell is None else dict(cell),
                   aggregates=None if aggregates is None else list(aggregates),
                   forbidden_aggregates=None if forbidden is None else set(forbidden),
                   allow_cross_cell_move=bool(data.get("allow_cross_cell_move", False)))


@dataclasses.dataclass
class SchedulerLimits:
    """Oversubscription limits the claim on the compute checks (Nova's
    ``SchedulerLimits``); ``numa_topology`` is a ``NUMATopologyLimits`` dict."""

    numa_topology: dict[str, Any] | None = None
    vcpu: int | None = None
    disk_gb: int | None = None
    memory_mb: int | None = None

    @classmethod
    def from_dict(cls, limits: Mapping[str, Any] | None) -> SchedulerLimits:
        """From the legacy ``filter_properties['limits']`` dict."""
        limits = limits or {}
        return cls(numa_topology=limits.get("numa_topology"), vcpu=limits.get("vcpu"),
                   disk_gb=limits.get("disk_gb"), memory_mb=limits.get("memory_mb"))

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def to_primitive(self) -> dict[str, Any]:
        return envelope("SchedulerLimits", dataclasses.asdict(self))

    @classmethod
    def from_primitive(cls, primitive: Any) -> SchedulerLimits:
        return cls.from_dict(unwrap(primitive))


@dataclasses.dataclass
class SchedulerRetry:
    """How many times a build was tried and on which (host, node) pairs."""

    num_attempts: int = 0
    hosts: list[list[str]] = dataclasses.field(default_factory=list)

    def to_primitive(self) -> dict[str, Any]:
        # Nova keeps the hosts as a ComputeNodeList; the (host, node) pairs are what
        # the scheduler reads of it.
        return envelope("SchedulerRetry", {"num_attempts": self.num_attempts,
                                           "hosts": [list(h) for h in self.hosts]})

    @classmethod
    def from_primitive(cls, primitive: Any) -> SchedulerRetry:
        data = unwrap(primitive)
        hosts = []
        for entry in unwrap(data.get("hosts")) or ():
            entry = unwrap(entry)
            if isinstance(entry, Mapping):
                entry = [entry.get("host"), entry.get("hypervisor_hostname")]
            hosts.append(list(entry))
        return cls(num_attempts=int(data.get("num_attempts", 0)), hosts=hosts)


@dataclasses.dataclass
class InstanceGroup:
    """The server group of the request, as the scheduler sees it (Nova's
    ``InstanceGroup``): the (anti-)affinity filters read ``policy``, ``rules``,
    ``members`` and ``hosts``."""

    uuid: str | None = None
    name: str | None = None
    policy: str | None = None
    rules: dict[str, Any] = dataclasses.field(default_factory=dict)
    members: list[str] | None = None
    hosts: list[str] | None = None
    project_id: str | None = None
    user_id: str | None = None

    def to_primitive(self) -> dict[str, Any]:
        data = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        data["policies"] = [self.policy] if self.policy else []
        return envelope("InstanceGroup", data)

    @classmethod
    def from_primitive(cls, primitive: Any) -> InstanceGroup:
        data = unwrap(primitive)
        policy = data.get("policy") or next(iter(data.get("policies") or ()), None)
        members = data.get("members")
        hosts = data.get("hosts")
        return cls(uuid=data.get("uuid"), name=data.get("name"), policy=policy,
                   rules=dict(data.get("rules") or {}),
                   members=None if members is None else list(members),
                   hosts=None if hosts is None else list(hosts),
                   project_id=data.get("project_id"), user_id=data.get("user_id"))


@dataclasses.dataclass
class NetworkRequest:
    """One requested network or port (Nova's ``NetworkRequest``)."""

    network_id: str | None = None
    port_id: str | None = None
    address: str | None = None
    tag: str | None = None

    def to_primitive(self) -> dict[str, Any]:
        return envelope("NetworkRequest", dataclasses.asdict(self))

    @classmethod
    def from_primitive(cls, primitive: Any) -> NetworkRequest:
        data = unwrap(primitive)
        return cls(network_id=data.get("network_id"), port_id=data.get("port_id"),
                   address=data.get("address"), tag=data.get("tag"))


@dataclasses.dataclass
class ImageMeta(numa.ImageMeta):
    """The image of the request: Glance's fields and its properties (Nova's
    ``ImageMeta``). ``properties`` are Glance's keys (``hw_numa_cpus.0``,
    ``trait:CUSTOM_X``, ...), as the NUMA rules of ``nova_tx.virt`` read them."""

    id: str | None = None
    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    min_ram: int = 0
    min_disk: int = 0
    size: int | None = None
    status: str | None = None
    owner: str | None = None
    checksum: str | None = None

    _FIELDS = ("id", "name", "disk_format", "container_format", "min_ram", "min_disk",
               "size", "status", "owner", "checksum")

    @classmethod
    def from_image(cls, image: Mapping[str, Any] | None) -> ImageMeta:
        """From a Glance image dict (its top-level fields and ``properties``); Glance v2
        also lists properties at the top level, which land in ``properties`` too."""
        image = dict(image or {})
        properties = dict(image.pop("properties", None) or {})
        fields = {k: image.pop(k) for k in cls._FIELDS if k in image}
        for key in ("visibility", "protected", "created_at", "updated_at", "tags",
                    "file", "schema", "self", "direct_url", "locations", "os_hidden",
                    "os_hash_algo", "os_hash_value", "virtual_size", "stores"):
            image.pop(key, None)
        properties.update({k: v for k, v in image.items() if k not in properties})
        if fields.get("min_ram") is None:
            fields.pop("min_ram", None)
        if fields.get("min_disk") is None:
            fields.pop("min_disk", None)
        return cls(properties=properties, **fields)

    def to_primitive(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: getattr(self, k) for k in self._FIELDS
                                if getattr(self, k) is not None}
        data["properties"] = envelope("ImageMetaProps", props_to_nova(self.properties))
        return envelope("ImageMeta", data)

    @classmethod
    def from_primitive(cls, primitive: Any) -> ImageMeta:
        data = dict(unwrap(primitive) or {})
        data["properties"] = props_from_nova(unwrap(data.get("properties")) or {})
        return cls.from_image(data)


_NUMA_PROP = re.compile(r"^hw_numa_(cpus|mem)\.(\d+)$")


def props_to_nova(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Glance's property keys as Nova's ``ImageMetaProps`` fields: ``hw_numa_cpus.N``
    and ``hw_numa_mem.N`` become the lists ``hw_numa_cpus`` (of CPU lists) and
    ``hw_numa_mem``, ``trait:<T>=required`` joins ``traits_required``."""
    result: dict[str, Any] = {}
    numa_lists: dict[str, dict[int, Any]] = {"cpus": {}, "mem": {}}
    traits = list(properties.get("traits_required") or ())
    for key, value in properties.items():
        match = _NUMA_PROP.match(key)
        if match:
            kind, index = match.group(1), int(match.group(2))
            numa_lists[kind][index] = (sorted(parse_cpu_spec(str(value))) if kind == "cpus"
                                       else int(value))
        elif key.startswith("trait:"):
            if value == "required" and key[6:] not in traits:
                traits.append(key[6:])
        elif key != "traits_required":
            result[key] = value
    for kind, by_index in numa_lists.items():
        if by_index:
            result["hw_numa_" + kind] = [by_index[i] for i in sorted(by_index)]
    if traits:
        result["traits_required"] = traits
    return result


def props_from_nova(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`props_to_nova` (Glance's ``hw_numa_*.N`` keys back)."""
    result = dict(properties)
    for kind in ("cpus", "mem"):
        values = result.get("hw_numa_" + kind)
        if isinstance(values, list):
            del result["hw_numa_" + kind]
            for index, value in enumerate(values):
                result[f"hw_numa_{kind}.{index}"] = (
                    format_cpu_spec(value) if kind == "cpus" else str(value))
    return result


# -- primitives of the objects defined elsewhere ------------------------------------------

def flavor_to_primitive(flavor: Flavor) -> dict[str, Any]:
    data: dict[str, Any] = {
        "flavorid": flavor.flavorid, "name": flavor.name, "memory_mb": flavor.memory_mb,
        "vcpus": flavor.vcpus, "root_gb": flavor.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
        "rxtx_factor": flavor.rxtx_factor, "vcpu_weight": flavor.vcpu_weight,
        "disabled": flavor.disabled, "is_public": flavor.is_public,
        "description": flavor.description,
        "extra_specs": dict(flavor.extra_specs or {}),
    }
    if flavor.id is not None:
        data["id"] = flavor.id
    return envelope("Flavor", data)


def flavor_from_primitive(primitive: Any) -> Flavor:
    data = unwrap(primitive)
    return Flavor(
        flavorid=str(data.get("flavorid", "")), name=data.get("name") or "",
        memory_mb=int(data.get("memory_mb", 0)), vcpus=int(data.get("vcpus", 0)),
        root_gb=int(data.get("root_gb") or 0), ephemeral_gb=int(data.get("ephemeral_gb") or 0),
        swap=int(data.get("swap") or 0), rxtx_factor=float(data.get("rxtx_factor", 1.0)),
        vcpu_weight=int(data.get("vcpu_weight") or 0),
        disabled=bool(data.get("disabled", False)), is_public=bool(data.get("is_public", True)),
        description=data.get("description"),
        extra_specs={str(k): str(v) for k, v in (data.get("extra_specs") or {}).items()},
        id=data.get("id"))


def numa_topology_to_primitive(topology: numa.InstanceNUMATopology) -> dict[str, Any]:
    data = topology.to_dict()
    cells = []
    for cell in data["cells"]:
        # Nova's field is cpu_pinning_raw (its cpu_pinning is a property over it).
        cell["cpu_pinning_raw"] = cell.pop("cpu_pinning")
        cells.append(envelope("InstanceNUMACell", cell))
    data["cells"] = cells
    return envelope("InstanceNUMATopology", data)


def numa_topology_from_primitive(primitive: Any) -> numa.InstanceNUMATopology:
    data = dict(unwrap(primitive))
    cells = []
    for cell in data.get("cells") or ():
        cell = dict(unwrap(cell))
        if "cpu_pinning" not in cell and "cpu_pinning_raw" in cell:
            cell["cpu_pinning"] = cell.pop("cpu_pinning_raw")
        cells.append(cell)
    data["cells"] = cells
    return numa.InstanceNUMATopology.from_dict(data)


def pci_requests_to_primitive(requests: list[numa.InstancePCIRequest],
                              instance_uuid: str | None) -> dict[str, Any]:
    return envelope("InstancePCIRequests", {
        "instance_uuid": instance_uuid,
        "requests": [envelope("InstancePCIRequest", r.to_dict()) for r in requests]})


def pci_requests_from_primitive(primitive: Any) -> list[numa.InstancePCIRequest]:
    data = unwrap(primitive) or {}
    return [numa.InstancePCIRequest.from_dict(unwrap(r)) for r in data.get("requests") or ()]


# -- the request spec ----------------------------------------------------------------------

@dataclasses.dataclass
class RequestSpec:
    """Nova's ``objects.RequestSpec`` (version 1.14), field for field.

    ``scheduler_hints`` maps each hint to a list of strings (Nova's
    ``DictOfListOfStringsField``); ``force_hosts``/``force_nodes`` hold at most one
    name in practice; ``requested_resources`` are the request groups that come from
    outside the flavor (ports, device profiles).
    """

    flavor: Flavor
    instance_uuid: str | None = None
    id: int | None = None
    image: ImageMeta | None = None
    numa_topology: numa.InstanceNUMATopology | None = None
    pci_requests: list[numa.InstancePCIRequest] = dataclasses.field(default_factory=list)
    project_id: str | None = None
    user_id: str | None = None
    availability_zone: str | None = None
    num_instances: int = 1
    ignore_hosts: list[str] | None = None
    force_hosts: list[str] | None = None
    force_nodes: list[str] | None = None
    requested_destination: Destination | None = None
    retry: SchedulerRetry | None = None
    limits: SchedulerLimits | None = None
    instance_group: InstanceGroup | None = None
    scheduler_hints: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    security_groups: list[str] = dataclasses.field(default_factory=list)
    network_metadata: numa.NetworkMetadata | None = None
    is_bfv: bool = False
    requested_resources: list[RequestGroup] = dataclasses.field(default_factory=list)
    request_level_params: RequestLevelParams = dataclasses.field(
        default_factory=RequestLevelParams)
    requested_networks: list[NetworkRequest] = dataclasses.field(default_factory=list)

    # -- what the scheduler reads --------------------------------------------------

    @property
    def vcpus(self) -> int:
        return self.flavor.vcpus

    @property
    def memory_mb(self) -> int:
        return self.flavor.memory_mb

    @property
    def root_gb(self) -> int:
        return self.flavor.root_gb

    @property
    def ephemeral_gb(self) -> int:
        return self.flavor.ephemeral_gb

    @property
    def swap(self) -> int:
        return self.flavor.swap

    @property
    def root_required(self) -> set[str]:
        return self.request_level_params.root_required

    @property
    def root_forbidden(self) -> set[str]:
        return self.request_level_params.root_forbidden

    @property
    def same_subtree(self) -> list[list[str]]:
        return self.request_level_params.same_subtree

    @property
    def is_rebuild(self) -> bool:
        """A rebuild's check of the current host (hint ``_nova_check_type``)."""
        return self.scheduler_hints.get("_nova_check_type") == ["rebuild"]

    def get_scheduler_hint(self, name: str, default: Any = None) -> Any:
        """A hint's value: the single string of a one-item list, else the list."""
        value = self.scheduler_hints.get(name)
        if value is None:
            return default
        if isinstance(value, list) and len(value) == 1:
            return value[0]
        return value

    def ensure_destination(self) -> Destination:
        """``requested_destination``, created empty if the request has none."""
        if self.requested_destination is None:
            self.requested_destination = Destination()
        return self.requested_destination

    def reset_forced_destinations(self) -> None:
        """Forget ``force_hosts``/``force_nodes`` (a move must not reuse a boot's)."""
        self.force_hosts = None
        self.force_nodes = None
        if self.requested_destination is not None:
            self.requested_destination.host = None
            self.requested_destination.node = None

    def copy(self) -> RequestSpec:
        return copy.deepcopy(self)

    # -- building ---------------------------------------------------------------

    @classmethod
    def from_components(cls, *, flavor: Flavor, instance_uuid: str | None = None,
                        image: ImageMeta | Mapping[str, Any] | None = None,
                        numa_topology: numa.InstanceNUMATopology | None = None,
                        pci_requests: list[numa.InstancePCIRequest] | None = None,
                        filter_properties: Mapping[str, Any] | None = None,
                        instance_group: InstanceGroup | None = None,
                        availability_zone: str | None = None,
                        security_groups: list[str] | None = None,
                        project_id: str | None = None, user_id: str | None = None,
                        context: Any = None,
                        port_resource_requests: list[RequestGroup] | None = None,
                        request_level_params: RequestLevelParams | None = None,
                        requested_networks: list[NetworkRequest] | None = None,
                        is_bfv: bool = False, num_instances: int = 1) -> RequestSpec:
        """A spec from what the API knows of one boot (Nova's ``from_components``).

        ``filter_properties`` is the legacy dict: ``scheduler_hints`` (each value made a
        list of strings), ``force_hosts``, ``force_nodes``, ``ignore_hosts``, ``limits``,
        ``retry`` and, when no ``instance_group`` is given, ``group_updated`` /
        ``group_uuid`` / ``group_policies`` / ``group_hosts`` / ``group_members``.
        """
        filter_properties = filter_properties or {}
        if image is not None and not isinstance(image, ImageMeta):
            image = ImageMeta.from_image(image)
        hints = {str(name): _hint_values(value) for name, value in
                 (filter_properties.get("scheduler_hints") or {}).items()}
        if instance_group is None and filter_properties.get("group_updated"):
            policies = filter_properties.get("group_policies") or []
            instance_group = InstanceGroup(
                uuid=filter_properties.get("group_uuid"),
                policy=next(iter(policies), None),
                hosts=list(filter_properties.get("group_hosts") or []),
                members=list(filter_properties.get("group_members") or []))
        retry = filter_properties.get("retry")
        limits = filter_properties.get("limits")
        return cls(
            flavor=flavor, instance_uuid=instance_uuid, image=image,
            numa_topology=numa_topology, pci_requests=list(pci_requests or []),
            project_id=project_id or getattr(context, "project_id", None),
            user_id=user_id or getattr(context, "user_id", None),
            availability_zone=availability_zone, num_instances=num_instances,
            ignore_hosts=_names(filter_properties.get("ignore_hosts")),
            force_hosts=_names(filter_properties.get("force_hosts")),
            force_nodes=_names(filter_properties.get("force_nodes")),
            retry=None if not retry else SchedulerRetry(
                num_attempts=int(retry.get("num_attempts", 0)),
                hosts=[list(h) for h in retry.get("hosts") or ()]),
            limits=SchedulerLimits.from_dict(limits) if limits else None,
            instance_group=instance_group, scheduler_hints=hints,
            security_groups=list(security_groups or []), is_bfv=is_bfv,
            requested_resources=list(port_resource_requests or []),
            request_level_params=request_level_params or RequestLevelParams(),
            requested_networks=list(requested_networks or []),
        )

    # -- wire and database forms ---------------------------------------------------

    def to_primitive(self) -> dict[str, Any]:
        """Nova's ``obj_to_primitive()`` of this spec (the RPC form)."""
        return envelope("RequestSpec", self._data())

    def _data(self, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        data: dict[str, Any] = {
            "flavor": flavor_to_primitive(self.flavor),
            "image": None if self.image is None else self.image.to_primitive(),
            "numa_topology": (None if self.numa_topology is None
                              else numa_topology_to_primitive(self.numa_topology)),
            "pci_requests": pci_requests_to_primitive(self.pci_requests, self.instance_uuid),
            "project_id": self.project_id,
            "user_id": self.user_id,
            "availability_zone": self.availability_zone,
            "num_instances": self.num_instances,
            "ignore_hosts": self.ignore_hosts,
            "force_hosts": self.force_hosts,
            "force_nodes": self.force_nodes,
            "requested_destination": (None if self.requested_destination is None
                                      else self.requested_destination.to_primitive()),
            "retry": None if self.retry is None else self.retry.to_primitive(),
            "limits": None if self.limits is None else self.limits.to_primitive(),
            "instance_group": (None if self.instance_group is None
                               else self.instance_group.to_primitive()),
            "scheduler_hints": {k: list(v) for k, v in self.scheduler_hints.items()},
            "security_groups": envelope("SecurityGroupList", {"objects": [
                envelope("SecurityGroup", {"name": name}) for name in self.security_groups]}),
            "is_bfv": self.is_bfv,
            "requested_resources": [g.to_primitive() for g in self.requested_resources],
            "request_level_params": self.request_level_params.to_primitive(),
            "requested_networks": envelope("NetworkRequestList", {"objects": [
                n.to_primitive() for n in self.requested_networks]}),
        }
        if self.network_metadata is not None:
            data["network_metadata"] = envelope("NetworkMetadata",
                                                self.network_metadata.to_dict())
        if self.instance_uuid is not None:
            data["instance_uuid"] = self.instance_uuid
        if self.id is not None:
            data["id"] = self.id
        for name in skip:
            data.pop(name, None)
        return data

    @classmethod
    def from_primitive(cls, primitive: Any) -> RequestSpec:
        """A spec from Nova's primitive (with or without the envelope)."""
        data = unwrap(primitive)

        def obj(name, load):
            value = data.get(name)
            return None if value is None else load(value)

        groups = data.get("security_groups")
        networks = data.get("requested_networks")
        network_metadata = data.get("network_metadata")
        return cls(
            flavor=flavor_from_primitive(data["flavor"]),
            instance_uuid=data.get("instance_uuid"),
            id=data.get("id"),
            image=obj("image", ImageMeta.from_primitive),
            numa_topology=obj("numa_topology", numa_topology_from_primitive),
            pci_requests=pci_requests_from_primitive(data.get("pci_requests")),
            project_id=data.get("project_id"),
            user_id=data.get("user_id"),
            availability_zone=data.get("availability_zone"),
            num_instances=int(data.get("num_instances") or 1),
            ignore_hosts=_names(data.get("ignore_hosts")),
            force_hosts=_names(data.get("force_hosts")),
            force_nodes=_names(data.get("force_nodes")),
            requested_destination=obj("requested_destination", Destination.from_primitive),
            retry=obj("retry", SchedulerRetry.from_primitive),
            limits=obj("limits", SchedulerLimits.from_primitive),
            instance_group=obj("instance_group", InstanceGroup.from_primitive),
            scheduler_hints={k: _hint_values(v)
                             for k, v in (data.get("scheduler_hints") or {}).items()},
            security_groups=[unwrap(g).get("name") for g in
                             (unwrap(groups) or {}).get("objects") or ()] if groups else [],
            network_metadata=(None if network_metadata is None
                              else numa.NetworkMetadata.from_dict(unwrap(network_metadata))),
            is_bfv=bool(data.get("is_bfv", False)),
            requested_resources=[RequestGroup.from_primitive(g)
                                 for g in data.get("requested_resources") or ()],
            request_level_params=RequestLevelParams.from_primitive(
                data.get("request_level_params")),
            requested_networks=[NetworkRequest.from_primitive(n) for n in
                                (unwrap(networks) or {}).get("objects") or ()]
            if networks else [],
        )

    def to_db_spec(self) -> str:
        """The ``request_specs.spec`` text, as Nova writes it: the primitive without
        the per-request fields and without the server group's hosts and members."""
        data = self._data(skip=NOT_PERSISTED)
        group = data.get("instance_group")
        if group is not None:
            for name in ("hosts", "members"):
                group["nova_object.data"].pop(name, None)
            group["nova_object.changes"] = sorted(group["nova_object.data"])
        return json.dumps(envelope("RequestSpec", data))

    @classmethod
    def from_db_spec(cls, spec: str, *, id: int | None = None) -> RequestSpec:
        """A spec from the ``request_specs.spec`` text (Nova's or ours)."""
        loaded = cls.from_primitive(json.loads(spec))
        if id is not None:
            loaded.id = id
        return loaded


def _hint_values(value: Any) -> list[str]:
    """A hint as Nova keeps it: a list of strings (``query`` stays its JSON text)."""
    if isinstance(value, list | tuple):
        return [v if isinstance(v, str) else json.dumps(v) for v in value]
    if isinstance(value, str):
        return [value]
    return [json.dumps(value)]


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]
