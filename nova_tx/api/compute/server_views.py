"""The server bodies of the compute API (Nova's ``views/servers.py`` ViewBuilder).

Which fields a server shows depends on the microversion and on policy:

- always: id, name, status, tenant_id, user_id, metadata, hostId, image, flavor,
  created, updated, addresses, accessIPv4/6, links, OS-DCF:diskConfig, progress (in
  the progress statuses), fault (ERROR and DELETED), OS-EXT-AZ:availability_zone,
  config_drive, key_name, OS-SRV-USG:*, OS-EXT-STS:*, os-extended-volumes and
  security_groups;
- OS-EXT-SRV-ATTR:* with ``os_compute_api:os-extended-server-attributes`` (2.3 adds
  reservation_id, launch_index, hostname, kernel_id, ramdisk_id, root_device_name,
  user_data; 2.90 shows hostname to everyone);
- 2.9 locked, 2.16 host_status (by policy), 2.19 description, 2.26 tags, 2.47 the
  flavor embedded (extra_specs by policy), 2.63 trusted_image_certificates, 2.71
  server_groups (show and update), 2.73 locked_reason;
- 2.69: a server of a cell that does not answer shows what the API database knows
  (id, status UNKNOWN, links; detail adds tenant_id and created; show adds image,
  flavor, zone, power state, user and server groups from the request spec).
"""
from __future__ import annotations

import hashlib
from typing import Any

from nova_tx import policy
from nova_tx.api.compute import links, pagination
from nova_tx.compute import states
from nova_tx.compute.servers import HOST_UNKNOWN, Located, ViewExtras, instance_name
from nova_tx.objects.instance import Instance

SERVERS = "os_compute_api:servers:%s"
EXTENDED_ATTRIBUTES = "os_compute_api:os-extended-server-attributes"
FAULT_STATUSES = ("ERROR", "DELETED")
PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")


def isotime(value) -> str | None:
    """Nova's ``utils.isotime``: ``2013-09-03T04:01:32Z``."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def perfect_time(value) -> str | None:
    """How Nova's JSON shows a bare datetime (oslo's PERFECT_TIME_FORMAT)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def host_id(host: str | None, project_id: str | None) -> str:
    """Nova's ``generate_hostid``: the host, hashed with the project, or ""."""
    if not host:
        return ""
    return hashlib.sha224((str(project_id) + host).encode("utf-8")).hexdigest()


def id_from_href(href: str) -> str:
    """Nova's ``common.get_id_from_href``: the last path segment of a URL (or the id)."""
    return href.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def addresses(instance: Instance, extend: bool = True) -> dict[str, list[dict]]:
    """The fixed and floating IPs of the info cache by network label (none while the
    server is building)."""
    if instance.vm_state == states.BUILDING:
        return {}
    result: dict[str, list[dict]] = {}
    for vif in instance.network_info or ():
        network = vif.get("network") or {}
        label = network.get("label")
        if label is None:
            continue
        found = result.setdefault(label, [])
        for subnet in network.get("subnets") or ():
            for ip in subnet.get("ips") or ():
                items = [(ip, "fixed")] + [(f, "floating")
                                           for f in ip.get("floating_ips") or ()]
                for item, kind in items:
                    address = item.get("address")
                    if not address:
                        continue
                    entry: dict[str, Any] = {
                        "version": item.get("version") or (6 if ":" in address else 4),
                        "addr": address}
                    if extend:
                        entry["OS-EXT-IPS:type"] = item.get("type") or kind
                        entry["OS-EXT-IPS-MAC:mac_addr"] = vif.get("address")
                    found.append(entry)
    return result


