"""What ``os-simple-tenant-usage`` reads from a cell: the instances that ran during a
period (Nova's ``instance_get_active_by_window_joined``).

Deleted instances are included (they are what was billed), as in Nova: an instance
counts when it launched before the period's end and was not terminated before its
start. Pages are in (``project_id``, ``uuid``) order.
"""
from __future__ import annotations

import dataclasses
import datetime
import json

import sqlalchemy as sa

from nova_tx.db.main import models
from nova_tx.objects import request_spec
from nova_tx.objects.flavor import Flavor

instances = models.Instance.__table__
instance_extra = models.InstanceExtra.__table__


@dataclasses.dataclass(frozen=True)
class UsageInstance:
    uuid: str
    project_id: str | None
    display_name: str | None
    vm_state: str | None
    launched_at: datetime.datetime | None
    terminated_at: datetime.datetime | None
    deleted: bool
    instance_type_id: int | None
    #: The flavor the instance has (instance_extra), None when it has none recorded.
    flavor: Flavor | None

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.project_id or "", self.uuid)


def _flavor(text: str | None) -> Flavor | None:
    if not text:
        return None
    current = json.loads(text).get("cur")
    return request_spec.flavor_from_primitive(current) if current else None


def get_active_by_window(conn: sa.Connection, begin: datetime.datetime,
                         end: datetime.datetime, *, project_id: str | None = None,
                         limit: int | None = None,
                         after: tuple[str, str] | None = None) -> list[UsageInstance]:
    """Instances active between ``begin`` and ``end`` (of ``project_id``, or all),
    at most ``limit``, those past the (project_id, uuid) ``after`` only."""
    stmt = (sa.select(instances.c.uuid, instances.c.project_id, instances.c.display_name,
                      instances.c.vm_state, instances.c.launched_at,
                      instances.c.terminated_at, instances.c.deleted,
                      instances.c.instance_type_id, instance_extra.c.flavor)
            .select_from(instances.outerjoin(
                instance_extra, instance_extra.c.instance_uuid == instances.c.uuid))
            .where(sa.or_(instances.c.terminated_at.is_(None),
                          instances.c.terminated_at > begin))
            .where(instances.c.launched_at < end))
    if project_id is not None:
        stmt = stmt.where(instances.c.project_id == project_id)
    if after is not None:
        marker_project, marker_uuid = after
        stmt = stmt.where(sa.or_(
            instances.c.project_id > marker_project,
            sa.and_(instances.c.project_id == marker_project,
                    instances.c.uuid > marker_uuid)))
    stmt = stmt.order_by(instances.c.project_id, instances.c.uuid)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [UsageInstance(uuid=row.uuid, project_id=row.project_id,
                          display_name=row.display_name, vm_state=row.vm_state,
                          launched_at=row.launched_at, terminated_at=row.terminated_at,
                          deleted=bool(row.deleted), instance_type_id=row.instance_type_id,
                          flavor=_flavor(row.flavor))
            for row in conn.execute(stmt)]


def get_sort_values(conn: sa.Connection, instance_uuid: str) -> tuple[str, str] | None:
    """(project_id, uuid) of the instance ``instance_uuid``, deleted or not."""
    row = conn.execute(sa.select(instances.c.project_id, instances.c.uuid)
                       .where(instances.c.uuid == instance_uuid)).first()
    return None if row is None else (row.project_id or "", row.uuid)
