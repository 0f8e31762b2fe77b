"""What ``POST /servers`` means (Nova's ``compute/api.py`` ``create``,
``_validate_and_build_base_options``, ``_checks_for_create_and_rebuild`` and
``_provision_instances``).

A request is checked, in Nova's order, before anything is recorded: the flavor
(visible, enabled) and the image (active, ``min_ram``, ``min_disk`` and size against
the root disk, its properties against the flavor's extra specs through the NUMA and
CPU rules of ``nova_tx.virt``), the key pair, the availability zone, the security
groups and networks (through the network port), the block device mappings
(``nova_tx.compute.block_device``), the metadata and personality limits, and the
instances, cores and ram quota, which may lower ``max_count`` to what is left but not
below ``min_count``. Then, for each instance, one transaction of the API database
records its build request, request spec, instance mapping (no cell yet) and server
group membership, and one cast asks the conductor to schedule and build them all
(``schedule_and_build_instances``). The servers show as BUILD until a conductor does.
"""
from __future__ import annotations

import dataclasses
import datetime
import uuid as uuid_lib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from nova_tx import exception, log, policy
from nova_tx import quota as quota_mod
from nova_tx.compute import block_device, boot_image, instance_names, states
from nova_tx.db.api import build_requests as build_requests_db
from nova_tx.db.api import flavors as flavors_db
from nova_tx.db.api import host_mappings as host_mappings_db
from nova_tx.db.api import instance_groups as instance_groups_db
from nova_tx.db.api import instance_mappings as instance_mappings_db
from nova_tx.db.api import key_pairs as key_pairs_db
from nova_tx.db.api import request_specs as request_specs_db
from nova_tx.db.main import compute_nodes as compute_nodes_db
from nova_tx.image import api as image_api
from nova_tx.network import api as network_api
from nova_tx.objects import request_spec as rs
from nova_tx.objects.build_request import BuildRequest
from nova_tx.objects.cell_mapping import BaseUrls
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance

LOG = log.getLogger(__name__)

ZERO_DISK_FLAVOR = "os_compute_api:servers:create:zero_disk_flavor"
EXTERNAL_NETWORK = "network:attach_external_network"


def option(conf: Any, name: str, default: Any, group: str | None = None) -> Any:
    """An option that may not be registered in this process (read defensively)."""
    try:
        section = getattr(conf, group) if group else conf
        return getattr(section, name)
    except Exception:  # noqa: BLE001 - NoSuchOptError and missing groups alike
        return default


@dataclasses.dataclass
class CreateRequest:
    """One ``POST /servers`` as the REST layer parsed it (Nova's ``create`` kwargs)."""

    flavor_id: str
    image_ref: str
    display_name: str
    display_description: str | None = None
    hostname: str | None = None
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    admin_password: str | None = None
    user_data: str | None = None
    key_name: str | None = None
    config_drive: bool = False
    security_groups: list[str] | None = None
    scheduler_hints: dict[str, Any] = dataclasses.field(default_factory=dict)
    min_count: int = 1
    max_count: int = 1
    availability_zone: str | None = None
    forced_host: str | None = None
    forced_node: str | None = None
    requested_host: str | None = None
    requested_hypervisor_hostname: str | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    trusted_certs: list[str] | None = None
    #: None: not given (before 2.37); else NetworkRequests (``network_id`` "auto" or
    #: "none" for the 2.37 enums).
    requested_networks: list[rs.NetworkRequest] | None = None
    block_device_mapping: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    legacy_bdm: bool = True
    auto_disk_config: bool | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    injected_files: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    supports_multiattach: bool = False

    @property
    def no_allocate(self) -> bool:
        nets = self.requested_networks or []
        return len(nets) == 1 and nets[0].network_id == "none"

    @property
    def auto_allocate(self) -> bool:
        nets = self.requested_networks or []
        return len(nets) == 1 and nets[0].network_id == "auto"


