"""nova-manage db archive_deleted_rows and db purge: what moves, what stays, the API rows
of archived instances, progress output and every exit status of spec G §3.1."""
from __future__ import annotations

import datetime
import re
import uuid as uuidlib
from unittest import mock

import sqlalchemy as sa

from nova_tx.cmd import manage
from nova_tx.db.api import models as api_models
from nova_tx.db.main import archive
from nova_tx.db.main import models as main_models
from nova_tx.db.types import utcnow
from tests.cmd import CommandTestCase, Deployment
from tests.cmd.test_manage import UNREACHABLE_PG, one_cell, two_cells
from tests.db.fixtures import fresh_database_url

ARCHIVE = ("db", "archive_deleted_rows")
PURGE = ("db", "purge")

instances_t = main_models.Instance.__table__
extra_t = main_models.InstanceExtra.__table__
cache_t = main_models.InstanceInfoCache.__table__
actions_t = main_models.InstanceAction.__table__
events_t = main_models.InstanceActionEvent.__table__
task_log_t = main_models.TaskLog.__table__
mappings_t = api_models.InstanceMapping.__table__
specs_t = api_models.RequestSpec.__table__
groups_t = api_models.InstanceGroup.__table__
members_t = api_models.InstanceGroupMember.__table__


def add_instances(dep: Deployment, cell_url: str, cell_uuid: str | None, count: int,
                  deleted: bool, deleted_at: datetime.datetime | None = None
                  ) -> list[str]:
    """Instances with the rows Nova gives each (extra, info cache, an action and its
    event) and their API rows (mapping, request spec, group membership)."""
    uuids = [str(uuidlib.uuid4()) for _ in range(count)]
    now = utcnow().replace(microsecond=0)
    with dep.engine(cell_url).begin() as conn:
        conn.execute(instances_t.insert(), [
            {"uuid": u, "project_id": "p1", "user_id": "u1", "host": "host1",
             "vm_state": "deleted" if deleted else "active", "created_at": now,
             "deleted": 0} for u in uuids])
        conn.execute(extra_t.insert(), [
            {"instance_uuid": u, "created_at": now, "deleted": 0} for u in uuids])
        conn.execute(cache_t.insert(), [
            {"instance_uuid": u, "network_info": "[]", "created_at": now, "deleted": 0}
            for u in uuids])
        conn.execute(actions_t.insert(), [
            {"instance_uuid": u, "action": "create", "request_id": "req-1",
             "created_at": now, "deleted": 0} for u in uuids])
        action_ids = [row[0] for row in conn.execute(
            sa.select(actions_t.c.id).where(actions_t.c.instance_uuid.in_(uuids)))]
        conn.execute(events_t.insert(), [
            {"action_id": a, "event": "compute__do_build_and_run_instance",
             "created_at": now, "deleted": 0} for a in action_ids])
        if deleted:
            # As Nova's destroy: the instance and its extra and cache are soft-deleted,
            # its actions are not.
            when = deleted_at or now
            for table, column in ((instances_t, instances_t.c.uuid),
                                  (extra_t, extra_t.c.instance_uuid),
                                  (cache_t, cache_t.c.instance_uuid)):
                conn.execute(table.update().where(column.in_(uuids))
                             .values(deleted=table.c.id, deleted_at=when))
    if cell_uuid is not None:
        cell_id = dep.cell_id(cell_uuid)
        with dep.engine(dep.api_url).begin() as conn:
            conn.execute(mappings_t.insert(), [
                {"instance_uuid": u, "cell_id": cell_id, "project_id": "p1",
                 "user_id": "u1"} for u in uuids])
            conn.execute(specs_t.insert(), [{"instance_uuid": u, "spec": "{}"}
                                            for u in uuids])
            group_id = conn.execute(groups_t.insert().values(
                uuid=str(uuidlib.uuid4()), project_id="p1", user_id="u1",
                name="g")).inserted_primary_key[0]
            conn.execute(members_t.insert(), [{"instance_uuid": u, "group_id": group_id}
                                              for u in uuids])
    return uuids


