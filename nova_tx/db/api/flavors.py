"""Queries of ``flavors``, ``flavor_extra_specs`` and ``flavor_projects``: plain functions
of a Connection, returning :class:`~nova_tx.objects.flavor.Flavor` dataclasses.

Visibility is Nova's (``Flavor._flavor_get_query_from_db``): an admin sees every
flavor; anyone else sees the public ones and the private ones their project was given
access to. Callers say which with ``admin`` and ``project_id``.
"""
from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import models
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.types import utcnow
from nova_tx.objects.flavor import Flavor

flavors = models.Flavors.__table__
extra_specs = models.FlavorExtraSpecs.__table__
projects = models.FlavorProjects.__table__

#: The keys ``GET /flavors?sort_key=`` accepts (Nova's), by column.
SORT_KEYS = ("created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id",
             "is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap",
             "updated_at", "vcpu_weight", "vcpus")

# NULL sorts as this value, so that every backend pages through NULLs the same way.
_NULL_AS = {
    "description": "", "created_at": datetime.datetime(1970, 1, 1),
    "updated_at": datetime.datetime(1970, 1, 1), "disabled": False, "is_public": False,
}


def _int(value: Any) -> int:
    # Nova's Flavor object reads NULL integer columns as 0.
    return int(value) if value is not None else 0


def from_row(row: sa.Row, specs: dict[str, str] | None = None,
             members: list[str] | None = None) -> Flavor:
    m = row._mapping
    return Flavor(
        id=m["id"], flavorid=m["flavorid"], name=m["name"], memory_mb=_int(m["memory_mb"]),
        vcpus=_int(m["vcpus"]), root_gb=_int(m["root_gb"]),
        ephemeral_gb=_int(m["ephemeral_gb"]), swap=_int(m["swap"]),
        rxtx_factor=float(m["rxtx_factor"]) if m["rxtx_factor"] is not None else 0.0,
        vcpu_weight=_int(m["vcpu_weight"]), disabled=bool(m["disabled"]),
        is_public=bool(m["is_public"]), description=m["description"],
        extra_specs=specs, projects=members,
        created_at=m["created_at"], updated_at=m["updated_at"])


def _visible(admin: bool, project_id: str | None) -> sa.ColumnElement[bool] | None:
    if admin:
        return None
    has_access = sa.exists().where(projects.c.flavor_id == flavors.c.id,
                                   projects.c.project_id == project_id)
    return sa.or_(flavors.c.is_public.is_(True), has_access)


def _extra_specs_of(conn: sa.Connection, ids: Iterable[int]) -> dict[int, dict[str, str]]:
    ids = list(ids)
    found: dict[int, dict[str, str]] = {i: {} for i in ids}
    if ids:
        rows = conn.execute(sa.select(extra_specs.c.flavor_id, extra_specs.c.key,
                                      extra_specs.c.value)
                            .where(extra_specs.c.flavor_id.in_(ids))
                            .order_by(extra_specs.c.key))
        for flavor_id, key, value in rows:
            found[flavor_id][key] = value
    return found


def _projects_of(conn: sa.Connection, flavor_id: int) -> list[str]:
    rows = conn.execute(sa.select(projects.c.project_id)
                        .where(projects.c.flavor_id == flavor_id).order_by(projects.c.id))
    return [r[0] for r in rows]


def _row_by_flavorid(conn: sa.Connection, flavorid: str, *, admin: bool = True,
                     project_id: str | None = None) -> sa.Row:
    query = sa.select(flavors).where(flavors.c.flavorid == str(flavorid))
    visible = _visible(admin, project_id)
    if visible is not None:
        query = query.where(visible)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise exception.FlavorNotFound(flavor_id=flavorid)
    return row


def get_by_flavorid(conn: sa.Connection, flavorid: str, *, admin: bool = True,
                    project_id: str | None = None) -> Flavor:
    """The flavor ``flavorid`` with its extra specs and projects; FlavorNotFound when
    there is none, or none the caller may see."""
    row = _row_by_flavorid(conn, flavorid, admin=admin, project_id=project_id)
    return from_row(row, _extra_specs_of(conn, [row.id])[row.id],
                    _projects_of(conn, row.id))