@dataclasses.dataclass
class Created:
    """What the REST layer answers with."""

    instances: list[Instance]
    reservation_id: str
    admin_password: str


def parse_availability_zone(context, availability_zone: str | None
                            ) -> tuple[str | None, str | None, str | None]:
    """``az``, ``az:host``, ``az:host:node`` or ``az::node`` (Nova's
    ``parse_availability_zone``); the policy of forcing is the caller's."""
    if availability_zone and ":" in availability_zone:
        count = availability_zone.count(":")
        if count == 1:
            zone, host = availability_zone.split(":")
            return zone or None, host or None, None
        if count == 2:
            zone, host, node = availability_zone.split(":")
            return zone or None, host or None, node or None
        raise exception.InvalidInput(
            reason="Unable to parse availability_zone")
    return availability_zone, None, None


def host_or_node_exists(conn: sa.Connection, cells: Any, conf: Any, host: str | None,
                        node: str | None) -> bool:
    """Whether the compute ``host`` (mapped to a cell), its ``node``, or a ``node``
    anywhere exists (Nova's ``_validate_host_or_node``; Nova asks Placement for a
    node alone, whose providers are named after the nodes)."""
    base_urls = BaseUrls.from_conf(conf)
    if host:
        try:
            mapping = host_mappings_db.get_by_host(conn, host, base_urls=base_urls)
        except exception.HostMappingNotFound:
            LOG.warning("No host-to-cell mapping found for host %s.", host)
            return False
        if not node:
            return True
        url = mapping.cell_mapping.database_connection
        with cells.engine(url).connect() as cell_conn:
            return any(n.hypervisor_hostname == node
                       for n in compute_nodes_db.get_full_by_host(cell_conn, host))
    found = cells.gather(conn, lambda c: [n.hypervisor_hostname for n in
                                          compute_nodes_db.search_by_hypervisor(c, node)],
                         include_cell0=False)
    return any(node in names for names in found.values())