def count(dep: Deployment, url: str, table: sa.Table, *where) -> int:
    with dep.engine(url).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)
                            .where(*where)).scalar_one()


def shadow(name: str) -> sa.Table:
    return main_models.shadow_table(name)


class ArchiveCase(CommandTestCase):
    main = staticmethod(manage.main)

    def setUp(self):
        super().setUp()
        self.ctx = one_cell(self.dep)
        self.url = self.dep.main_url

    def add(self, n: int, deleted: bool = True, **kw) -> list[str]:
        return add_instances(self.dep, self.url, self.ctx["cell1"], n, deleted, **kw)

    def count(self, table: sa.Table, *where) -> int:
        return count(self.dep, self.url, table, *where)

    def api_count(self, table: sa.Table, uuids: list[str]) -> int:
        return count(self.dep, self.dep.api_url, table, table.c.instance_uuid.in_(uuids))


class ArchiveTest(ArchiveCase):
    def test_archives_deleted_instances_with_their_rows_and_api_rows(self):
        gone = self.add(3)
        live = self.add(2, deleted=False)
        outcome = self.run_cmd(*ARCHIVE, "--verbose")
        self.assertOutcome(outcome, 1, out=["| Table", "Number of Rows Archived"])
        rows = dict(re.findall(r"\| (\S+)\s+\| (\d+)\s+\|", outcome.out))
        self.assertEqual({"instances": "3", "instance_extra": "3",
                          "instance_info_caches": "3", "instance_actions": "3",
                          "instance_actions_events": "3",
                          "API_DB.instance_mappings": "3", "API_DB.request_specs": "3",
                          "API_DB.instance_group_member": "3"}, rows)
        self.assertEqual(3, self.count(shadow("instances")))
        self.assertEqual(sorted(gone), sorted(u for (u,) in self.dep.rows(
            self.url, shadow("instances"), "uuid")))
        self.assertEqual(3, self.count(shadow("instance_actions_events")))
        self.assertEqual(2, self.count(instances_t))
        self.assertEqual(2, self.count(actions_t))
        self.assertEqual(2, self.count(events_t))
        for table in (mappings_t, specs_t, members_t):
            self.assertEqual(0, self.api_count(table, gone))
            self.assertEqual(2, self.api_count(table, live))
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--verbose"), 0,
                           out=["Nothing was archived."])

    def test_without_verbose_prints_nothing(self):
        self.add(1)
        outcome = self.run_cmd(*ARCHIVE)
        self.assertOutcome(outcome, 1)
        self.assertEqual("", outcome.out)

    def test_max_rows_counts_rows_of_every_table(self):
        self.add(5)
        # 2 instances and their 8 rows: the limit is reached after the instances table.
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--max_rows", "2"), 1)
        self.assertEqual(2, self.count(shadow("instances")))
        self.assertEqual(2, self.count(shadow("instance_extra")))
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--max-rows", "1000"), 1)
        self.assertEqual(5, self.count(shadow("instances")))

    def test_until_complete_in_batches_with_progress(self):
        self.add(5)
        outcome = self.run_cmd(*ARCHIVE, "--until-complete", "--max_rows", "1",
                               "--verbose")
        self.assertOutcome(outcome, 1)
        # One dot per batch that moved something, Nova's two before and one after.
        self.assertIn("Archiving.." + "." * 5 + ".complete", outcome.out)
        self.assertEqual(5, self.count(shadow("instances")))
        self.assertEqual(0, self.count(instances_t))

    def test_sleep_between_batches(self):
        self.add(3)
        with mock.patch("nova_tx.cmd.db_archive.time.sleep") as sleep:
            self.assertOutcome(self.run_cmd(*ARCHIVE, "--until-complete", "--max_rows", "1",
                                            "--sleep", "2"), 1)
        # After each of the 3 batches that moved something; not after the last.
        self.assertEqual([mock.call(2)] * 3, sleep.call_args_list)
        self.assertEqual(3, self.count(shadow("instances")))

    def test_before(self):
        old = self.add(2, deleted_at=datetime.datetime(2015, 10, 20))
        self.add(1, deleted_at=datetime.datetime(2015, 10, 22))
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--before", "2015-10-01"), 0)
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--before", "Oct 21 2015"), 1)
        self.assertEqual(sorted(old), sorted(u for (u,) in self.dep.rows(
            self.url, shadow("instances"), "uuid")))
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--before", "2015-10-22 12:00"), 1)
        self.assertEqual(3, self.count(shadow("instances")))

    def test_task_log_only_when_asked(self):
        now = utcnow()
        with self.dep.engine(self.url).begin() as conn:
            conn.execute(task_log_t.insert(), [
                {"task_name": "instance_usage_audit", "state": "DONE", "host": f"h{i}",
                 "period_beginning": now, "period_ending": now, "message": "m",
                 "updated_at": now, "deleted": 0} for i in range(2)])
        self.assertOutcome(self.run_cmd(*ARCHIVE), 0)
        self.assertEqual(2, self.count(task_log_t))
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--task-log", "--before", "2000-01-01"), 0)
        future = (now + datetime.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--task-log", "--before", future,
                                        "--verbose"), 1, out=["task_log"])
        self.assertEqual(0, self.count(task_log_t))
        self.assertEqual(2, self.count(shadow("task_log")))

    def test_purge_after_archive(self):
        self.add(2)
        outcome = self.run_cmd(*ARCHIVE, "--purge", "--verbose")
        self.assertOutcome(outcome, 1, out=["Rows were archived, running purge...",
                                            "DB: Deleted 2 rows from shadow_instances"])
        self.assertEqual({}, archive.shadow_row_counts(self.dep.engine(self.url)))

    def test_purge_flag_without_anything_archived_does_not_purge(self):
        self.add(1)
        self.assertOutcome(self.run_cmd(*ARCHIVE), 1)
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--purge"), 0)
        self.assertEqual(1, self.count(shadow("instances")))

    def test_archived_instance_verifies_as_archived(self):
        # An archived instance whose mapping survived (removed behind our back, as
        # after a failed API clean-up) is rc 4 of verify_instance.
        (uuid,) = self.add(1)
        self.assertOutcome(self.run_cmd(*ARCHIVE), 1)
        self.dep.add_instance_mapping(uuid, self.ctx["cell1"])
        self.assertOutcome(self.run_cmd("cell_v2", "verify_instance", "--uuid", uuid), 4,
                           out=["has been archived"])

    def test_bad_max_rows(self):
        self.add(1)
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--max_rows", "-1"), 2,
                           out=["Must supply a positive value for max_rows"])
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--max_rows", str(2 ** 31)), 2,
                           out=["max rows must be <= 2147483647"])
        # Not a number: argparse's usage error, also 2.
        self.assertEqual(2, self.run_cmd(*ARCHIVE, "--max_rows", "many").rc)
        self.assertEqual(1, self.count(instances_t))

    def test_bad_before(self):
        self.add(1)
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--before", "notadate"), 4,
                           out=["Invalid value for --before"])
        self.assertEqual(1, self.count(instances_t))

    def test_api_database_unset_or_unreachable(self):
        self.add(1)
        for value in (None, UNREACHABLE_PG):
            self.dep.write_conf(api_database={"connection": value})
            self.assertOutcome(self.run_cmd(*ARCHIVE), 3,
                               out=["Failed to connect to API DB"])
        self.assertEqual(1, self.count(instances_t))


