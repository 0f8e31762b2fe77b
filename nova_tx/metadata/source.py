"""Finding the instance a metadata request is about, and what its metadata needs.

Plain functions of Connections, run in a thread of the API database's pool (they
reach the cell databases through :class:`nova_tx.db.cells.CellEngines`, as the
compute API does). With ``[api] local_metadata_per_cell`` the service has no API
database and reads its own cell's database (``[database] connection``) directly.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import cell_mappings, instance_mappings
from nova_tx.db.main import block_device_mappings
from nova_tx.db.main import instances as instances_db
from nova_tx.objects.cell_mapping import BaseUrls
from nova_tx.objects.instance import Instance, unwrap

#: What InstanceMetadata reads of an instance.
EXPECTED_ATTRS = ("metadata", "system_metadata", "info_cache", "security_groups",
                  "keypairs", "flavor", "numa_topology")

#: Nova's device bus objects and the ``bus`` meta_data.json names them.
BUS_NAMES = {"PCIDeviceBus": "pci", "USBDeviceBus": "usb", "SCSIDeviceBus": "scsi",
             "IDEDeviceBus": "ide", "XenDeviceBus": "xen"}


@dataclasses.dataclass
class Found:
    """An instance and the rest of what its metadata shows."""

    instance: Instance
    bdms: list[dict]
    devices: list[dict]
    #: The cell database the instance lives in (where the password is written).
    cell_url: str | None = None


def parse_device_metadata(text: str | None) -> list[dict]:
    """Nova's InstanceDeviceMetadata primitive (``instance_extra.device_metadata``)
    as plain dicts: ``type`` nic/disk, ``bus``, ``address`` and the device's fields."""
    if not text:
        return []
    devices = []
    for item in unwrap(json.loads(text)).get("devices") or ():
        name = item.get("nova_object.name") if isinstance(item, dict) else None
        data = dict(unwrap(item))
        kind = {"NetworkInterfaceMetadata": "nic", "DiskMetadata": "disk"}.get(name)
        if kind is None:
            continue
        bus = data.pop("bus", None)
        device: dict[str, Any] = {"type": kind, "bus": "none", "address": "none"}
        if isinstance(bus, dict):
            device["bus"] = BUS_NAMES.get(bus.get("nova_object.name"), "none")
            device["address"] = unwrap(bus).get("address") or "none"
        for key in ("mac", "serial", "path", "tags", "vlan", "vf_trusted"):
            if data.get(key) is not None:
                device[key] = data[key]
        devices.append(device)
    return devices


def _device_metadata(conn: sa.Connection, instance_uuid: str) -> list[dict]:
    table = instances_db.instance_extra
    text = conn.execute(sa.select(table.c.device_metadata).where(
        table.c.instance_uuid == instance_uuid)).scalar()
    return parse_device_metadata(text)


def load_in_cell(cell_conn: sa.Connection, instance_uuid: str) -> Found:
    """The live instance ``instance_uuid`` of this cell; InstanceNotFound."""
    instance = instances_db.get(cell_conn, instance_uuid, expected_attrs=EXPECTED_ATTRS)
    return Found(instance,
                 block_device_mappings.get_by_instance_uuid(cell_conn, instance_uuid),
                 _device_metadata(cell_conn, instance_uuid))


def by_uuid(api_conn: sa.Connection, cells: Any, conf: Any, instance_uuid: str) -> Found:
    """Through the instance's mapping to its cell (InstanceNotFound)."""
    try:
        mapping = instance_mappings.get_by_instance_uuid(
            api_conn, instance_uuid, base_urls=BaseUrls.from_conf(conf))
    except exception.InstanceMappingNotFound:
        raise exception.InstanceNotFound(instance_id=instance_uuid) from None
    cell = mapping.cell_mapping
    if cell is None or cell.is_cell0 or not cell.database_connection:
        # Still building, or buried in cell0: a guest that can ask has neither.
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    with cells.engine(cell.database_connection).connect() as conn:
        found = load_in_cell(conn, instance_uuid)
    found.cell_url = cell.database_connection
    return found


def uuids_with_address(cell_conn: sa.Connection, address: str) -> list[str]:
    """Live instances whose info cache has ``address`` as a fixed IP.

    The text match narrows the rows (the network model is JSON text); the parsed
    network info decides, so ``10.0.0.1`` never matches ``10.0.0.10``.
    """
    caches = instances_db.info_caches
    table = instances_db.instances
    rows = cell_conn.execute(
        sa.select(caches.c.instance_uuid, caches.c.network_info)
        .select_from(caches.join(table, table.c.uuid == caches.c.instance_uuid))
        .where(caches.c.deleted == 0, table.c.deleted == 0,
               caches.c.network_info.contains('"%s"' % address, autoescape=True)))
    found = []
    for row in rows:
        try:
            network_info = json.loads(row.network_info or "[]")
        except ValueError:
            continue
        if any(ip == address for ip, _ in instances_db.fixed_ips(network_info)):
            found.append(row.instance_uuid)
    return found


def by_address(api_conn: sa.Connection, cells: Any, conf: Any, address: str) -> Found:
    """The one live instance with fixed IP ``address`` in any cell (InstanceNotFound
    when none, or when several share it: the address does not say which)."""
    base_urls = BaseUrls.from_conf(conf)
    matches: list[tuple[Any, str]] = []
    for cell in cell_mappings.get_all(api_conn, base_urls=base_urls):
        if cell.is_cell0 or not cell.database_connection:
            continue
        with cells.engine(cell.database_connection).connect() as conn:
            matches += [(cell, uuid) for uuid in uuids_with_address(conn, address)]
    if len(matches) != 1:
        raise exception.InstanceNotFound(instance_id=address)
    cell, uuid = matches[0]
    with cells.engine(cell.database_connection).connect() as conn:
        found = load_in_cell(conn, uuid)
    found.cell_url = cell.database_connection
    return found


def local_by_uuid(cell_conn: sa.Connection, instance_uuid: str) -> Found:
    return load_in_cell(cell_conn, instance_uuid)


def local_by_address(cell_conn: sa.Connection, address: str) -> Found:
    matches = uuids_with_address(cell_conn, address)
    if len(matches) != 1:
        raise exception.InstanceNotFound(instance_id=address)
    return load_in_cell(cell_conn, matches[0])
