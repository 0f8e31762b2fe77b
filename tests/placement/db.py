"""Migrated Placement databases for tests, on SQLite, PostgreSQL or MariaDB."""
from __future__ import annotations

import os
import shutil
import tempfile

import sqlalchemy as sa

from nova_tx.db import engines
from nova_tx.db.placement.models import PlacementBase
from nova_tx.placement.storage import resource_classes, traits
from tests.db.fixtures import engine_for, migrated_database_url, migrated_sqlite_file


def placement_engine(testcase, backend: str = "sqlite") -> sa.Engine:
    """An Engine on an empty migrated Placement database with the standard classes
    and traits; its rows are gone when ``testcase`` ends."""
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="nova-tx-placement-")
        testcase.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "placement.sqlite")
        shutil.copy(migrated_sqlite_file("placement"), path)
        engine = engine_for(testcase, f"sqlite:///{path}")
    else:
        url = migrated_database_url(testcase, backend, "placement", purpose="placement")
        engine = engines.create_engine(url)
        testcase.addCleanup(engine.dispose)
        testcase.addCleanup(_empty, engine)
        _empty(engine)
    with engine.begin() as conn:
        resource_classes.sync_standard(conn)
        traits.sync_standard(conn)
    return engine


def _empty(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(PlacementBase.metadata.tables["resource_providers"].update()
                     .values(root_provider_id=None, parent_provider_id=None))
        for table in reversed(PlacementBase.metadata.sorted_tables):
            conn.execute(table.delete())