class AllCellsTest(CommandTestCase):
    main = staticmethod(manage.main)

    def setUp(self):
        super().setUp()
        self.ctx = two_cells(self.dep)
        self.cell2_url = self.ctx["cell2_url"]
        add_instances(self.dep, self.dep.main_url, self.ctx["cell1"], 2, True)
        add_instances(self.dep, self.cell2_url, self.ctx["cell2"], 3, True)

    def test_all_cells_keys_by_cell_name(self):
        outcome = self.run_cmd(*ARCHIVE, "--all-cells", "--verbose")
        self.assertOutcome(outcome, 1, out=["cell1.instances", "cell2.instances"])
        rows = dict(re.findall(r"\| (\S+)\s+\| (\d+)\s+\|", outcome.out))
        self.assertEqual(("2", "3", "5"), (rows["cell1.instances"], rows["cell2.instances"],
                                           rows["API_DB.instance_mappings"]))
        self.assertEqual(3, count(self.dep, self.cell2_url, shadow("instances")))

    def test_max_rows_is_a_total_across_cells(self):
        # cell0 comes first and is empty; cell1's 2 instances bring 8 rows: 10 in all.
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--all-cells", "--max_rows", "10"), 1)
        self.assertEqual(2, count(self.dep, self.dep.main_url, shadow("instances")))
        self.assertEqual(0, count(self.dep, self.cell2_url, shadow("instances")))

    def test_purge_all_cells(self):
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--all-cells"), 1)
        outcome = self.run_cmd(*PURGE, "--all", "--all-cells", "--verbose")
        self.assertOutcome(outcome, 0, out=["Cell cell2(", "Deleted 3 rows from "
                                            "shadow_instances based on timestamp column "
                                            "(n/a)"])
        for url in (self.dep.main_url, self.cell2_url):
            self.assertEqual({}, archive.shadow_row_counts(self.dep.engine(url)))

    def test_purge_all_cells_without_api_database(self):
        self.dep.write_conf(api_database={"connection": UNREACHABLE_PG})
        self.assertOutcome(self.run_cmd(*PURGE, "--all", "--all-cells"), 4,
                           out=["Unable to get cell list from API DB. Is it configured?"])


