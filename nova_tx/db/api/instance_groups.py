"""Queries of ``instance_groups`` (server groups), with their policy row
(``instance_group_policy``: the policy and its rules as JSON) and their members
(``instance_group_member``: instance uuids). Plain functions of a Connection returning
``InstanceGroup`` objects.

Nova's API database does not soft-delete groups: deleting one removes its rows.
Lists are in creation order (``id``), which is what ``limit``/``offset`` page over.
The quota counts (groups per project and user, a user's members of a group) are in
``nova_tx.db.api.quotas`` with the other counts the quota engine makes.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import cell_mappings, models
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.types import utcnow
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping
from nova_tx.objects.instance_group import InstanceGroup

instance_groups = models.InstanceGroup.__table__
instance_group_policy = models.InstanceGroupPolicy.__table__
instance_group_member = models.InstanceGroupMember.__table__
instance_mappings = models.InstanceMapping.__table__

_COLUMNS = (instance_groups.c.id, instance_groups.c.uuid, instance_groups.c.name,
            instance_groups.c.user_id, instance_groups.c.project_id,
            instance_groups.c.created_at, instance_groups.c.updated_at)


def _rules(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        rules = json.loads(text)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in rules.items()} if isinstance(rules, dict) else {}


def _load(conn: sa.Connection, rows: list[sa.Row]) -> list[InstanceGroup]:
    """Groups of ``rows`` with their policy and members (two queries for all)."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    policies: dict[int, sa.Row] = {}
    for policy in conn.execute(
            sa.select(instance_group_policy.c.group_id, instance_group_policy.c.policy,
                      instance_group_policy.c.rules)
            .where(instance_group_policy.c.group_id.in_(ids))
            .order_by(instance_group_policy.c.id)):
        policies.setdefault(policy.group_id, policy)
    members: dict[int, list[str]] = {}
    for member in conn.execute(
            sa.select(instance_group_member.c.group_id, instance_group_member.c.instance_uuid)
            .where(instance_group_member.c.group_id.in_(ids))
            .order_by(instance_group_member.c.id)):
        members.setdefault(member.group_id, []).append(member.instance_uuid)
    groups = []
    for row in rows:
        policy = policies.get(row.id)
        groups.append(InstanceGroup(
            id=row.id, uuid=row.uuid, name=row.name, user_id=row.user_id,
            project_id=row.project_id, policy=policy.policy if policy else None,
            stored_rules=_rules(policy.rules) if policy else {},
            members=members.get(row.id, []), created_at=row.created_at,
            updated_at=row.updated_at))
    return groups


def _one(conn: sa.Connection, *where, not_found: str) -> InstanceGroup:
    row = conn.execute(sa.select(*_COLUMNS).where(*where)
                       .order_by(instance_groups.c.id)).first()
    if row is None:
        raise exception.InstanceGroupNotFound(group_uuid=not_found)
    return _load(conn, [row])[0]


def _group_id(conn: sa.Connection, group_uuid: str) -> int:
    group_id = conn.execute(sa.select(instance_groups.c.id)
                            .where(instance_groups.c.uuid == group_uuid)).scalar()
    if group_id is None:
        raise exception.InstanceGroupNotFound(group_uuid=group_uuid)
    return group_id


def create(conn: sa.Connection, group: InstanceGroup) -> InstanceGroup:
    """Store a new group with its policy and members; InstanceGroupIdExists when
    its uuid is taken."""
    now = utcnow()
    try:
        result = conn.execute(instance_groups.insert().values(
            uuid=group.uuid, name=group.name, user_id=group.user_id,
            project_id=group.project_id, created_at=now))
    except DBDuplicateEntry:
        raise exception.InstanceGroupIdExists(group_uuid=group.uuid) from None
    group_id = result.inserted_primary_key[0]
    if group.policy is not None:
        conn.execute(instance_group_policy.insert().values(
            group_id=group_id, policy=group.policy, created_at=now,
            rules=json.dumps(group.stored_rules) if group.stored_rules else None))
    _insert_members(conn, group_id, _unique(group.members), now)
    return get_by_uuid(conn, group.uuid)


def get_by_uuid(conn: sa.Connection, group_uuid: str) -> InstanceGroup:
    """The group; InstanceGroupNotFound."""
    return _one(conn, instance_groups.c.uuid == group_uuid, not_found=group_uuid)


def get_by_name(conn: sa.Connection, project_id: str, name: str) -> InstanceGroup:
    """The project's (first made) group called ``name``; InstanceGroupNotFound."""
    return _one(conn, instance_groups.c.project_id == project_id,
                instance_groups.c.name == name, not_found=name)


