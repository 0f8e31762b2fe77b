"""The two questions about ``migrations`` rows that deleting or forcing up a compute
service asks (Nova's ``migration_get_in_progress_by_host_and_node`` and its
``MigrationList.get_by_filters`` for ``done`` evacuations).

Plain functions of a Connection to a cell's database; soft-deleted rows are left out.
The migrations API itself (``os-migrations``) reads them elsewhere.
"""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.db.main import models

migrations = models.Migration.__table__

#: The statuses after which a migration no longer holds resources on its hosts.
FINISHED = ("confirmed", "reverted", "error", "failed", "completed", "cancelled", "done")


def count_in_progress_by_host_and_node(conn: sa.Connection, host: str, node: str) -> int:
    """Migrations from or to this compute node that have not finished."""
    return conn.execute(
        sa.select(sa.func.count()).select_from(migrations)
        .where(migrations.c.deleted == 0)
        .where(sa.or_(
            sa.and_(migrations.c.source_compute == host, migrations.c.source_node == node),
            sa.and_(migrations.c.dest_compute == host, migrations.c.dest_node == node)))
        .where(sa.or_(migrations.c.status.is_(None),
                      migrations.c.status.not_in(FINISHED)))).scalar_one()


def count_done_evacuations_from(conn: sa.Connection, host: str) -> int:
    """Evacuations away from ``host`` still ``done`` (its compute has not restarted
    and cleaned up after them)."""
    return conn.execute(
        sa.select(sa.func.count()).select_from(migrations)
        .where(migrations.c.deleted == 0).where(migrations.c.source_compute == host)
        .where(migrations.c.status == "done")
        .where(migrations.c.migration_type == "evacuation")).scalar_one()
