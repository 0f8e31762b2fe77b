"""Traits: the standard ones of os-traits and CUSTOM_ ones; provider traits."""
from __future__ import annotations

import os_traits
import sqlalchemy as sa

from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.placement.models import rp_traits, traits
from nova_tx.db.types import utcnow
from nova_tx.placement import exception
from nova_tx.placement.objects import ResourceProvider, Trait
from nova_tx.placement.storage import resource_providers

CUSTOM_PREFIX = os_traits.CUSTOM_NAMESPACE


def is_custom(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX)


def sync_standard(conn: sa.Connection) -> None:
    """Insert the standard traits this os-traits knows and the table lacks.

    Traits os-traits no longer lists stay: providers may still carry them.
    """
    have = {row.name for row in conn.execute(sa.select(traits.c.name))}
    now = utcnow()
    missing = [{"name": name, "created_at": now}
               for name in os_traits.get_traits() if name not in have]
    if missing:
        try:
            with conn.begin_nested():
                conn.execute(traits.insert(), missing)
        except (DBDuplicateEntry, sa.exc.IntegrityError):
            pass  # another process synchronised them first


def get_all(conn: sa.Connection, *, names: list[str] | None = None,
            prefix: str | None = None, associated: bool | None = None) -> list[Trait]:
    """Traits, optionally only ``names``, those starting with ``prefix``, and those
    (not) associated with a provider."""
    query = sa.select(traits).order_by(traits.c.name)
    if names is not None:
        query = query.where(traits.c.name.in_(names))
    if prefix is not None:
        query = query.where(traits.c.name.startswith(prefix, autoescape=True))
    if associated is not None:
        linked = sa.select(rp_traits.c.trait_id)
        query = query.where(traits.c.id.in_(linked) if associated
                            else traits.c.id.not_in(linked))
    return [Trait(r.name, r.created_at, r.updated_at) for r in conn.execute(query)]


def get(conn: sa.Connection, name: str) -> Trait:
    row = conn.execute(sa.select(traits).where(traits.c.name == name)).one_or_none()
    if row is None:
        raise exception.NotFound(f"No such trait(s): {name}.")
    return Trait(row.name, row.created_at, row.updated_at)


def ids_by_name(conn: sa.Connection, names) -> dict[str, int]:
    """Ids of ``names``; raises TraitNotFound naming every unknown one."""
    names = set(names)
    if not names:
        return {}
    found = {row.name: row.id for row in conn.execute(
        sa.select(traits.c.id, traits.c.name).where(traits.c.name.in_(names)))}
    missing = names - set(found)
    if missing:
        raise exception.TraitNotFound(missing)
    return found


def ensure(conn: sa.Connection, name: str) -> bool:
    """Create custom trait ``name`` unless it exists; True when created."""
    if conn.execute(sa.select(traits.c.id).where(traits.c.name == name)).first() is not None:
        return False
    try:
        with conn.begin_nested():
            conn.execute(traits.insert().values(name=name, created_at=utcnow()))
    except DBDuplicateEntry:
        return False
    return True


def delete(conn: sa.Connection, name: str) -> None:
    if not is_custom(name):
        raise exception.BadRequest(f"Cannot delete standard trait {name}.")
    trait_id = conn.execute(sa.select(traits.c.id).where(traits.c.name == name)).scalar()
    if trait_id is None:
        raise exception.NotFound(f"No such trait(s): {name}.")
    if conn.execute(sa.select(rp_traits.c.trait_id)
                    .where(rp_traits.c.trait_id == trait_id).limit(1)).first():
        raise exception.Conflict(f"The trait {name} is in use by a resource provider.")
    conn.execute(traits.delete().where(traits.c.id == trait_id))


def names_for_providers(conn: sa.Connection, rp_ids) -> dict[int, list[str]]:
    """Provider id -> sorted trait names, for ``rp_ids``."""
    rp_ids = list(rp_ids)
    result: dict[int, list[str]] = {rp_id: [] for rp_id in rp_ids}
    for chunk in _chunks(rp_ids):
        rows = conn.execute(
            sa.select(rp_traits.c.resource_provider_id, traits.c.name)
            .join(traits, traits.c.id == rp_traits.c.trait_id)
            .where(rp_traits.c.resource_provider_id.in_(chunk)))
        for row in rows:
            result[row.resource_provider_id].append(row.name)
    for names in result.values():
        names.sort()
    return result


def get_for_provider(conn: sa.Connection, rp: ResourceProvider) -> list[str]:
    return names_for_providers(conn, [rp.id])[rp.id]


def set_for_provider(conn: sa.Connection, rp: ResourceProvider, names: list[str],
                     generation: int | None) -> int:
    """Replace ``rp``'s traits; returns the provider's new generation.

    ``generation`` is what the client believes (checked unless None).
    """
    ids = ids_by_name(conn, names)
    new_generation = resource_providers.increment_generation(conn, rp, generation)
    _replace(conn, rp.id, set(ids.values()))
    return new_generation


def _replace(conn: sa.Connection, rp_id: int, trait_ids: set[int]) -> None:
    have = {row.trait_id for row in conn.execute(
        sa.select(rp_traits.c.trait_id).where(rp_traits.c.resource_provider_id == rp_id))}
    gone = have - trait_ids
    if gone:
        conn.execute(rp_traits.delete().where(
            rp_traits.c.resource_provider_id == rp_id, rp_traits.c.trait_id.in_(gone)))
    new = trait_ids - have
    if new:
        now = utcnow()
        conn.execute(rp_traits.insert(), [
            {"resource_provider_id": rp_id, "trait_id": t, "created_at": now} for t in new])


def _chunks(values: list, size: int = 500):
    for i in range(0, len(values), size):
        yield values[i:i + size]
