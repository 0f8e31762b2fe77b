"""Usages: sums of allocations, per provider or per project (and user, and type)."""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.db.placement.models import (
    allocations,
    consumer_types,
    consumers,
    inventories,
    projects,
    resource_classes,
    users,
)
from nova_tx.placement.objects import ResourceProvider
from nova_tx.placement.storage.consumers import UNKNOWN_TYPE


def for_provider(conn: sa.Connection, rp: ResourceProvider) -> dict[str, int]:
    """Class -> amount used, for every class in the provider's inventory."""
    used = (sa.select(allocations.c.resource_class_id,
                      sa.func.sum(allocations.c.used).label("used"))
            .where(allocations.c.resource_provider_id == rp.id)
            .group_by(allocations.c.resource_class_id).subquery())
    rows = conn.execute(
        sa.select(resource_classes.c.name, sa.func.coalesce(used.c.used, 0).label("used"))
        .select_from(inventories
                     .join(resource_classes,
                           resource_classes.c.id == inventories.c.resource_class_id)
                     .outerjoin(used, used.c.resource_class_id == inventories.c.resource_class_id))
        .where(inventories.c.resource_provider_id == rp.id))
    return {row.name: int(row.used) for row in rows}


def for_project(conn: sa.Connection, project_id: str, user_id: str | None = None, *,
                by_consumer_type: bool = False, consumer_type: str | None = None) -> dict:
    """Class -> amount used by the project's (and user's) consumers.

    ``by_consumer_type`` (microversion 1.38): type -> {"consumer_count": n, class: amount},
    consumers without a type under ``unknown``; ``consumer_type`` limits to one type,
    ``all`` sums every type under ``all``.
    """
    type_name = sa.func.coalesce(consumer_types.c.name, UNKNOWN_TYPE)
    source = (allocations
              .join(consumers, consumers.c.uuid == allocations.c.consumer_id)
              .join(projects, projects.c.id == consumers.c.project_id)
              .join(users, users.c.id == consumers.c.user_id)
              .outerjoin(consumer_types, consumer_types.c.id == consumers.c.consumer_type_id)
              .join(resource_classes, resource_classes.c.id == allocations.c.resource_class_id))
    where = [projects.c.external_id == project_id]
    if user_id is not None:
        where.append(users.c.external_id == user_id)
    if not by_consumer_type:
        rows = conn.execute(
            sa.select(resource_classes.c.name, sa.func.sum(allocations.c.used).label("used"))
            .select_from(source).where(*where).group_by(resource_classes.c.name))
        return {row.name: int(row.used) for row in rows}
    if consumer_type is not None and consumer_type != "all":
        where.append(type_name == consumer_type)
    # ``all`` sums across types: no grouping by type (a constant cannot be grouped by
    # on PostgreSQL).
    keys = [] if consumer_type == "all" else [type_name.label("ctype")]
    result: dict[str, dict] = {}
    for row in conn.execute(
            sa.select(*keys, resource_classes.c.name,
                      sa.func.sum(allocations.c.used).label("used"))
            .select_from(source).where(*where)
            .group_by(*[k.element for k in keys], resource_classes.c.name)):
        result.setdefault(row.ctype if keys else "all", {})[row.name] = int(row.used)
    for row in conn.execute(
            sa.select(*keys, sa.func.count(sa.distinct(consumers.c.id)).label("n"))
            .select_from(source).where(*where).group_by(*[k.element for k in keys])):
        if row.n:
            result.setdefault(row.ctype if keys else "all", {})["consumer_count"] = int(row.n)
    return result
