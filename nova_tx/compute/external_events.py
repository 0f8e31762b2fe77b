"""Events other services send about servers (``os-server-external-events``): Neutron's
``network-changed``, ``network-vif-plugged``, ``-unplugged`` and ``-deleted``, Cinder's
``volume-extended`` and ``volume-reimaged``, Ironic's ``power-update`` and Cyborg's
``accelerator-request-bound``.

Nova's ``compute.api.API.external_instance_event``: the events are collated by the
host of their server and cast to each host's compute (``external_instance_event``),
one cast per host. ``volume-extended`` and ``power-update`` also start an instance
action (``extend_volume``; ``start`` or ``stop`` by the ``POWER_ON``/``POWER_OFF``
tag) so that the user can follow them; a ``power-update`` with another tag is
dropped with a warning, as in Nova.

Nova also sends an event to the source and destination hosts of a server being
moved (its migration context); nova-tx has no moves yet, so the server's host is the
only one.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import cell_mappings
from nova_tx.db.api import models as api_models
from nova_tx.db.cells import CellEngines
from nova_tx.db.main import instance_actions, instances
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping
from nova_tx.objects.instance import Instance

LOG = logging.getLogger(__name__)

#: Nova's ``InstanceExternalEvent`` object version (1.5: ``volume-reimaged``, Zed).
EVENT_OBJECT_VERSION = "1.5"
EVENT_STATUSES = ("failed", "completed", "in-progress")
#: Events that mean nothing without a tag (Nova's ``TAG_REQUIRED``).
TAG_REQUIRED = ("volume-extended", "power-update", "accelerator-request-bound")
POWER_ON, POWER_OFF = "POWER_ON", "POWER_OFF"
#: Instance actions started by an event (Nova's instance_actions names).
EXTEND_VOLUME, START, STOP = "extend_volume", "start", "stop"

_mappings = api_models.InstanceMapping.__table__


@dataclasses.dataclass(frozen=True)
class ExternalEvent:
    instance_uuid: str
    name: str
    status: str = "completed"
    tag: str | None = None

    def to_primitive(self) -> dict[str, Any]:
        data = {"instance_uuid": self.instance_uuid, "name": self.name,
                "status": self.status, "tag": self.tag}
        return {"nova_object.name": "InstanceExternalEvent",
                "nova_object.namespace": "nova",
                "nova_object.version": EVENT_OBJECT_VERSION,
                "nova_object.data": data, "nova_object.changes": sorted(data)}


@dataclasses.dataclass
class Target:
    """A server an event is for, and its cell."""

    instance: Instance
    cell: CellMapping


class ExternalEventsAPI:
    """``api_db``: the API database's DBThreadPool; ``cells``: the CellEngines;
    ``compute_rpcapi``: the compute RPC client the events are cast with."""

    def __init__(self, api_db, cells: CellEngines, conf, compute_rpcapi):
        self.api_db = api_db
        self.cells = cells
        self.conf = conf
        self.compute_rpcapi = compute_rpcapi

    def _base_urls(self) -> BaseUrls | None:
        try:
            return BaseUrls.from_conf(self.conf)
        except Exception:  # the options are not registered in this process
            return None

    async def get_targets(self, instance_uuids: Iterable[str]) -> dict[str, Target]:
        """The live servers among ``instance_uuids`` that are in a cell, by uuid."""
        return await self.api_db.do(self._get_targets, sorted(set(instance_uuids)))

    def _get_targets(self, api_conn: sa.Connection, uuids: list[str]) -> dict[str, Target]:
        if not uuids:
            return {}
        by_cell: dict[int, list[str]] = collections.defaultdict(list)
        for uuid, cell_id in api_conn.execute(
                sa.select(_mappings.c.instance_uuid, _mappings.c.cell_id)
                .where(_mappings.c.instance_uuid.in_(uuids))):
            if cell_id is not None:
                by_cell[cell_id].append(uuid)
        if not by_cell:
            return {}
        cells = {cell.id: cell for cell in cell_mappings.get_all(
            api_conn, base_urls=self._base_urls())}
        found: dict[str, Target] = {}
        for cell_id, cell_uuids in by_cell.items():
            cell = cells.get(cell_id)
            if cell is None or not cell.database_connection:
                continue
            with self.cells.engine(cell.database_connection).connect() as conn:
                for uuid in cell_uuids:
                    try:
                        found[uuid] = Target(instances.get(conn, uuid), cell)
                    except exception.InstanceNotFound:
                        continue
        return found

    async def send(self, context, events: Sequence[ExternalEvent],
                   targets: dict[str, Target]) -> None:
        """Record the actions some events start, then cast each host its events."""
        to_send: list[ExternalEvent] = []
        actions: list[tuple[Target, str]] = []
        for event in events:
            target = targets[event.instance_uuid]
            if event.name == "volume-extended":
                actions.append((target, EXTEND_VOLUME))
            elif event.name == "power-update":
                if event.tag == POWER_ON:
                    actions.append((target, START))
                elif event.tag == POWER_OFF:
                    actions.append((target, STOP))
                else:
                    LOG.warning("Invalid power state %s. Cannot process the event %s. "
                                "Skipping it.", event.tag, event)
                    continue
            to_send.append(event)
        if actions:
            await self.api_db.do(self._record_actions, context, actions)

        instances_by_host: dict[str, dict[str, Instance]] = collections.defaultdict(dict)
        events_by_host: dict[str, list[ExternalEvent]] = collections.defaultdict(list)
        for event in to_send:
            instance = targets[event.instance_uuid].instance
            instances_by_host[instance.host][instance.uuid] = instance
            events_by_host[instance.host].append(event)
        for host, host_instances in instances_by_host.items():
            await self.compute_rpcapi.external_instance_event(
                context, list(host_instances.values()), events_by_host[host], host=host)

    def _record_actions(self, api_conn: sa.Connection, context,
                        actions: list[tuple[Target, str]]) -> None:
        for target, action in actions:
            with self.cells.engine(target.cell.database_connection).begin() as conn:
                instance_actions.create(
                    conn, action=action, instance_uuid=target.instance.uuid,
                    request_id=context.request_id, user_id=context.user_id,
                    project_id=context.project_id)