class PurgeTest(ArchiveCase):
    def test_requires_all_or_before(self):
        self.assertOutcome(self.run_cmd(*PURGE), 1,
                           out=["Either --before or --all is required"])

    def test_bad_before(self):
        self.assertOutcome(self.run_cmd(*PURGE, "--before", "garbage"), 2,
                           out=["Invalid value for --before"])

    def test_nothing_to_purge(self):
        self.assertOutcome(self.run_cmd(*PURGE, "--all"), 3)

    def test_before_reads_deleted_at_or_created_at(self):
        self.add(2, deleted_at=datetime.datetime(2015, 10, 20))
        self.assertOutcome(self.run_cmd(*ARCHIVE), 1)
        # Deleted in 2015, but their actions were created now.
        self.assertOutcome(self.run_cmd(*PURGE, "--before", "2015-10-01"), 3)
        outcome = self.run_cmd(*PURGE, "--before", "2016-01-01", "--verbose")
        self.assertOutcome(outcome, 0, out=[
            "DB: Deleted 2 rows from shadow_instances based on timestamp column "
            "deleted_at"])
        self.assertEqual({"shadow_instance_actions": 2,
                          "shadow_instance_actions_events": 2},
                         archive.shadow_row_counts(self.dep.engine(self.url)))
        self.assertOutcome(self.run_cmd(*PURGE, "--all"), 0)
        self.assertEqual({}, archive.shadow_row_counts(self.dep.engine(self.url)))


