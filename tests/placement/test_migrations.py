"""Placement's Alembic tree: its own version table, next to the API tree if need be."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from oslo_config import cfg
from twisted.trial import unittest

from nova_tx.conf import placement as placement_conf
from nova_tx.db import migration
from nova_tx.db.placement.models import PlacementBase
from nova_tx.placement import db as placement_db
from tests.db.fixtures import engine_for, fresh_database_url


def placement_differences(engine: sa.Engine) -> list:
    """What autogenerate would change in Placement's tables (and only those)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": True,
            "include_name": lambda name, type_, parents: (
                type_ != "table" or name in PlacementBase.metadata.tables)})
        return compare_metadata(context, PlacementBase.metadata)


class _PlacementMigrationTests:
    backend: str

    def setUp(self):
        self.engine = engine_for(self, fresh_database_url(self, self.backend))

    def test_shares_the_api_database(self):
        migration.db_sync(self.engine, "api")
        conf = cfg.ConfigOpts()
        placement_conf.register_opts(conf)
        conf([], project="nova")
        self.assertTrue(placement_db.in_api_database(conf))
        placement_db.sync_with_api_database(self.engine, conf)
        tables = set(sa.inspect(self.engine).get_table_names())
        self.assertLessEqual(set(PlacementBase.metadata.tables), tables)
        self.assertIn("placement_alembic_version", tables)
        self.assertEqual(migration.head_revision("api"), migration.db_version(self.engine, "api"))
        self.assertEqual(migration.head_revision("placement"),
                         migration.db_version(self.engine, "placement"))
        # Each tree sees only its own tables.
        self.assertEqual([], placement_differences(self.engine))
        # Syncing again changes nothing.
        placement_db.sync_with_api_database(self.engine, conf)

    def test_models_and_migrations_agree(self):
        migration.db_sync(self.engine, "placement")
        self.assertEqual([], placement_differences(self.engine))


class PlacementMigrationsSQLite(_PlacementMigrationTests, unittest.SynchronousTestCase):
    backend = "sqlite"


class PlacementMigrationsPostgreSQL(_PlacementMigrationTests, unittest.SynchronousTestCase):
    backend = "postgresql"


class PlacementMigrationsMariaDB(_PlacementMigrationTests, unittest.SynchronousTestCase):
    backend = "mysql"
