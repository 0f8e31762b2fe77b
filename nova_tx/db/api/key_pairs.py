"""Queries of ``key_pairs``: plain functions of a Connection, returning KeyPair objects.

A key pair belongs to a user (not a project) and is named uniquely per user; lists
are sorted by name, which is also the pagination marker (microversion 2.35).
"""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import models
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.types import utcnow
from nova_tx.objects.keypair import KEYPAIR_TYPE_SSH, KeyPair

key_pairs = models.KeyPair.__table__

_COLUMNS = (key_pairs.c.id, key_pairs.c.name, key_pairs.c.user_id, key_pairs.c.fingerprint,
            key_pairs.c.public_key, key_pairs.c.type, key_pairs.c.created_at,
            key_pairs.c.updated_at)


def _from_row(row: sa.Row) -> KeyPair:
    return KeyPair(id=row.id, name=row.name, user_id=row.user_id,
                   fingerprint=row.fingerprint, public_key=row.public_key,
                   type=row.type, created_at=row.created_at, updated_at=row.updated_at)


def create(conn: sa.Connection, *, user_id: str, name: str, fingerprint: str | None,
           public_key: str | None, type: str = KEYPAIR_TYPE_SSH) -> KeyPair:
    """Store a new key pair; raises KeyPairExists when the user has one of that name."""
    now = utcnow()
    try:
        result = conn.execute(key_pairs.insert().values(
            user_id=user_id, name=name, fingerprint=fingerprint, public_key=public_key,
            type=type, created_at=now))
    except DBDuplicateEntry:
        raise exception.KeyPairExists(key_name=name) from None
    return KeyPair(id=result.inserted_primary_key[0], name=name, user_id=user_id,
                   fingerprint=fingerprint, public_key=public_key, type=type,
                   created_at=now)


def get_by_name(conn: sa.Connection, user_id: str, name: str) -> KeyPair:
    """The user's key pair ``name``; raises KeypairNotFound."""
    row = conn.execute(sa.select(*_COLUMNS).where(
        key_pairs.c.user_id == user_id, key_pairs.c.name == name)).one_or_none()
    if row is None:
        raise exception.KeypairNotFound(user_id=user_id, name=name)
    return _from_row(row)


def get_by_user(conn: sa.Connection, user_id: str, *, limit: int | None = None,
                marker: str | None = None) -> list[KeyPair]:
    """The user's key pairs by name, those after ``marker`` (a name; MarkerNotFound
    when the user has no key pair of that name), at most ``limit``."""
    query = sa.select(*_COLUMNS).where(key_pairs.c.user_id == user_id)
    if marker is not None:
        found = conn.execute(sa.select(key_pairs.c.id).where(
            key_pairs.c.user_id == user_id, key_pairs.c.name == marker)).first()
        if found is None:
            raise exception.MarkerNotFound(marker=marker)
        query = query.where(key_pairs.c.name > marker)
    query = query.order_by(key_pairs.c.name.asc(), key_pairs.c.id.asc())
    if limit is not None:
        query = query.limit(limit)
    return [_from_row(row) for row in conn.execute(query)]


def count_by_user(conn: sa.Connection, user_id: str) -> int:
    """How many key pairs the user has (the ``key_pairs`` quota counts these)."""
    return conn.execute(sa.select(sa.func.count()).select_from(key_pairs)
                        .where(key_pairs.c.user_id == user_id)).scalar_one()


def destroy_by_name(conn: sa.Connection, user_id: str, name: str) -> None:
    """Delete the user's key pair ``name``; raises KeypairNotFound."""
    result = conn.execute(key_pairs.delete().where(
        key_pairs.c.user_id == user_id, key_pairs.c.name == name))
    if result.rowcount == 0:
        raise exception.KeypairNotFound(user_id=user_id, name=name)