class ViewBuilder:
    def __init__(self, req):
        self.req = req
        self.context = req.context

    def _can(self, rule: str, target: dict | None = None) -> bool:
        # No target: the caller's own project and user (Nova's default target).
        return policy.authorize(self.context, rule, target=target, fatal=False)

    # -- pieces -----------------------------------------------------------------------

    def _links(self, uuid: str) -> list[dict]:
        return links.links(self.req, uuid, "servers")

    def _image(self, instance: Instance) -> dict | str:
        if not instance.image_ref:
            return ""
        image_id = id_from_href(instance.image_ref)
        return {"id": image_id, "links": [
            {"rel": "bookmark", "href": links.bookmark_link(self.req, image_id, "images")}]}

    def _flavor(self, instance: Instance, show_extra_specs: bool) -> dict:
        flavor = instance.flavor
        if flavor is None:
            return {}
        if self.req.supports("2.47"):
            body = {"vcpus": flavor.vcpus, "ram": flavor.memory_mb, "disk": flavor.root_gb,
                    "ephemeral": flavor.ephemeral_gb, "swap": flavor.swap,
                    "original_name": flavor.name}
            if show_extra_specs:
                body["extra_specs"] = dict(flavor.extra_specs or {})
            return body
        return {"id": str(flavor.flavorid), "links": [{
            "rel": "bookmark",
            "href": links.bookmark_link(self.req, flavor.flavorid, "flavors")}]}

    def _fault(self, instance: Instance) -> dict | None:
        fault = instance.fault
        if fault is None:
            return None
        body: dict[str, Any] = {"code": fault.code, "created": isotime(fault.created_at),
                                "message": fault.message}
        if fault.details and (self.context.is_admin or fault.code != 500):
            body["details"] = fault.details
        return body

    def show_extra_specs(self) -> bool:
        return self.req.supports("2.47") and self._can(SERVERS % "show:flavor-extra-specs")

    def host_status_policy(self, instance: Instance | None = None) -> bool | None:
        """False: any host status may show; True: only UNKNOWN; None: none."""
        target = {"project_id": instance.project_id} if instance is not None else None
        if self._can(SERVERS % "show:host_status", target):
            return False
        if self._can(SERVERS % "show:host_status:unknown-only", target):
            return True
        return None

    # -- one server ---------------------------------------------------------------------

    def show(self, item: Located, extras: ViewExtras, *, show_extra_specs: bool,
             show_extended_attr: bool | None = None,
             unknown_only: bool | None | str = "ask", full: bool = True,
             show_server_groups: bool = False) -> dict[str, Any]:
        """The ``server`` body. ``full`` False is the update response before 2.75
        (no zone, config drive, key, usage, states, volumes, security groups)."""
        instance = item.instance
        status = states.status_from_state(instance.vm_state, instance.task_state)
        server: dict[str, Any] = {
            "id": instance.uuid,
            "name": instance.display_name,
            "status": status,
            "tenant_id": instance.project_id or "",
            "user_id": instance.user_id or "",
            "metadata": dict(instance.metadata),
            "hostId": host_id(instance.host, instance.project_id),
            "image": self._image(instance),
            "flavor": self._flavor(instance, show_extra_specs),
            "created": isotime(instance.created_at),
            "updated": isotime(instance.updated_at),
            "addresses": addresses(instance, extend=full),
            "accessIPv4": str(instance.access_ip_v4) if instance.access_ip_v4 else "",
            "accessIPv6": str(instance.access_ip_v6) if instance.access_ip_v6 else "",
            "links": self._links(instance.uuid),
            "OS-DCF:diskConfig": "AUTO" if instance.auto_disk_config else "MANUAL",
        }
        if status in FAULT_STATUSES:
            fault = self._fault(instance)
            if fault:
                server["fault"] = fault
        if status in PROGRESS_STATUSES:
            server["progress"] = instance.progress or 0
        if full:
            server["OS-EXT-AZ:availability_zone"] = extras.availability_zone or ""
            server["config_drive"] = instance.config_drive or ""
            server["key_name"] = instance.key_name
            for name in ("launched_at", "terminated_at"):
                value = getattr(instance, name)
                server["OS-SRV-USG:" + name] = perfect_time(value)
            if instance.security_groups:
                server["security_groups"] = [{"name": n} for n in instance.security_groups]
        if show_extended_attr is None:
            show_extended_attr = self._can(EXTENDED_ATTRIBUTES,
                                           {"project_id": instance.project_id})
        if show_extended_attr:
            self._extended_attributes(server, instance)
        if full:
            for name in ("task_state", "vm_state", "power_state"):
                server["OS-EXT-STS:" + name] = getattr(instance, name)
            with_delete = self.req.supports("2.3")
            server["os-extended-volumes:volumes_attached"] = [
                {"id": volume_id, "delete_on_termination": delete} if with_delete
                else {"id": volume_id} for volume_id, delete in extras.volumes]
        if self.req.supports("2.16"):
            if unknown_only == "ask":
                unknown_only = self.host_status_policy(instance)
            if unknown_only is not None and (
                    not unknown_only or extras.host_status == HOST_UNKNOWN):
                server["host_status"] = extras.host_status
        if self.req.supports("2.9"):
            server["locked"] = bool(instance.locked_by)
        if self.req.supports("2.73"):
            server["locked_reason"] = instance.system_metadata.get("locked_reason")
        if self.req.supports("2.19"):
            server["description"] = instance.display_description
        if self.req.supports("2.26"):
            server["tags"] = list(instance.tags)
        if self.req.supports("2.63"):
            server["trusted_image_certificates"] = (
                list(instance.trusted_certs) if instance.trusted_certs else None)
        if self.req.supports("2.90") and not show_extended_attr:
            server["OS-EXT-SRV-ATTR:hostname"] = instance.hostname
        if show_server_groups:
            server["server_groups"] = list(extras.server_groups)
        return server

    def _extended_attributes(self, server: dict, instance: Instance) -> None:
        server["OS-EXT-SRV-ATTR:host"] = instance.host
        server["OS-EXT-SRV-ATTR:instance_name"] = instance_name(self.req.conf, instance)
        server["OS-EXT-SRV-ATTR:hypervisor_hostname"] = instance.node
        if self.req.supports("2.3"):
            for name in ("reservation_id", "launch_index", "hostname", "kernel_id",
                         "ramdisk_id", "root_device_name", "user_data"):
                server["OS-EXT-SRV-ATTR:" + name] = getattr(instance, name)

    # -- lists --------------------------------------------------------------------------

    def basic(self, item: Located) -> dict[str, Any]:
        instance = item.instance
        if item.down:
            return {"id": instance.uuid, "status": "UNKNOWN",
                    "links": self._links(instance.uuid)}
        return {"id": instance.uuid, "name": instance.display_name,
                "links": self._links(instance.uuid)}

    def from_down_cell(self, item: Located, extras: ViewExtras | None, *,
                       show_extra_specs: bool, show_server_groups: bool) -> dict[str, Any]:
        """Nova's ``_show_from_down_cell`` (2.69): what the API database knows; with
        the request spec's flavor, image, zone and user for a show."""
        instance = item.instance
        server: dict[str, Any] = {
            "id": instance.uuid, "status": "UNKNOWN", "tenant_id": instance.project_id,
            "created": isotime(instance.created_at), "links": self._links(instance.uuid)}
        if instance.flavor is not None:
            server["image"] = self._image(instance)
            server["flavor"] = self._flavor(instance, show_extra_specs)
            server["OS-EXT-AZ:availability_zone"] = instance.availability_zone or "UNKNOWN"
            server["OS-EXT-STS:power_state"] = instance.power_state
            server["user_id"] = instance.user_id or "UNKNOWN"
            if show_server_groups:
                server["server_groups"] = list(extras.server_groups) if extras else []
        return server

    def _with_links(self, body: dict, servers: list[dict], collection: str) -> dict:
        next_links = pagination.collection_links(self.req, servers, collection, "id")
        if next_links:
            body["servers_links"] = next_links
        return body

    def index(self, found: list[Located]) -> dict[str, Any]:
        servers = [self.basic(item) for item in found]
        return self._with_links({"servers": servers}, servers, "servers")

    def detail(self, located: list[Located], extras: dict[str, ViewExtras]
               ) -> dict[str, Any]:
        show_extra_specs = self.show_extra_specs()
        show_extended_attr = self._can(EXTENDED_ATTRIBUTES)
        unknown_only = self.host_status_policy() if self.req.supports("2.16") else None
        servers = [self.from_down_cell(item, None, show_extra_specs=show_extra_specs,
                                       show_server_groups=False) if item.down
                   else self.show(item, extras[item.instance.uuid],
                                  show_extra_specs=show_extra_specs,
                                  show_extended_attr=show_extended_attr,
                                  unknown_only=unknown_only) for item in located]
        return self._with_links({"servers": servers}, servers, "servers/detail")
