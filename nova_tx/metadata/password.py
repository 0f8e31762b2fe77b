"""The guest's encrypted password, kept in system metadata as Nova keeps it: four
chunks ``password_0`` .. ``password_3`` of at most 255 characters (1020 in all).

The guest writes it once (a second write is a conflict until the owner clears it
through ``os-server-password``); the value is opaque to nova-tx.
"""
from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.main import instances, models
from nova_tx.metadata.errors import PasswordAlreadySet, PasswordTooLarge

CHUNKS = 4
CHUNK_LENGTH = 255
MAX_SIZE = CHUNKS * CHUNK_LENGTH


def extract(system_metadata: Mapping[str, str]) -> str | None:
    """The stored password, None when none is set."""
    result = "".join(system_metadata[key] or "" for key in sorted(system_metadata)
                     if key.startswith("password_"))
    return result or None


def chunks(password: str | None) -> dict[str, str]:
    """The system metadata items that store ``password`` (None: clear it)."""
    password = password or ""
    found = {}
    for number in range(CHUNKS):
        found["password_%d" % number] = password[:CHUNK_LENGTH]
        password = password[CHUNK_LENGTH:]
    return found


def _lock_instance(conn: sa.Connection, instance_uuid: str) -> None:
    """Serialise writers of one instance's password (a row lock where the database
    has them; SQLite serialises writers anyway)."""
    table = models.Instance.__table__
    found = conn.execute(sa.select(table.c.id).where(
        table.c.uuid == instance_uuid, table.c.deleted == 0).with_for_update()).first()
    if found is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)


def set_once(conn: sa.Connection, instance_uuid: str, password: str) -> None:
    """Store the guest's password unless one is stored (PasswordAlreadySet)."""
    if len(password) > MAX_SIZE:
        raise PasswordTooLarge()
    _lock_instance(conn, instance_uuid)
    if extract(instances.get_system_metadata(conn, instance_uuid)):
        raise PasswordAlreadySet()
    instances.update_system_metadata(conn, instance_uuid, chunks(password))


def clear(conn: sa.Connection, instance_uuid: str) -> None:
    _lock_instance(conn, instance_uuid)
    instances.update_system_metadata(conn, instance_uuid, chunks(None))
