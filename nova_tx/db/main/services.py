"""Queries of ``services``: the service processes (nova-compute, ...) of one cell.

Plain functions of a Connection to a cell's database (see
``nova_tx.db.api.cell_mappings`` for the conventions); soft-deleted rows are left out.
"""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.db.main import models

services = models.Service.__table__


def get_compute_hosts(conn: sa.Connection) -> list[str]:
    """The hosts of the nova-compute services, disabled ones included, oldest first."""
    rows = conn.execute(
        sa.select(services.c.host)
        .where(services.c.deleted == 0).where(services.c.binary == "nova-compute")
        .where(services.c.host.is_not(None))
        .order_by(services.c.id))
    return list(dict.fromkeys(rows.scalars()))