def _sort_expression(key: str) -> sa.ColumnElement:
    column = flavors.c[key]
    if key in _NULL_AS:
        return sa.func.coalesce(column, sa.literal(_NULL_AS[key], column.type))
    if column.nullable:
        return sa.func.coalesce(column, 0)
    return column


def get_all(conn: sa.Connection, *, admin: bool = True, project_id: str | None = None,
            is_public: bool | None = None, disabled: bool | None = None,
            min_memory_mb: int | None = None, min_root_gb: int | None = None,
            sort_key: str = "flavorid", sort_dir: str = "asc", limit: int | None = None,
            marker: str | None = None) -> list[Flavor]:
    """Flavors with their extra specs (projects not loaded), as Nova's
    ``FlavorList.get_all``: ``is_public=True`` means public *or* shared with
    ``project_id``; None means both. ``marker`` is a flavorid (MarkerNotFound)."""
    if sort_key not in SORT_KEYS:
        raise exception.InvalidInput(reason=f"Invalid sort key {sort_key}")
    query = sa.select(flavors)
    visible = _visible(admin, project_id)
    if visible is not None:
        query = query.where(visible)
    if min_memory_mb is not None:
        query = query.where(flavors.c.memory_mb >= min_memory_mb)
    if min_root_gb is not None:
        query = query.where(flavors.c.root_gb >= min_root_gb)
    if disabled is not None:
        query = query.where(flavors.c.disabled.is_(disabled))
    if is_public is not None:
        condition = flavors.c.is_public.is_(is_public)
        if is_public and project_id is not None:
            condition = sa.or_(condition, sa.exists().where(
                projects.c.flavor_id == flavors.c.id, projects.c.project_id == project_id))
        query = query.where(condition)
    expression = _sort_expression(sort_key)
    descending = sort_dir == "desc"
    if marker is not None:
        marker_query = sa.select(expression.label("key"), flavors.c.id).where(
            flavors.c.flavorid == str(marker))
        if visible is not None:
            marker_query = marker_query.where(visible)
        marker_row = conn.execute(marker_query).one_or_none()
        if marker_row is None:
            raise exception.MarkerNotFound(marker=marker)
        key, row_id = marker_row
        if descending:
            query = query.where(sa.or_(expression < key,
                                       sa.and_(expression == key, flavors.c.id < row_id)))
        else:
            query = query.where(sa.or_(expression > key,
                                       sa.and_(expression == key, flavors.c.id > row_id)))
    if descending:
        query = query.order_by(expression.desc(), flavors.c.id.desc())
    else:
        query = query.order_by(expression.asc(), flavors.c.id.asc())
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    specs = _extra_specs_of(conn, [r.id for r in rows])
    return [from_row(r, specs[r.id]) for r in rows]


def create(conn: sa.Connection, flavor: Flavor) -> Flavor:
    """Insert ``flavor`` (its extra specs and projects too); FlavorIdExists or
    FlavorExists when the id or the name is taken."""
    values = {
        "flavorid": flavor.flavorid, "name": flavor.name, "memory_mb": flavor.memory_mb,
        "vcpus": flavor.vcpus, "root_gb": flavor.root_gb,
        "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
        "rxtx_factor": flavor.rxtx_factor, "vcpu_weight": flavor.vcpu_weight or None,
        "disabled": flavor.disabled, "is_public": flavor.is_public,
        "description": flavor.description, "created_at": utcnow(),
    }
    # A name or id taken is checked first so that every backend (and a driver message
    # that does not name the column) gives the same answer.
    taken = conn.execute(sa.select(flavors.c.flavorid, flavors.c.name).where(sa.or_(
        flavors.c.flavorid == flavor.flavorid, flavors.c.name == flavor.name))).all()
    if any(r.flavorid == flavor.flavorid for r in taken):
        raise exception.FlavorIdExists(flavor_id=flavor.flavorid)
    if taken:
        raise exception.FlavorExists(name=flavor.name)
    try:
        with conn.begin_nested():
            conn.execute(flavors.insert().values(**values))
    except (DBDuplicateEntry, sa.exc.IntegrityError) as e:
        columns = getattr(e, "columns", [])
        if "flavorid" in columns:
            raise exception.FlavorIdExists(flavor_id=flavor.flavorid) from None
        raise exception.FlavorExists(name=flavor.name) from None
    if flavor.extra_specs:
        update_extra_specs(conn, flavor.flavorid, flavor.extra_specs)
    for project_id in flavor.projects or ():
        add_access(conn, flavor.flavorid, project_id)
    created = get_by_flavorid(conn, flavor.flavorid)
    return created.replace(extra_specs=flavor.extra_specs, projects=list(flavor.projects or []))