class TenThousandTest(ArchiveCase):
    """Must show (issue 11): 10,000 deleted instances archived with --until-complete,
    progress shown, then purged."""

    timeout = 600

    def test_archive_until_complete_then_purge(self):
        self.add(10000)
        live = self.add(3, deleted=False)
        outcome = self.run_cmd(*ARCHIVE, "--until-complete", "--verbose")
        self.assertOutcome(outcome, 1, out=["complete"])
        progress = outcome.out.splitlines()[0]
        # Batches of --max_rows' default, 1000 instances (the rows referring to them
        # come along beyond the limit): 10 batches moved something, a dot each.
        self.assertEqual("Archiving.." + "." * 10 + ".complete", progress)
        rows = dict(re.findall(r"\| (\S+)\s+\| (\d+)\s+\|", outcome.out))
        self.assertEqual("10000", rows["instances"])
        self.assertEqual("10000", rows["API_DB.instance_mappings"])
        self.assertEqual(10000, self.count(shadow("instances")))
        self.assertEqual(10000, self.count(shadow("instance_actions_events")))
        self.assertEqual(3, self.count(instances_t))
        self.assertEqual(3, count(self.dep, self.dep.api_url, mappings_t))
        self.assertEqual(3, self.api_count(mappings_t, live))
        self.assertOutcome(self.run_cmd(*ARCHIVE, "--until-complete"), 0)
        outcome = self.run_cmd(*PURGE, "--all", "--verbose")
        self.assertOutcome(outcome, 0, out=[
            "DB: Deleted 10000 rows from shadow_instances based on timestamp column (n/a)"])
        self.assertEqual({}, archive.shadow_row_counts(self.dep.engine(self.url)))
        self.assertOutcome(self.run_cmd(*PURGE, "--all"), 3)


class ServerDatabaseArchiveMixin:
    """Archive and purge on a database server: insert-from-select into the shadow
    tables (named enum types on PostgreSQL), foreign keys enforced (MariaDB)."""

    backend: str

    def test_archive_then_purge(self):
        dep = self.dep
        dep.api_url = fresh_database_url(self, self.backend)
        dep.main_url = fresh_database_url(self, self.backend)
        dep.write_conf()
        self.assertOutcome(self.run_cmd("api_db", "sync"), 0)
        self.assertOutcome(self.run_cmd("db", "sync", "--local_cell"), 0)
        cell1 = dep.add_cell("cell1", dep.main_url, dep.transport_url)
        gone = add_instances(dep, dep.main_url, cell1, 30, True)
        live = add_instances(dep, dep.main_url, cell1, 2, False)
        with dep.engine(dep.main_url).begin() as conn:
            # A locked_by value: the enum column of shadow_instances.
            conn.execute(instances_t.update().where(instances_t.c.uuid == gone[0])
                         .values(locked_by="admin"))
        outcome = self.run_cmd(*ARCHIVE, "--until-complete", "--max_rows", "7",
                               "--verbose")
        self.assertOutcome(outcome, 1, out=["complete"])
        self.assertEqual(30, count(dep, dep.main_url, shadow("instances")))
        self.assertEqual(30, count(dep, dep.main_url, shadow("instance_actions_events")))
        self.assertEqual(["admin"], [locked for (locked,) in dep.rows(
            dep.main_url, shadow("instances"), "locked_by") if locked])
        self.assertEqual(2, count(dep, dep.main_url, instances_t))
        self.assertEqual(2, count(dep, dep.api_url, mappings_t,
                                  mappings_t.c.instance_uuid.in_(live)))
        self.assertEqual(0, count(dep, dep.api_url, mappings_t,
                                  mappings_t.c.instance_uuid.in_(gone)))
        self.assertOutcome(self.run_cmd(*PURGE, "--all"), 0)
        self.assertEqual({}, archive.shadow_row_counts(dep.engine(dep.main_url)))


class PostgreSQLArchiveTest(ServerDatabaseArchiveMixin, CommandTestCase):
    main = staticmethod(manage.main)
    backend = "postgresql"


class MySQLArchiveTest(ServerDatabaseArchiveMixin, CommandTestCase):
    main = staticmethod(manage.main)
    backend = "mysql"
