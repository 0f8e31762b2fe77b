"""Resource classes: the standard ones of os-resource-classes and CUSTOM_ ones."""
from __future__ import annotations

import re

import os_resource_classes
import sqlalchemy as sa

from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.placement.models import inventories, resource_classes
from nova_tx.db.types import utcnow
from nova_tx.placement import exception
from nova_tx.placement.objects import ResourceClass

#: Custom classes get ids from here on; below are the standard ones (Placement's rule).
CUSTOM_START_ID = 10000

CUSTOM_NAME = re.compile(r"^CUSTOM_[A-Z0-9_]+$")


def is_custom(name: str) -> bool:
    return name.startswith(os_resource_classes.CUSTOM_NAMESPACE)


def sync_standard(conn: sa.Connection) -> None:
    """Insert the standard classes this os-resource-classes knows and the table lacks."""
    have = {row.id for row in conn.execute(
        sa.select(resource_classes.c.id).where(resource_classes.c.id < CUSTOM_START_ID))}
    missing = [{"id": i, "name": name, "created_at": utcnow()}
               for i, name in enumerate(os_resource_classes.STANDARDS) if i not in have]
    if not missing:
        return
    mysql = conn.dialect.name in ("mysql", "mariadb")
    if mysql:
        # VCPU's id is 0, which MySQL takes for "next auto-increment value" unless told.
        conn.exec_driver_sql("SET @nova_tx_sql_mode = @@SESSION.sql_mode")
        conn.exec_driver_sql(
            "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
    try:
        with conn.begin_nested():
            conn.execute(resource_classes.insert(), missing)
    except (DBDuplicateEntry, sa.exc.IntegrityError):
        pass  # another process synchronised them first
    finally:
        if mysql:
            conn.exec_driver_sql("SET SESSION sql_mode = @nova_tx_sql_mode")


def _row(row) -> ResourceClass:
    return ResourceClass(name=row.name, created_at=row.created_at, updated_at=row.updated_at)


def get_all(conn: sa.Connection) -> list[ResourceClass]:
    rows = conn.execute(sa.select(resource_classes).order_by(resource_classes.c.id))
    return [_row(r) for r in rows]


def get(conn: sa.Connection, name: str) -> ResourceClass:
    row = conn.execute(
        sa.select(resource_classes).where(resource_classes.c.name == name)).one_or_none()
    if row is None:
        raise exception.ResourceClassNotFound(name)
    return _row(row)


def ids_by_name(conn: sa.Connection, names) -> dict[str, int]:
    """Ids of ``names``; raises ResourceClassNotFound naming the first unknown one."""
    names = set(names)
    if not names:
        return {}
    found = {row.name: row.id for row in conn.execute(
        sa.select(resource_classes.c.id, resource_classes.c.name)
        .where(resource_classes.c.name.in_(names)))}
    for name in sorted(names):
        if name not in found:
            raise exception.ResourceClassNotFound(name)
    return found


def names_by_id(conn: sa.Connection) -> dict[int, str]:
    return {row.id: row.name for row in conn.execute(
        sa.select(resource_classes.c.id, resource_classes.c.name))}


def create(conn: sa.Connection, name: str) -> ResourceClass:
    """Create custom class ``name``; raises Conflict when it exists."""
    if conn.execute(sa.select(resource_classes.c.id)
                    .where(resource_classes.c.name == name)).first() is not None:
        raise exception.Conflict(f"Conflicting resource class already exists: {name}",
                                 code=exception.DUPLICATE_NAME)
    top = conn.execute(sa.select(sa.func.max(resource_classes.c.id))).scalar() or 0
    now = utcnow()
    try:
        with conn.begin_nested():
            conn.execute(resource_classes.insert().values(
                id=max(top + 1, CUSTOM_START_ID), name=name, created_at=now))
    except DBDuplicateEntry:
        raise exception.Conflict(f"Conflicting resource class already exists: {name}",
                                 code=exception.DUPLICATE_NAME) from None
    return ResourceClass(name=name, created_at=now)


def ensure(conn: sa.Connection, name: str) -> bool:
    """Create custom class ``name`` unless it exists; True when created."""
    try:
        get(conn, name)
        return False
    except exception.ResourceClassNotFound:
        pass
    try:
        create(conn, name)
    except exception.Conflict:
        return False
    return True


def update(conn: sa.Connection, name: str, new_name: str) -> ResourceClass:
    """Rename custom class ``name`` (microversions 1.2 to 1.6)."""
    if not is_custom(name):
        raise exception.BadRequest(f"Cannot update standard resource class {name}")
    get(conn, name)
    if conn.execute(sa.select(resource_classes.c.id)
                    .where(resource_classes.c.name == new_name)).first() is not None:
        raise exception.Conflict(
            f"Resource class already exists: {new_name}", code=exception.DUPLICATE_NAME)
    now = utcnow()
    conn.execute(resource_classes.update().where(resource_classes.c.name == name)
                 .values(name=new_name, updated_at=now))
    return get(conn, new_name)


def delete(conn: sa.Connection, name: str) -> None:
    if not is_custom(name):
        raise exception.BadRequest(
            f"Error in delete resource class '{name}': Cannot delete standard resource "
            f"class {name}: Class is a standard resource class")
    rc_id = ids_by_name(conn, [name])[name]
    in_use = conn.execute(sa.select(inventories.c.id)
                          .where(inventories.c.resource_class_id == rc_id).limit(1)).first()
    if in_use is not None:
        raise exception.Conflict(
            f"Error in delete resource class '{name}': Cannot delete resource class "
            f"{name}. Class is in use in inventory.")
    conn.execute(resource_classes.delete().where(resource_classes.c.id == rc_id))