class ServersCreateAPI:
    """``create`` for the REST layer.

    ``api_db``: the API database's DBThreadPool; ``quota``: the QuotaEngine;
    ``images`` / ``networks``: the image and network ports; ``compute_task``: the
    conductor's ``ComputeTaskAPI`` (None: nothing is cast, for a process without a
    bus); ``zones``: an async callable returning the available zone names (None: no
    zone is checked); ``server_groups``: the ``ServerGroupAPI`` that checks the
    ``server_group_members`` quota and adds members (with its notifications);
    ``cells``: the ``CellEngines`` a requested host or node (2.74) is looked up in.
    """

    def __init__(self, api_db, quota, conf, *, images, networks, server_groups,
                 compute_task=None, zones: Callable[[], Any] | None = None,
                 cells=None, now: Callable[[], datetime.datetime] | None = None):
        self.db = api_db
        self.quota = quota
        self.conf = conf
        self.images = images
        self.networks = networks
        self.compute_task = compute_task
        self.zones = zones
        self.server_groups = server_groups
        self.cells = cells
        self.now = now or (lambda: datetime.datetime.now(datetime.UTC).replace(tzinfo=None))

    # -- lookups ----------------------------------------------------------------------

    async def get_flavor(self, context, flavor_id: str) -> Flavor:
        flavor = await self.db.do(flavors_db.get_by_flavorid, str(flavor_id),
                                  admin=bool(context.is_admin), project_id=context.project_id)
        if flavor.disabled:
            raise exception.FlavorNotFound(flavor_id=flavor_id)
        return flavor

    async def _get_image(self, context, image_id: str) -> dict[str, Any]:
        return await self.images.get(context, image_id)

    async def _boot_image(self, context, req: CreateRequest) -> dict[str, Any] | None:
        """The image the server boots from: ``imageRef``'s, else the root mapping's."""
        if req.image_ref:
            return await self._get_image(context, req.image_ref)
        if req.trusted_certs:
            raise exception.CertificateValidationFailed(
                message="Image certificate validation is not supported when booting "
                "from volume")
        bdms = req.block_device_mapping
        if req.legacy_bdm:
            bdms = block_device.from_legacy_mapping(bdms, "", None)
        root = block_device.get_root_bdm(bdms)
        if root is None:
            return None
        if root.get("image_id"):
            try:
                return await self._get_image(context, root["image_id"])
            except Exception:  # noqa: BLE001 - Nova answers any failure so
                raise exception.InvalidBDMImage(id=root["image_id"]) from None
        # A volume or snapshot: its image metadata is the volume service's, which
        # is not configured (spec/DECISIONS.md, companion services).
        return self._no_volume_service(root)

    @staticmethod
    def _no_volume_service(bdm: dict[str, Any]) -> Any:
        if bdm.get("snapshot_id"):
            raise exception.InvalidBDMSnapshot(id=bdm["snapshot_id"])
        raise exception.InvalidBDMVolume(id=bdm.get("volume_id"))

    async def _key_pair(self, context, key_name: str | None):
        if key_name is None:
            return None
        return await self.db.do(key_pairs_db.get_by_name, context.user_id, key_name)

    async def _check_zone(self, zone: str | None, forced_host: str | None) -> None:
        if not zone or forced_host is not None or self.zones is None:
            return
        if zone not in await self.zones():
            raise exception.InvalidRequest("The requested availability zone is not available")

    async def _check_requested_destination(self, req: CreateRequest) -> None:
        host, node = req.requested_host, req.requested_hypervisor_hostname
        if not (host or node) or self.cells is None:
            return
        if not await self.db.do(host_or_node_exists, self.cells, self.conf, host, node):
            raise exception.ComputeHostNotFound(host=host or node)

    async def _check_security_groups(self, context, names: list[str]) -> None:
        """Each named group must be the caller's (by name or id); ``default`` is made
        by the network service on first use."""
        wanted = [n for n in names if n != "default"]
        if not wanted or self.networks is None:
            return
        groups = await self.networks.list_security_groups(
            context, tenant_id=context.project_id)
        known = {g.get("name") for g in groups} | {g.get("id") for g in groups}
        for name in wanted:
            if name not in known:
                raise network_api.SecurityGroupNotFound(security_group_id=name)

    async def _check_networks(self, context, req: CreateRequest) -> None:
        """Nova's ``validate_networks``: ports free and with addresses, fixed IPs
        free, networks visible, one network at most when none is named."""
        if req.no_allocate or self.networks is None:
            return
        requested = req.requested_networks
        if req.max_count > 1 and requested:
            if any(r.address for r in requested):
                raise exception.InvalidFixedIpAndMaxCountRequest(
                    reason="max_count cannot be greater than 1 if an fixed_ip is "
                    "specified.")
            if any(r.port_id for r in requested):
                raise exception.MultiplePortsNotApplicable(
                    reason="Unable to launch multiple instances with a single "
                    "configured port ID. Please launch your instance one by one with "
                    "different ports.")
        if not requested or req.auto_allocate:
            available = await self.networks.get_available_networks(context)
            if len(available) > 1:
                raise network_api.NetworkAmbiguous()
            if not available and req.auto_allocate:
                aliases = {e.get("alias") for e in await self.networks.get_extensions(context)}
                if "auto-allocated-topology" not in aliases:
                    raise exception.UnableToAutoAllocateNetwork(project_id=context.project_id)
            return
        network_ids = []
        for request in requested:
            if request.port_id:
                port = await self.networks.show_port(context, request.port_id)
                if port.get("device_id"):
                    raise network_api.PortInUse(port_id=request.port_id)
                if (port.get("ip_allocation") not in ("deferred", "none")
                        and not port.get("fixed_ips")):
                    raise exception.PortRequiresFixedIP(port_id=request.port_id)
                request.network_id = port.get("network_id")
                continue
            network_ids.append(request.network_id)
            if request.address:
                used = await self.networks.list_ports(
                    context, network_id=request.network_id,
                    fixed_ips="ip_address=%s" % request.address)
                if used:
                    raise network_api.FixedIpAlreadyInUse(
                        address=request.address, instance_uuid=used[0].get("device_id"))
        if network_ids:
            networks = await self.networks.get_available_networks(context, network_ids)
            for network in networks:
                if not network.get("subnets"):
                    raise exception.NetworkRequiresSubnet(network_uuid=network["id"])
            self._check_external_network_attach(context, networks)

    @staticmethod
    def _check_external_network_attach(context, networks: list[dict[str, Any]]) -> None:
        """An external network that is not shared takes servers only by policy
        (``network:attach_external_network``, admins by default)."""
        external = [n for n in networks if n.get("router:external") and not n.get("shared")]
        if external and not policy.authorize(context, EXTERNAL_NETWORK, fatal=False):
            raise exception.ExternalNetworkAttachForbidden(network_uuid=external[0]["id"])

    async def _check_bdm_sources(self, context, bdms: list[dict[str, Any]],
                                 image_ref: str) -> None:
        """The per-mapping checks of Nova's ``_validate_bdm`` that ask a service."""
        seen: set[str] = set()
        for bdm in bdms:
            if bdm.get("no_device"):
                continue
            if bdm.get("volume_type"):
                # No volume service: no volume type exists.
                raise exception.VolumeTypeNotFound(id_or_name=bdm["volume_type"])
            image_id = bdm.get("image_id")
            if image_id is not None:
                if image_id != image_ref and image_id not in seen:
                    try:
                        await self._get_image(context, image_id)
                    except Exception:  # noqa: BLE001 - Nova answers any failure so
                        raise exception.InvalidBDMImage(id=image_id) from None
                    seen.add(image_id)
            elif bdm.get("volume_id") is not None or bdm.get("snapshot_id") is not None:
                self._no_volume_service(bdm)

    async def _check_metadata_and_files(self, context, metadata: dict[str, str],
                                        files: list[tuple[str, str]]) -> None:
        """The ``metadata_items`` and personality quotas (Nova's
        ``_check_metadata_properties_quota`` and ``_check_injected_file_quota``)."""
        try:
            await self.quota.limit_check(context, metadata_items=len(metadata))
        except exception.OverQuota as e:
            raise exception.MetadataLimitExceeded(
                allowed=e.kwargs["quotas"]["metadata_items"]) from None
        if not files:
            return
        try:
            await self.quota.limit_check(context, injected_files=len(files))
        except exception.OverQuota:
            raise exception.OnsetFileLimitExceeded() from None
        max_path = max(len(path.encode("utf-8")) for path, _ in files)
        max_content = max(len(content) for _, content in files)
        try:
            await self.quota.limit_check(context, injected_file_path_bytes=max_path,
                                         injected_file_content_bytes=max_content)
        except exception.OverQuota as e:
            quotas = e.kwargs["quotas"]
            if "injected_file_path_bytes" in e.kwargs["overs"]:
                raise exception.OnsetFilePathLimitExceeded(
                    allowed=quotas["injected_file_path_bytes"]) from None
            raise exception.OnsetFileContentLimitExceeded(
                allowed=quotas["injected_file_content_bytes"]) from None

    async def _instance_group(self, context, hints: dict[str, Any], max_count: int):
        """The server group of the ``group`` hint, its member quota checked."""
        group_uuid = hints.get("group")
        if not group_uuid:
            return None
        if isinstance(group_uuid, list):
            group_uuid = group_uuid[0]
        group = await self.db.do(instance_groups_db.get_by_uuid, group_uuid)
        await self.server_groups.check_members_quota(context, group, delta=max_count)
        return group

    # -- create ------------------------------------------------------------------------

    async def create(self, context, req: CreateRequest) -> Created:
        if not req.availability_zone:
            req = dataclasses.replace(req, availability_zone=option(
                self.conf, "default_schedule_zone", None))
        if req.hostname and req.max_count > 1:
            raise exception.AmbiguousHostnameForMultipleInstances()
        flavor = await self.get_flavor(context, req.flavor_id)
        image = await self._boot_image(context, req)
        image_id = image.get("id") if image and req.image_ref else None
        properties = boot_image.image_meta(image).properties if image else {}
        auto_disk_config = self._auto_disk_config(image, req.auto_disk_config)
        key_pair = await self._key_pair(context, req.key_name)
        await self._check_zone(req.availability_zone, req.forced_host)
        await self._check_requested_destination(req)
        security_groups = sorted(set(req.security_groups or [])) or ["default"]
        await self._check_security_groups(context, security_groups)
        await self._check_networks(context, req)
        numa_topology, pci_requests = boot_image.flavor_image_constraints(flavor, image, self.conf)
        await self._check_kernel_and_ramdisk(context, properties)

        root_device_name = block_device.prepend_dev(properties.get("root_device_name"))
        bdms = block_device.check_and_transform(
            [dict(b) for b in req.block_device_mapping], flavor=flavor,
            image_properties=properties, image_ref=req.image_ref,
            legacy_bdm=req.legacy_bdm, min_count=req.min_count, max_count=req.max_count,
            root_device_name=block_device.strip_dev(root_device_name),
            default_ephemeral_format=option(self.conf, "default_ephemeral_format", None))
        block_device.validate(
            bdms, flavor=flavor,
            max_local_block_devices=option(self.conf, "max_local_block_devices", 3))
        await self._check_bdm_sources(context, bdms, req.image_ref)
        root_bdm = block_device.get_root_bdm(bdms)
        volume_backed = block_device.is_volume_backed(bdms)
        if req.trusted_certs and volume_backed:
            raise exception.CertificateValidationFailed(
                message="Image certificate validation is not supported when booting "
                "from volume")

        await self._check_metadata_and_files(context, req.metadata, req.injected_files)
        boot_image.check_requested_image(image, flavor, root_bdm)
        if flavor.root_gb == 0 and not volume_backed:
            if not policy.authorize(context, ZERO_DISK_FLAVOR, fatal=False):
                raise exception.BootFromVolumeRequiredForZeroDiskFlavor()

        max_count = await quota_mod.check_num_instances_quota(
            self.quota, context, vcpus=flavor.vcpus, memory_mb=flavor.memory_mb,
            min_count=req.min_count, max_count=req.max_count)
        group = await self._instance_group(context, req.scheduler_hints, max_count)

        reservation_id = instance_names.generate_uid("r")
        password = req.admin_password
        if password is None:
            password = instance_names.generate_password(int(option(self.conf, "password_length", 12)))
        instances = []
        specs = []
        for index in range(max_count):
            instance = self._new_instance(
                context, req, flavor, image_id or "", properties, key_pair,
                security_groups, numa_topology, pci_requests, auto_disk_config,
                reservation_id, index, max_count, root_device_name, image)
            spec = self._request_spec(context, req, flavor, image, instance, group,
                                      security_groups, numa_topology, pci_requests,
                                      volume_backed, max_count)
            instances.append(instance)
            specs.append(spec)
        await self.db.do(self._record, instances, specs, bdms)
        if group is not None:
            try:
                await self.server_groups.add_members(
                    context, group.uuid, [i.uuid for i in instances], check_quota=False)
            except BaseException:
                # As Nova's _provision_instances: what was recorded goes again.
                await self.db.do(self._forget, [i.uuid for i in instances], group.uuid)
                raise
        await self._cast(context, instances, specs, image, password, req, bdms)
        return Created(instances=instances, reservation_id=reservation_id,
                       admin_password=password)

    @staticmethod
    def _auto_disk_config(image: dict[str, Any] | None, requested: bool | None) -> bool:
        """``OS-DCF:diskConfig``: the request's, else the image's; an image may forbid
        AUTO (``auto_disk_config=disabled``)."""
        value = str(boot_image.image_meta(image).properties.get("auto_disk_config", "")).lower() \
            if image else ""
        if value == "disabled":
            if requested:
                raise exception.AutoDiskConfigDisabledByImage(image=image.get("id"))
            return False
        if requested is not None:
            return requested
        return block_device.bool_from_string(value) if value else False

    async def _check_kernel_and_ramdisk(self, context, properties: dict[str, Any]) -> None:
        for key in ("kernel_id", "ramdisk_id"):
            if properties.get(key):
                await self._get_image(context, properties[key])

    def _new_instance(self, context, req: CreateRequest, flavor: Flavor, image_ref: str,
                      properties: dict[str, Any], key_pair, security_groups: list[str],
                      numa_topology, pci_requests, auto_disk_config: bool,
                      reservation_id: str, index: int, count: int,
                      root_device_name: str | None, image: dict[str, Any] | None
                      ) -> Instance:
        instance_uuid = str(uuid_lib.uuid4())
        system_metadata = boot_image.system_metadata_from_image(image)
        system_metadata.setdefault("image_base_image_ref", image_ref)
        system_metadata["owner_user_name"] = context.user_name
        system_metadata["owner_project_name"] = context.project_name
        if context.roles:
            system_metadata["boot_roles"] = ",".join(context.roles)[:255]
        instance = Instance(
            uuid=instance_uuid, user_id=context.user_id, project_id=context.project_id,
            image_ref=image_ref, kernel_id=properties.get("kernel_id") or "",
            ramdisk_id=properties.get("ramdisk_id") or "", flavor=flavor,
            instance_type_id=flavor.id, memory_mb=flavor.memory_mb, vcpus=flavor.vcpus,
            root_gb=flavor.root_gb, ephemeral_gb=flavor.ephemeral_gb,
            vm_state=states.BUILDING, task_state=states.SCHEDULING, power_state=0,
            availability_zone=req.availability_zone, created_at=self.now(),
            key_name=req.key_name, key_data=key_pair.public_key if key_pair else None,
            # Nova's instance_extra.keypairs: the metadata service and the
            # notifications show the key pair from it.
            keypairs=[key_pair] if key_pair else [],
            user_data=req.user_data, config_drive="True" if req.config_drive else "",
            access_ip_v4=req.access_ip_v4, access_ip_v6=req.access_ip_v6,
            display_name=req.display_name, display_description=req.display_description,
            hostname=req.hostname, launch_index=index, reservation_id=reservation_id,
            root_device_name=root_device_name, progress=0,
            auto_disk_config=auto_disk_config, metadata=dict(req.metadata),
            system_metadata=system_metadata, tags=list(req.tags),
            security_groups=list(security_groups), trusted_certs=req.trusted_certs,
            numa_topology=numa_topology, pci_requests=list(pci_requests) or None,
            network_info=[])
        instance_names.populate_names(
            instance, count, index,
            option(self.conf, "multi_instance_display_name_template", None))
        return instance

    def _request_spec(self, context, req: CreateRequest, flavor: Flavor, image, instance,
                      group, security_groups, numa_topology, pci_requests,
                      volume_backed: bool, count: int) -> rs.RequestSpec:
        filter_properties: dict[str, Any] = {"scheduler_hints": req.scheduler_hints}
        if req.forced_host:
            filter_properties["force_hosts"] = [req.forced_host]
        if req.forced_node:
            filter_properties["force_nodes"] = [req.forced_node]
        spec = rs.RequestSpec.from_components(
            flavor=flavor, instance_uuid=instance.uuid, image=image or {},
            numa_topology=numa_topology, pci_requests=pci_requests,
            filter_properties=filter_properties,
            instance_group=group.to_request_spec_group() if group else None,
            availability_zone=req.availability_zone, security_groups=security_groups,
            context=context, is_bfv=volume_backed, num_instances=count,
            requested_networks=[dataclasses.replace(n) for n in req.requested_networks or []])
        if req.requested_host or req.requested_hypervisor_hostname:
            destination = spec.ensure_destination()
            destination.host = req.requested_host
            destination.node = req.requested_hypervisor_hostname
        return spec

    @staticmethod
    def _record(conn: sa.Connection, instances: list[Instance],
                specs: list[rs.RequestSpec], bdms: list[dict[str, Any]]) -> None:
        """One transaction: build requests, request specs and instance mappings (no
        cell until scheduled)."""
        for instance, spec in zip(instances, specs, strict=True):
            request_specs_db.create(conn, spec)
            build_requests_db.create(conn, BuildRequest(
                instance_uuid=instance.uuid, project_id=instance.project_id,
                instance=instance, tags=list(instance.tags),
                block_device_mappings=[block_device.bdm_primitive(b, instance.uuid)["nova_object.data"]
                                       for b in bdms]))
            instance_mappings_db.create(conn, instance_uuid=instance.uuid,
                                        project_id=instance.project_id,
                                        user_id=instance.user_id)

    @staticmethod
    def _forget(conn: sa.Connection, instance_uuids: list[str], group_uuid: str) -> None:
        for instance_uuid in instance_uuids:
            request_specs_db.destroy_bulk(conn, [instance_uuid])
            try:
                build_requests_db.destroy(conn, instance_uuid)
            except exception.BuildRequestNotFound:
                pass
            try:
                instance_mappings_db.destroy(conn, instance_uuid)
            except exception.InstanceMappingNotFound:
                pass
        try:
            instance_groups_db.remove_members(conn, group_uuid, instance_uuids)
        except exception.InstanceGroupNotFound:
            pass

    async def _cast(self, context, instances: list[Instance], specs: list[rs.RequestSpec],
                    image: dict[str, Any] | None, password: str, req: CreateRequest,
                    bdms: list[dict[str, Any]]) -> None:
        if self.compute_task is None:
            LOG.warning("No conductor to cast to: %d server(s) stay in BUILD",
                        len(instances))
            return
        networks = rs.envelope("NetworkRequestList", {"objects": [
            n.to_primitive() for n in req.requested_networks or []]}) \
            if req.requested_networks is not None else None
        build_requests = [self._build_request_primitive(i, bdms) for i in instances]
        await self.compute_task.schedule_and_build_instances(
            context, build_requests=build_requests,
            request_specs=[s.to_primitive() for s in specs],
            image=image_api.to_nova_image(image) if image else {},
            admin_password=password, injected_files=[list(f) for f in req.injected_files],
            requested_networks=networks,
            block_device_mapping=block_device.bdm_list_primitive(bdms),
            tags=self._tags_primitive(instances[0]))

    @staticmethod
    def _tags_primitive(instance: Instance) -> dict[str, Any]:
        return instance.to_primitive()["nova_object.data"]["tags"]

    @staticmethod
    def _build_request_primitive(instance: Instance, bdms: list[dict[str, Any]]
                                 ) -> dict[str, Any]:
        """Nova's ``BuildRequest`` primitive (1.3), as the conductor reads it."""
        primitive = instance.to_primitive()
        data = {"instance_uuid": instance.uuid, "project_id": instance.project_id,
                "instance": primitive,
                "block_device_mappings": block_device.bdm_list_primitive(bdms, instance.uuid),
                "tags": primitive["nova_object.data"]["tags"]}
        return {"nova_object.name": "BuildRequest", "nova_object.namespace": "nova",
                "nova_object.version": "1.3", "nova_object.data": data,
                "nova_object.changes": sorted(data)}