def destroy(conn: sa.Connection, flavorid: str) -> Flavor:
    """Remove the flavor, its extra specs and its access list; the flavor as it was
    (without them: Nova's notification leaves them out). FlavorNotFound."""
    row = _row_by_flavorid(conn, flavorid)
    conn.execute(extra_specs.delete().where(extra_specs.c.flavor_id == row.id))
    conn.execute(projects.delete().where(projects.c.flavor_id == row.id))
    conn.execute(flavors.delete().where(flavors.c.id == row.id))
    return from_row(row)


def update_description(conn: sa.Connection, flavorid: str, description: str | None
                       ) -> Flavor:
    row = _row_by_flavorid(conn, flavorid)
    conn.execute(flavors.update().where(flavors.c.id == row.id)
                 .values(description=description, updated_at=utcnow()))
    return get_by_flavorid(conn, flavorid)


def update_extra_specs(conn: sa.Connection, flavorid: str, specs: Mapping[str, str]
                       ) -> Flavor:
    """Add or replace ``specs`` (the others stay)."""
    row = _row_by_flavorid(conn, flavorid)
    existing = _extra_specs_of(conn, [row.id])[row.id]
    now = utcnow()
    for key, value in specs.items():
        if key in existing:
            conn.execute(extra_specs.update()
                         .where(extra_specs.c.flavor_id == row.id, extra_specs.c.key == key)
                         .values(value=value, updated_at=now))
        else:
            conn.execute(extra_specs.insert().values(flavor_id=row.id, key=key, value=value,
                                                     created_at=now))
    return get_by_flavorid(conn, flavorid)


def delete_extra_spec(conn: sa.Connection, flavorid: str, key: str) -> Flavor:
    """Remove one extra spec; FlavorExtraSpecsNotFound when the flavor has no such key."""
    row = _row_by_flavorid(conn, flavorid)
    result = conn.execute(extra_specs.delete().where(extra_specs.c.flavor_id == row.id,
                                                     extra_specs.c.key == key))
    if not result.rowcount:
        raise exception.FlavorExtraSpecsNotFound(flavor_id=flavorid, extra_specs_key=key)
    return get_by_flavorid(conn, flavorid)


def add_access(conn: sa.Connection, flavorid: str, project_id: str) -> Flavor:
    """Give ``project_id`` access; FlavorAccessExists when it has it already."""
    row = _row_by_flavorid(conn, flavorid)
    if project_id in _projects_of(conn, row.id):
        raise exception.FlavorAccessExists(flavor_id=flavorid, project_id=project_id)
    try:
        with conn.begin_nested():
            conn.execute(projects.insert().values(flavor_id=row.id, project_id=project_id,
                                                  created_at=utcnow()))
    except (DBDuplicateEntry, sa.exc.IntegrityError):
        raise exception.FlavorAccessExists(flavor_id=flavorid,
                                           project_id=project_id) from None
    return get_by_flavorid(conn, flavorid)


def remove_access(conn: sa.Connection, flavorid: str, project_id: str) -> Flavor:
    """Take access away; FlavorAccessNotFound when ``project_id`` had none."""
    row = _row_by_flavorid(conn, flavorid)
    result = conn.execute(projects.delete().where(projects.c.flavor_id == row.id,
                                                  projects.c.project_id == project_id))
    if not result.rowcount:
        raise exception.FlavorAccessNotFound(flavor_id=flavorid, project_id=project_id)
    return get_by_flavorid(conn, flavorid)
