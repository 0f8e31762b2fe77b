"""Queries of ``quotas``, ``project_user_quotas`` and ``quota_classes``, and the counts
of what the API database holds that quotas limit (server groups and their members).

Limits come back as ``{resource: hard_limit}`` dicts (a NULL hard limit is -1,
unlimited); writing a limit creates its row or updates it. ``nova_tx.quota`` resolves
them in Nova's order: user row, project row, ``default`` class row, ``[quota]`` option.
"""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.db.api import models

quotas = models.Quota.__table__
project_user_quotas = models.ProjectUserQuota.__table__
quota_classes = models.QuotaClass.__table__
quota_usages = models.QuotaUsage.__table__
reservations = models.Reservation.__table__
instance_groups = models.InstanceGroup.__table__
instance_group_member = models.InstanceGroupMember.__table__
instance_mappings = models.InstanceMapping.__table__

#: The only quota class Nova reads.
DEFAULT_QUOTA_CLASS = "default"


def _limits(rows) -> dict[str, int]:
    return {row.resource: -1 if row.hard_limit is None else row.hard_limit for row in rows}


def get_project_limits(conn: sa.Connection, project_id: str) -> dict[str, int]:
    """The project's own limits (rows of ``quotas``)."""
    return _limits(conn.execute(
        sa.select(quotas.c.resource, quotas.c.hard_limit)
        .where(quotas.c.project_id == project_id)))


def get_user_limits(conn: sa.Connection, project_id: str, user_id: str) -> dict[str, int]:
    """The user's own limits within the project (rows of ``project_user_quotas``)."""
    table = project_user_quotas
    return _limits(conn.execute(
        sa.select(table.c.resource, table.c.hard_limit)
        .where(table.c.project_id == project_id, table.c.user_id == user_id)))


def get_all_user_limits(conn: sa.Connection, project_id: str) -> dict[str, dict[str, int]]:
    """Every user's own limits in the project: ``{user_id: {resource: limit}}``."""
    table = project_user_quotas
    result: dict[str, dict[str, int]] = {}
    for row in conn.execute(
            sa.select(table.c.user_id, table.c.resource, table.c.hard_limit)
            .where(table.c.project_id == project_id)
            .order_by(table.c.user_id, table.c.resource)):
        result.setdefault(row.user_id, {})[row.resource] = (
            -1 if row.hard_limit is None else row.hard_limit)
    return result


def get_class_limits(conn: sa.Connection,
                     class_name: str = DEFAULT_QUOTA_CLASS) -> dict[str, int]:
    """The limits of a quota class (rows of ``quota_classes``)."""
    return _limits(conn.execute(
        sa.select(quota_classes.c.resource, quota_classes.c.hard_limit)
        .where(quota_classes.c.class_name == class_name)
        .order_by(quota_classes.c.id)))


def _upsert(conn: sa.Connection, table: sa.Table, where: dict, limit: int) -> None:
    condition = sa.and_(*(table.c[name] == value for name, value in where.items()))
    result = conn.execute(table.update().where(condition).values(hard_limit=limit))
    if result.rowcount == 0:
        conn.execute(table.insert().values(hard_limit=limit, **where))


def set_project_limit(conn: sa.Connection, project_id: str, resource: str, limit: int) -> None:
    """Create or change the project's limit of ``resource``."""
    _upsert(conn, quotas, {"project_id": project_id, "resource": resource}, limit)


def set_user_limit(conn: sa.Connection, project_id: str, user_id: str, resource: str,
                   limit: int) -> None:
    """Create or change the user's limit of ``resource`` within the project."""
    _upsert(conn, project_user_quotas,
            {"project_id": project_id, "user_id": user_id, "resource": resource}, limit)


def set_class_limit(conn: sa.Connection, class_name: str, resource: str, limit: int) -> None:
    """Create or change a quota class's limit of ``resource``."""
    _upsert(conn, quota_classes, {"class_name": class_name, "resource": resource}, limit)


def destroy_all_by_project(conn: sa.Connection, project_id: str) -> None:
    """Forget every limit set for the project and its users (and any legacy usage
    rows), so that the defaults apply again."""
    conn.execute(reservations.delete().where(reservations.c.project_id == project_id))
    conn.execute(quota_usages.delete().where(quota_usages.c.project_id == project_id))
    conn.execute(project_user_quotas.delete()
                 .where(project_user_quotas.c.project_id == project_id))
    conn.execute(quotas.delete().where(quotas.c.project_id == project_id))


def destroy_all_by_project_and_user(conn: sa.Connection, project_id: str, user_id: str) -> None:
    """Forget the user's own limits in the project (the project's then apply)."""
    conn.execute(reservations.delete().where(
        reservations.c.project_id == project_id, reservations.c.user_id == user_id))
    conn.execute(quota_usages.delete().where(
        quota_usages.c.project_id == project_id, quota_usages.c.user_id == user_id))
    conn.execute(project_user_quotas.delete().where(
        project_user_quotas.c.project_id == project_id,
        project_user_quotas.c.user_id == user_id))


def count_server_groups(conn: sa.Connection, project_id: str,
                        user_id: str | None = None) -> dict[str, dict[str, int]]:
    """Server groups of the project (and of the user in it): Nova's
    ``{"project": {"server_groups": n}, "user": {...}}``."""
    def count(*where) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(instance_groups)
                            .where(*where)).scalar_one()

    result = {"project": {"server_groups": count(instance_groups.c.project_id == project_id)}}
    if user_id is not None:
        result["user"] = {"server_groups": count(instance_groups.c.project_id == project_id,
                                                 instance_groups.c.user_id == user_id)}
    return result


def count_server_group_members_by_user(conn: sa.Connection, group_uuid: str,
                                       user_id: str) -> int:
    """Members of the group that belong to the user and are not being deleted (their
    instance mappings say so)."""
    query = (
        sa.select(sa.func.count(sa.distinct(instance_group_member.c.instance_uuid)))
        .select_from(instance_group_member
                     .join(instance_groups,
                           instance_groups.c.id == instance_group_member.c.group_id)
                     .join(instance_mappings, instance_mappings.c.instance_uuid
                           == instance_group_member.c.instance_uuid))
        .where(instance_groups.c.uuid == group_uuid,
               instance_mappings.c.user_id == user_id,
               sa.or_(instance_mappings.c.queued_for_delete.is_(None),
                      instance_mappings.c.queued_for_delete.is_(False))))
    return conn.execute(query).scalar_one()
