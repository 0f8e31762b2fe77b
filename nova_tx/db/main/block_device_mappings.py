"""Queries of ``block_device_mapping``: the disks of the instances of one cell.

The conductor writes a new instance's mappings (as the API validated them, Nova's
``BlockDeviceMapping`` fields) when it creates the instance in its cell; the compute
reads them to build the disks. Rows come back as dicts of the object's fields.
"""
from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from nova_tx.db.main import models
from nova_tx.db.types import utcnow

block_device_mapping = models.BlockDeviceMapping.__table__

#: The columns a mapping carries (Nova's BlockDeviceMapping fields stored as such).
FIELDS = tuple(c.name for c in block_device_mapping.columns
               if c.name not in ("id", "created_at", "updated_at", "deleted_at", "deleted"))


def create_all(conn: sa.Connection, instance_uuid: str,
               bdms: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Store the mappings of a new instance (each gets a uuid when it has none)."""
    now = utcnow()
    for bdm in bdms:
        values = {name: bdm.get(name) for name in FIELDS if name in bdm}
        values["instance_uuid"] = instance_uuid
        values["uuid"] = values.get("uuid") or str(uuidlib.uuid4())
        conn.execute(block_device_mapping.insert().values(
            created_at=now, deleted=0, **values))
    return get_by_instance_uuid(conn, instance_uuid)


def get_by_instance_uuid(conn: sa.Connection, instance_uuid: str) -> list[dict[str, Any]]:
    """The live mappings of an instance, boot order first (Nova's order)."""
    table = block_device_mapping
    rows = conn.execute(
        sa.select(table.c.id, *(table.c[n] for n in FIELDS))
        .where(table.c.instance_uuid == instance_uuid, table.c.deleted == 0)
        .order_by(table.c.id))
    return [dict(row._mapping) for row in rows]