def get_by_instance_uuid(conn: sa.Connection, instance_uuid: str) -> InstanceGroup:
    """The group the instance is a member of; InstanceGroupNotFound (with an empty
    uuid, as Nova) when it is in none."""
    group_id = conn.execute(
        sa.select(instance_group_member.c.group_id)
        .where(instance_group_member.c.instance_uuid == instance_uuid)
        .order_by(instance_group_member.c.id)).scalar()
    if group_id is None:
        raise exception.InstanceGroupNotFound(group_uuid="")
    return _one(conn, instance_groups.c.id == group_id, not_found="")


#: The largest LIMIT and OFFSET every database takes (a signed 64-bit integer); past
#: it there are no rows anyway.
MAX_ROWS = 2 ** 63 - 1


def _list(conn: sa.Connection, *where, limit: int | None, offset: int) -> list[InstanceGroup]:
    if offset > MAX_ROWS:
        return []
    query = sa.select(*_COLUMNS).where(*where).order_by(instance_groups.c.id)
    if offset:
        query = query.offset(offset)
    if limit is not None and limit <= MAX_ROWS:
        query = query.limit(limit)
    return _load(conn, list(conn.execute(query)))


def get_by_project_id(conn: sa.Connection, project_id: str, *, limit: int | None = None,
                      offset: int = 0) -> list[InstanceGroup]:
    """The project's groups, oldest first, ``offset`` skipped, at most ``limit``."""
    return _list(conn, instance_groups.c.project_id == project_id, limit=limit,
                 offset=offset)


def get_all(conn: sa.Connection, *, limit: int | None = None,
            offset: int = 0) -> list[InstanceGroup]:
    """Every project's groups, oldest first, ``offset`` skipped, at most ``limit``."""
    return _list(conn, limit=limit, offset=offset)


def destroy(conn: sa.Connection, group_uuid: str) -> None:
    """Remove the group, its policy and its member rows; InstanceGroupNotFound."""
    group_id = _group_id(conn, group_uuid)
    conn.execute(instance_group_policy.delete()
                 .where(instance_group_policy.c.group_id == group_id))
    conn.execute(instance_group_member.delete()
                 .where(instance_group_member.c.group_id == group_id))
    conn.execute(instance_groups.delete().where(instance_groups.c.id == group_id))


def _unique(uuids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(uuids))


def _insert_members(conn: sa.Connection, group_id: int, uuids: list[str], now) -> None:
    if uuids:
        conn.execute(instance_group_member.insert(), [
            {"group_id": group_id, "instance_uuid": uuid, "created_at": now}
            for uuid in uuids])


def add_members(conn: sa.Connection, group_uuid: str,
                instance_uuids: Iterable[str]) -> list[str]:
    """Make the instances members of the group (those already members stay as they
    are); returns the uuids asked for, as Nova's ``add_members``.
    InstanceGroupNotFound. The ``server_group_members`` quota is the caller's."""
    group_id = _group_id(conn, group_uuid)
    wanted = _unique(instance_uuids)
    if not wanted:
        return []
    present = set(conn.execute(
        sa.select(instance_group_member.c.instance_uuid)
        .where(instance_group_member.c.group_id == group_id,
               instance_group_member.c.instance_uuid.in_(wanted))).scalars())
    _insert_members(conn, group_id, [u for u in wanted if u not in present], utcnow())
    return wanted


def remove_members(conn: sa.Connection, group_uuid: str,
                   instance_uuids: Iterable[str]) -> int:
    """Take the instances out of the group; returns how many were members.
    InstanceGroupNotFound."""
    group_id = _group_id(conn, group_uuid)
    wanted = _unique(instance_uuids)
    if not wanted:
        return 0
    return conn.execute(instance_group_member.delete().where(
        instance_group_member.c.group_id == group_id,
        instance_group_member.c.instance_uuid.in_(wanted))).rowcount


def remove_instance(conn: sa.Connection, instance_uuid: str) -> int:
    """Take the instance out of every group (it is being deleted); returns how many
    member rows went."""
    return conn.execute(instance_group_member.delete().where(
        instance_group_member.c.instance_uuid == instance_uuid)).rowcount


def member_cells(conn: sa.Connection, instance_uuids: Iterable[str], *,
                 base_urls: BaseUrls | None = None) -> dict[str, CellMapping | None]:
    """Where the members live: ``{instance uuid: its cell, or None while it is being
    scheduled}`` for those with an instance mapping (the others are gone)."""
    wanted = _unique(instance_uuids)
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(instance_mappings.c.instance_uuid, instance_mappings.c.cell_id.label(
            "mapped_cell_id"), *cell_mappings.COLUMNS)
        .select_from(instance_mappings.outerjoin(
            cell_mappings.cell_mappings,
            instance_mappings.c.cell_id == cell_mappings.cell_mappings.c.id))
        .where(instance_mappings.c.instance_uuid.in_(wanted)))
    return {row.instance_uuid: (cell_mappings.from_row(row, base_urls)
                                if row.mapped_cell_id is not None else None)
            for row in rows}
