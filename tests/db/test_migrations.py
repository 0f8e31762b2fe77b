"""The Alembic trees create exactly the schema the models describe, on every backend."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from twisted.trial import unittest

from nova_tx.db import migration
from nova_tx.db.api.models import APIBase
from nova_tx.db.exception import DBMigrationError, InvalidRevision
from nova_tx.db.main.models import SHADOW_TABLES, MainBase
from tests.db.fixtures import engine_for, fresh_database_url, migrated_database_url

METADATA = {"api": APIBase.metadata, "main": MainBase.metadata}

API_TABLES = {
    "cell_mappings", "host_mappings", "instance_mappings", "build_requests", "request_specs",
    "flavors", "flavor_extra_specs", "flavor_projects", "key_pairs", "aggregates",
    "aggregate_hosts", "aggregate_metadata", "instance_groups", "instance_group_policy",
    "instance_group_member", "quotas", "project_user_quotas", "quota_classes", "quota_usages",
    "reservations",
}
MAIN_TABLES = {
    "instances", "instance_extra", "instance_metadata", "instance_system_metadata",
    "instance_info_caches", "instance_faults", "tags", "instance_actions",
    "instance_actions_events", "block_device_mapping", "compute_nodes", "services",
    "migrations", "virtual_interfaces", "console_auth_tokens", "instance_id_mappings",
    "pci_devices", "security_groups", "security_group_instance_association", "task_log",
    "s3_images", "volume_usage_cache",
}
# Every main table but these two soft-deletes, and so has a shadow table.
MAIN_SHADOWED = MAIN_TABLES - {"tags", "console_auth_tokens"}
EXPECTED_TABLES = {
    "api": API_TABLES,
    "main": MAIN_TABLES | {"shadow_" + name for name in MAIN_SHADOWED},
}


def schema_differences(engine: sa.Engine, metadata: sa.MetaData) -> list:
    """What Alembic's autogenerate would change to make the database match ``metadata``.

    compare_type: column types and lengths are part of the contract between models and
    migrations (a String(36) that became String(255) must show). compare_server_default:
    the only server default in either schema (key_pairs.type) must exist in both.
    """
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, metadata)


class _MigrationTests:
    """The checks for one backend and one database; subclasses name both."""

    backend: str
    database: str

    def setUp(self):
        self.url = migrated_database_url(self, self.backend, self.database)
        self.engine = engine_for(self, self.url)
        self.metadata = METADATA[self.database]

    def test_version_is_head(self):
        head = migration.head_revision(self.database)
        self.assertEqual(head, migration.db_version(self.engine, self.database))

    def test_sync_again_is_noop(self):
        before = self._schema_snapshot()
        migration.db_sync(self.engine, self.database)
        self.assertEqual(migration.head_revision(self.database),
                         migration.db_version(self.engine, self.database))
        self.assertEqual(before, self._schema_snapshot())

    def _schema_snapshot(self) -> dict:
        inspector = sa.inspect(self.engine)
        return {
            name: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
                sorted(i["name"] for i in inspector.get_indexes(name)),
            )
            for name in inspector.get_table_names()
        }

    def test_expected_tables_exist(self):
        tables = set(sa.inspect(self.engine).get_table_names())
        self.assertEqual(EXPECTED_TABLES[self.database] | {"alembic_version"}, tables)
        self.assertEqual(EXPECTED_TABLES[self.database], set(self.metadata.tables))

    def test_models_and_migrations_agree(self):
        self.assertEqual([], schema_differences(self.engine, self.metadata))

    def test_comparison_sees_drift(self):
        # The agreement above means something only if a drift would show on this
        # backend: change one column's length and one index in a copy of the models.
        drifted = sa.MetaData()
        for table in self.metadata.sorted_tables:
            table.to_metadata(drifted)
        name = "instance_mappings" if self.database == "api" else "instances"
        drifted.tables[name].c.project_id.type = sa.String(100)
        sa.Index("drift_idx", drifted.tables[name].c.project_id, drifted.tables[name].c.id)
        differences = schema_differences(self.engine, drifted)
        kinds = {d[0] if isinstance(d, tuple) else d[0][0] for d in differences}
        self.assertEqual({"add_index", "modify_type"}, kinds)

    def test_unknown_revision(self):
        error = self.assertRaises(
            InvalidRevision, migration.db_sync, self.engine, self.database, "0123abcd")
        self.assertIn("'0123abcd'", str(error))
        self.assertNotIn("\n", str(error))
        self.assertEqual(migration.head_revision(self.database),
                         migration.db_version(self.engine, self.database))

    def test_empty_database_upgrades_to_given_revision_and_back(self):
        engine = engine_for(self, fresh_database_url(self, self.backend))
        self.assertIsNone(migration.db_version(engine, self.database))
        head = migration.head_revision(self.database)
        migration.db_sync(engine, self.database, head)
        self.assertEqual(head, migration.db_version(engine, self.database))
        # The initial revision's downgrade leaves nothing behind, named types included.
        with engine.begin() as conn:
            command.downgrade(migration.alembic_config(self.database, conn), "base")
        inspector = sa.inspect(engine)
        self.assertEqual(["alembic_version"], inspector.get_table_names())
        if self.backend == "postgresql":
            self.assertEqual([], inspector.get_enums())


class _MainMigrationTests(_MigrationTests):
    database = "main"

    def test_shadow_tables_have_base_columns(self):
        inspector = sa.inspect(self.engine)
        for name in SHADOW_TABLES:
            base = [(c["name"], str(c["type"])) for c in inspector.get_columns(name)]
            shadow = [(c["name"], str(c["type"])) for c in inspector.get_columns("shadow_" + name)]
            self.assertEqual(base, shadow, name)
            self.assertEqual([], inspector.get_foreign_keys("shadow_" + name))
            self.assertEqual([], inspector.get_unique_constraints("shadow_" + name))


class _APIMigrationTests(_MigrationTests):
    database = "api"


class SQLiteAPIMigrationTests(_APIMigrationTests, unittest.TestCase):
    backend = "sqlite"


class SQLiteMainMigrationTests(_MainMigrationTests, unittest.TestCase):
    backend = "sqlite"


class PostgreSQLAPIMigrationTests(_APIMigrationTests, unittest.TestCase):
    backend = "postgresql"

    def test_keypair_type_enum(self):
        enums = {e["name"]: e["labels"] for e in sa.inspect(self.engine).get_enums()}
        self.assertEqual({"keypair_types": ["ssh", "x509"]}, enums)


class PostgreSQLMainMigrationTests(_MainMigrationTests, unittest.TestCase):
    backend = "postgresql"

    def test_ip_addresses_are_inet(self):
        columns = {c["name"]: c["type"] for c in sa.inspect(self.engine).get_columns("instances")}
        self.assertEqual("INET", str(columns["access_ip_v4"]))


class MySQLAPIMigrationTests(_APIMigrationTests, unittest.TestCase):
    backend = "mysql"

    def test_tables_are_innodb_utf8mb4(self):
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT table_name, engine, table_collation FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name != 'alembic_version'").all()
        collations = {name: (engine, collation) for name, engine, collation in rows}
        self.assertEqual(("InnoDB", "utf8mb4_bin"), collations.pop("flavor_extra_specs"))
        for name, (engine, collation) in collations.items():
            self.assertEqual("InnoDB", engine, name)
            self.assertTrue(collation.startswith("utf8mb4_"), (name, collation))

    def test_large_text_is_mediumtext(self):
        columns = {c["name"]: c["type"] for c in sa.inspect(self.engine).get_columns(
            "request_specs")}
        self.assertEqual("MEDIUMTEXT", str(columns["spec"]))


class MySQLMainMigrationTests(_MainMigrationTests, unittest.TestCase):
    backend = "mysql"

    def test_host_index_uses_prefixes(self):
        # Nova's 100-character prefixes keep the key under InnoDB's length limit.
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT column_name, sub_part FROM information_schema.statistics "
                "WHERE table_schema = DATABASE() AND table_name = 'migrations' "
                "AND index_name = 'migrations_by_host_nodes_and_status_idx' "
                "ORDER BY seq_in_index").all()
        self.assertEqual(
            [("deleted", None), ("source_compute", 100), ("dest_compute", 100),
             ("source_node", 100), ("dest_node", 100), ("status", None)],
            [tuple(r) for r in rows])


class SyncErrorTests(unittest.SynchronousTestCase):
    """Errors of db_sync that do not depend on the backend."""

    def test_unknown_database_name(self):
        self.assertRaises(ValueError, migration.head_revision, "cell")

    def test_database_at_unknown_revision_is_refused(self):
        engine = engine_for(self, fresh_database_url(self, "sqlite"))
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32))")
            conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('fedcba987654')")
        error = self.assertRaises(DBMigrationError, migration.db_sync, engine, "main")
        self.assertIn("fedcba987654", str(error))
        self.assertEqual(["alembic_version"], sa.inspect(engine).get_table_names())

    def test_a_database_nova_migrated_is_refused(self):
        # Nova Zed's head revisions: its tables are not exactly ours, so no silent no-op.
        for database, nova_head in (("api", "b30f573d3377"), ("main", "960aac0e09ea")):
            engine = engine_for(self, fresh_database_url(self, "sqlite"))
            with engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32))")
                conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('%s')" % nova_head)
            error = self.assertRaises(DBMigrationError, migration.db_sync, engine, database)
            self.assertIn(nova_head, str(error))
