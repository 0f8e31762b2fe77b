"""nova-manage db online_data_migrations: the framework's batches, table and exit statuses
(spec G §3.1), and the migrations nova-tx registers."""
from __future__ import annotations

from unittest import mock

import sqlalchemy as sa

from nova_tx.cmd import manage, online_migrations
from nova_tx.db.api import models as api_models
from tests.cmd import CommandTestCase
from tests.cmd.test_manage import one_cell

ODM = ("db", "online_data_migrations")
mappings_t = api_models.InstanceMapping.__table__


class Pending:
    """A fake migration with ``rows`` to do; raises while ``broken``."""

    def __init__(self, name: str, rows: int, broken: bool = False):
        self.__name__ = name
        self.rows = rows
        self.broken = broken
        self.calls: list[int] = []

    def __call__(self, dbs, count):
        self.calls.append(count)
        if self.broken:
            raise RuntimeError("boom")
        done = min(self.rows, count)
        self.rows -= done
        return done, done


def table_rows(out: str) -> dict[str, tuple[int, int]]:
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and cells[1].isdigit():
            rows[cells[0]] = (int(cells[1]), int(cells[2]))
    return rows


class FrameworkTest(CommandTestCase):
    main = staticmethod(manage.main)

    def setUp(self):
        super().setUp()
        one_cell(self.dep)

    def with_migrations(self, *migrations):
        patcher = mock.patch.object(manage.DbCommands, "online_migrations", migrations)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_empty_registry(self):
        self.with_migrations()
        outcome = self.run_cmd(*ODM)
        self.assertOutcome(outcome, 0, out=["Running batches of 50 until complete",
                                            "| Migration | Total Needed | Completed |"])
        self.assertEqual({}, table_rows(outcome.out))

    def test_unlimited_runs_until_a_batch_does_nothing(self):
        first, second = Pending("b_second", 2), Pending("a_first", 120)
        self.with_migrations(first, second)
        outcome = self.run_cmd(*ODM)
        self.assertOutcome(outcome, 0, out=["2 rows matched query b_second, 2 migrated",
                                            "48 rows matched query a_first, 48 migrated"])
        self.assertEqual({"a_first": (120, 120), "b_second": (2, 2)},
                         table_rows(outcome.out))
        # Sorted by name in the table.
        self.assertEqual(["a_first", "b_second"], list(table_rows(outcome.out)))
        # A batch's count is what the earlier migrations of the batch left of 50.
        self.assertEqual([48, 50, 50, 50], second.calls[:4])

    def test_max_count_one_batch_per_call(self):
        pending = Pending("fix", 2)
        self.with_migrations(pending)
        self.assertOutcome(self.run_cmd(*ODM, "--max-count", "1"), 1)
        self.assertOutcome(self.run_cmd(*ODM, "--max-count", "1"), 1)
        self.assertOutcome(self.run_cmd(*ODM, "--max-count", "1"), 0)

    def test_bad_max_count(self):
        self.with_migrations(Pending("fix", 2))
        for value in ("0", "-3", "abc"):
            self.assertOutcome(self.run_cmd(*ODM, "--max-count", value), 127,
                               out=["Must supply a positive value for max_number"])

    def test_failure_with_nothing_else_progressing(self):
        self.with_migrations(Pending("broken", 0, broken=True))
        outcome = self.run_cmd(*ODM)
        self.assertOutcome(outcome, 2, out=[
            "Error attempting to run broken",
            "Some migrations failed unexpectedly. Check log for details."])
        self.assertOutcome(self.run_cmd(*ODM, "--max-count", "5"), 2)

    def test_failure_while_others_progress_with_max_count_is_1(self):
        self.with_migrations(Pending("broken", 0, broken=True), Pending("fix", 10))
        self.assertOutcome(self.run_cmd(*ODM, "--max-count", "5"), 1)
        # Unlimited: once the others are done the failure is all that is left.
        self.assertOutcome(self.run_cmd(*ODM), 2)


class RegisteredMigrationsTest(CommandTestCase):
    main = staticmethod(manage.main)

    def setUp(self):
        super().setUp()
        self.ctx = one_cell(self.dep)

    def mapping(self, uuid: str) -> tuple:
        with self.dep.engine(self.dep.api_url).connect() as conn:
            return tuple(conn.execute(
                sa.select(mappings_t.c.user_id, mappings_t.c.queued_for_delete)
                .where(mappings_t.c.instance_uuid == uuid)).one())

    def unset(self, uuids, **values):
        with self.dep.engine(self.dep.api_url).begin() as conn:
            conn.execute(mappings_t.update().where(mappings_t.c.instance_uuid.in_(uuids))
                         .values(**values))

    def test_registry_order(self):
        self.assertEqual(("populate_queued_for_delete", "populate_user_id"),
                         tuple(m.__name__ for m in online_migrations.ONLINE_MIGRATIONS))

    def test_populate_queued_for_delete_and_user_id(self):
        live = self.dep.add_instances(self.dep.main_url, 2)
        gone = self.dep.add_instances(self.dep.main_url, 1, deleted=True)
        for uuid in live + gone:
            self.dep.add_instance_mapping(uuid, self.ctx["cell1"])
        self.unset(live + gone, user_id=None, queued_for_delete=None)
        outcome = self.run_cmd(*ODM)
        self.assertOutcome(outcome, 0)
        self.assertEqual({"populate_queued_for_delete": (3, 3),
                          "populate_user_id": (3, 3)}, table_rows(outcome.out))
        self.assertEqual(("u1", False), self.mapping(live[0]))
        self.assertEqual(("u1", True), self.mapping(gone[0]))
        outcome = self.run_cmd(*ODM)
        self.assertOutcome(outcome, 0)
        self.assertEqual({"populate_queued_for_delete": (0, 0),
                          "populate_user_id": (0, 0)}, table_rows(outcome.out))

    def test_max_count_spans_the_migrations(self):
        uuids = self.dep.add_instances(self.dep.main_url, 3)
        for uuid in uuids:
            self.dep.add_instance_mapping(uuid, self.ctx["cell1"])
        self.unset(uuids, user_id=None, queued_for_delete=None)
        self.assertOutcome(self.run_cmd(*ODM, "--max-count", "2"), 1)
        self.assertOutcome(self.run_cmd(*ODM, "--max-count", "2"), 1)
        self.assertOutcome(self.run_cmd(*ODM, "--max-count", "2"), 1)
        self.assertOutcome(self.run_cmd(*ODM, "--max-count", "2"), 0)
        self.assertEqual(("u1", False), self.mapping(uuids[2]))

    def test_marker_and_unmapped_rows_are_not_migrated(self):
        (uuid,) = self.dep.add_instances(self.dep.main_url, 1)
        self.dep.add_instance_mapping(uuid, None)
        self.unset([uuid], user_id=None, queued_for_delete=False)
        self.assertOutcome(self.run_cmd("cell_v2", "map_instances", "--cell_uuid",
                                        self.ctx["cell1"], "--max-count", "1"), 1)
        outcome = self.run_cmd(*ODM)
        # The mapping without a cell is found every time and never done.
        self.assertOutcome(outcome, 0)
        self.assertEqual((1, 0), table_rows(outcome.out)["populate_user_id"])
