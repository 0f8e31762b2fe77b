"""nova-manage: one case per documented return code of every command, then key flows.

The cases are tables (``Case``); each becomes a test method of its own, named after the
command, the expected status and the situation. They run in-process against SQLite
files; the flows at the end run on PostgreSQL and MariaDB too.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from unittest import mock

import sqlalchemy as sa
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.cmd import manage
from nova_tx.db import migration
from nova_tx.db.api import cell_mappings, host_mappings
from nova_tx.db.main import models as main_models
from nova_tx.objects.cell_mapping import CellMapping
from tests.cmd import CommandTestCase, Deployment, Outcome, run_main
from tests.db.fixtures import fresh_database_url

CELL0 = CellMapping.CELL0_UUID
API_HEAD = migration.head_revision("api")
MAIN_HEAD = migration.head_revision("main")
#: A PostgreSQL server address nothing listens on: connecting fails at once.
UNREACHABLE_PG = "postgresql+psycopg2://nova:s3cr3t@127.0.0.1:1/nova"
UNKNOWN_UUID = "9e4b4f0e-34a5-4e16-a2e8-000000000000"


# --- deployments the cases start from --------------------------------------------------

def api_only(dep: Deployment) -> dict:
    dep.migrated("api.sqlite", "api")
    return {}


def with_cell0(dep: Deployment) -> dict:
    api_only(dep)
    dep.migrated("nova_cell0.sqlite", "main")
    dep.add_cell("cell0", dep.cell0_url, "none:///", uuid=CELL0)
    return {"cell0": CELL0}


def one_cell(dep: Deployment) -> dict:
    """cell0 and cell1; cell1's database is this host's [database] connection."""
    ctx = with_cell0(dep)
    dep.migrated("nova.sqlite", "main")
    ctx["cell1"] = dep.add_cell("cell1", dep.main_url, dep.transport_url)
    return ctx


def two_cells(dep: Deployment) -> dict:
    ctx = one_cell(dep)
    ctx["cell2_url"] = dep.migrated("nova_cell2.sqlite", "main")
    ctx["cell2"] = dep.add_cell("cell2", ctx["cell2_url"], "rabbit://c2:pw2@mq2:5672/")
    return ctx


def hosts_in_two_cells(dep: Deployment) -> dict:
    ctx = two_cells(dep)
    dep.add_compute_node(dep.main_url, "host1", mapped=1)
    dep.add_host_mapping("host1", ctx["cell1"])
    dep.add_compute_node(ctx["cell2_url"], "host2", mapped=1)
    dep.add_host_mapping("host2", ctx["cell2"])
    return ctx


def two_unmapped_nodes(dep: Deployment) -> dict:
    ctx = one_cell(dep)
    dep.add_compute_node(dep.main_url, "host1")
    dep.add_compute_node(dep.main_url, "host2")
    return ctx


def compose(*steps: Callable[[Deployment, dict], None], base=one_cell):
    """A setup: ``base`` then each step with the deployment and the context."""
    def setup(dep: Deployment) -> dict:
        ctx = base(dep)
        for step in steps:
            step(dep, ctx)
        return ctx
    return setup


def conf(**sections: dict):
    """A step that rewrites nova.conf with some options changed (None removes one)."""
    def step(dep: Deployment, ctx: dict) -> None:
        dep.write_conf(**sections)
    return step


def add_cell0_mapping(dep: Deployment, ctx: dict) -> None:
    """Map cell0 to nova_cell0.sqlite, which stays empty."""
    dep.add_cell("cell0", dep.cell0_url, "none:///", uuid=CELL0)


def unreachable_cell0(dep: Deployment) -> dict:
    api_only(dep)
    dep.add_cell("cell0", UNREACHABLE_PG, "none:///", uuid=CELL0)
    return {}


# --- the table ----------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    name: str
    argv: list[str] | Callable[[dict], list[str]]
    rc: int
    setup: Callable[[Deployment], dict] | None = None
    out: tuple[str, ...] = ()
    err: tuple[str, ...] = ()
    not_out: tuple[str, ...] = ()
    check: Callable[[unittest.TestCase, Deployment, dict, Outcome], None] | None = None
    one_line_error: bool = False
    #: Whether the deployment's --config-file goes first on the command line.
    config: bool = True


def _argv(case: Case, ctx: dict) -> list[str]:
    if callable(case.argv):
        return case.argv(ctx)
    return [arg.format(**ctx) for arg in case.argv]


def _main_at(version):
    def check(test, dep, ctx, outcome):
        test.assertEqual(version, dep.version(dep.main_url, "main"))
    return check


def _cells_count(count):
    def check(test, dep, ctx, outcome):
        test.assertEqual(count, len(dep.cells()), dep.cells())
    return check


def _checks(*checks):
    def check(test, dep, ctx, outcome):
        for c in checks:
            c(test, dep, ctx, outcome)
    return check


def _check_sync_with_cell0(test, dep, ctx, outcome):
    test.assertEqual(MAIN_HEAD, dep.version(dep.main_url, "main"))
    test.assertEqual(MAIN_HEAD, dep.version(dep.cell0_url, "main"))


def _check_api_tables(test, dep, ctx, outcome):
    tables = set(sa.inspect(dep.engine(dep.api_url)).get_table_names())
    for name in ("cell_mappings", "host_mappings", "instance_mappings", "request_specs",
                 "flavors", "build_requests", "key_pairs"):
        test.assertIn(name, tables)


def _check_cell0_url(expected):
    def check(test, dep, ctx, outcome):
        cell0 = [c for c in dep.cells() if c[0] == CELL0]
        expected_url = expected(dep) if callable(expected) else expected
        test.assertEqual([(CELL0, "cell0", "none:///", expected_url, False)], cell0)
    return check


DB_CASES = [
    Case("version_empty_database_prints_none", ["db", "version"], 0, out=("None",)),
    Case("version_after_sync_prints_head", ["db", "version"], 0, setup=one_cell,
         out=(MAIN_HEAD,)),
    Case("sync_without_cell0_mapping_warns", ["db", "sync"], 0, setup=api_only,
         out=("WARNING: cell0 mapping not found - not syncing cell0.",),
         check=_main_at(MAIN_HEAD)),
    Case("sync_also_syncs_cell0", ["db", "sync"], 0,
         setup=compose(add_cell0_mapping, base=api_only), check=_check_sync_with_cell0),
    Case("sync_to_explicit_head_revision", ["db", "sync", MAIN_HEAD], 0, setup=api_only,
         check=_main_at(MAIN_HEAD)),
    Case("sync_unreachable_cell0_leaves_main_alone", ["db", "sync"], 1,
         setup=unreachable_cell0,
         out=("ERROR: Could not access cell0.", 'Has "nova-manage cell_v2 map_cell0" been run?',
              "Error: Cannot connect to database postgresql+psycopg2://nova:****@127.0.0.1:1"),
         not_out=("s3cr3t",), check=_main_at(None)),
    Case("sync_local_cell_ignores_unreachable_cell0", ["db", "sync", "--local_cell"], 0,
         setup=unreachable_cell0, check=_main_at(MAIN_HEAD)),
    Case("sync_local_cell_hyphen_spelling", ["db", "sync", "--local-cell"], 0,
         setup=unreachable_cell0, check=_main_at(MAIN_HEAD)),
    Case("sync_without_api_database_is_the_cell0_checklist", ["db", "sync"], 1,
         setup=compose(conf(api_database={"connection": None}), base=api_only),
         out=("ERROR: Could not access cell0.", "[api_database] connection is not set"),
         check=_main_at(None)),
    Case("sync_unknown_revision_rejected_before_anything", ["db", "sync", "bogus"], 255,
         setup=compose(add_cell0_mapping, base=api_only), one_line_error=True,
         err=("Unknown main database revision 'bogus'",),
         check=_checks(_main_at(None), lambda t, dep, c, o: t.assertIsNone(
             dep.version(dep.cell0_url, "main")))),
]

API_DB_CASES = [
    Case("sync_creates_the_api_tables", ["api_db", "sync"], 0, check=_check_api_tables),
    Case("sync_again_is_a_no_op", ["api_db", "sync"], 0, setup=api_only,
         check=lambda t, dep, c, o: t.assertEqual(API_HEAD, dep.version(dep.api_url, "api"))),
    Case("sync_to_explicit_revision", ["api_db", "sync", API_HEAD], 0,
         check=lambda t, dep, c, o: t.assertEqual(API_HEAD, dep.version(dep.api_url, "api"))),
    Case("sync_unknown_revision", ["api_db", "sync", "216_havana"], 255, one_line_error=True,
         err=("Unknown api database revision '216_havana'",)),
    Case("version_after_sync", ["api_db", "version"], 0, setup=api_only, out=(API_HEAD,)),
    Case("version_empty", ["api_db", "version"], 0, out=("None",)),
]

MAP_CELL0_CASES = [
    Case("derives_sqlite_cell0_file", ["cell_v2", "map_cell0"], 0, setup=api_only,
         check=_check_cell0_url(lambda dep: dep.cell0_url)),
    Case("derives_cell0_name_keeping_query", ["cell_v2", "map_cell0"], 0,
         setup=compose(conf(database={"connection":
                                      "mysql+pymysql://u:p@dbhost/nova?charset=utf8"}),
                       base=api_only),
         check=_check_cell0_url("mysql+pymysql://u:p@dbhost/nova_cell0?charset=utf8")),
    Case("explicit_url_stored_verbatim",
         ["cell_v2", "map_cell0", "--database_connection",
          "postgresql://a:b@elsewhere:5433/graveyard?sslmode=require"], 0, setup=api_only,
         check=_check_cell0_url("postgresql://a:b@elsewhere:5433/graveyard?sslmode=require")),
    Case("already_setup", ["cell_v2", "map_cell0"], 0, setup=with_cell0,
         out=("Cell0 is already setup",), check=_cells_count(1)),
    Case("no_database_connection_anywhere", ["cell_v2", "map_cell0"], 255,
         setup=compose(conf(database={"connection": None}), base=api_only),
         one_line_error=True, err=("[database] connection is not set",)),
]


def _check_simple_setup(test, dep, ctx, outcome):
    cells = dep.cells()
    test.assertEqual(2, len(cells), cells)
    test.assertEqual((CELL0, "cell0", "none:///", dep.cell0_url, False), cells[0])
    cell1 = cells[1]
    test.assertEqual((dep.transport_url, dep.main_url), cell1[2:4])
    test.assertEqual({"host1": cell1[0], "host2": cell1[0]}, dep.host_mappings())
    test.assertEqual({(u, cell1[0]) for u in ctx["instances"]},
                     {m[:2] for m in dep.instance_mappings()})
    test.assertEqual(MAIN_HEAD, dep.version(dep.cell0_url, "main"))


def _nodes_and_instances(dep, ctx):
    dep.migrated("nova.sqlite", "main")
    dep.add_compute_node(dep.main_url, "host1")
    dep.add_compute_node(dep.main_url, "host2")
    ctx["instances"] = dep.add_instances(dep.main_url, 3)


SIMPLE_CELL_SETUP_CASES = [
    Case("no_transport_url_anywhere", ["cell_v2", "simple_cell_setup"], 1,
         setup=compose(conf(DEFAULT={"transport_url": None}), base=api_only),
         out=("Must specify --transport-url if [DEFAULT]/transport_url is not set",),
         check=_cells_count(0)),
    Case("invalid_transport_url",
         ["cell_v2", "simple_cell_setup", "--transport-url", "notascheme:/"], 1,
         setup=api_only, out=("Invalid transport URL: notascheme:/",), check=_cells_count(0)),
    Case("no_compute_nodes_but_cell0_created", ["cell_v2", "simple_cell_setup"], 1,
         setup=compose(lambda dep, ctx: dep.migrated("nova.sqlite", "main"), base=api_only),
         out=("No hosts found to map to cell, exiting.",),
         check=_checks(_cells_count(1), lambda t, dep, c, o: t.assertEqual(
             MAIN_HEAD, dep.version(dep.cell0_url, "main")))),
    Case("maps_cell0_cell_hosts_and_instances", ["cell_v2", "simple_cell_setup"], 0,
         setup=compose(_nodes_and_instances, base=api_only), check=_check_simple_setup),
]

MAP_INSTANCES_CASES = [
    Case("max_count_zero", ["cell_v2", "map_instances", "--cell_uuid", "{cell1}",
                            "--max-count", "0"], 127, setup=one_cell,
         out=("Must supply a positive value for max-count",)),
    Case("max_count_not_a_number", ["cell_v2", "map_instances", "--cell_uuid", "{cell1}",
                                    "--max-count", "many"], 127, setup=one_cell),
    Case("unknown_cell", ["cell_v2", "map_instances", "--cell_uuid", UNKNOWN_UUID], 255,
         setup=one_cell, out=(f"Cell with uuid {UNKNOWN_UUID} was not found.",)),
    Case("missing_cell_uuid_is_a_usage_error", ["cell_v2", "map_instances"], 2,
         setup=one_cell, err=("--cell_uuid",)),
]


def _check_one_new_cell(test, dep, ctx, outcome):
    cells = [c for c in dep.cells() if c[0] != CELL0]
    test.assertEqual(1, len(cells), cells)
    test.assertEqual({"host1": cells[0][0], "host2": cells[0][0]}, dep.host_mappings())


MAP_CELL_AND_HOSTS_CASES = [
    Case("maps_a_cell_and_its_hosts", ["cell_v2", "map_cell_and_hosts", "--name", "c1",
                                       "--verbose"], 0,
         setup=compose(lambda dep, ctx: (dep.migrated("nova.sqlite", "main"),
                                         dep.add_compute_node(dep.main_url, "host1"),
                                         dep.add_compute_node(dep.main_url, "host2")),
                       base=api_only),
         check=_check_one_new_cell),
    Case("bad_transport_url", ["cell_v2", "map_cell_and_hosts", "--transport-url",
                               "notascheme:/"], 1, setup=api_only,
         out=("Invalid transport URL",)),
    Case("no_transport_url", ["cell_v2", "map_cell_and_hosts"], 1,
         setup=compose(conf(DEFAULT={"transport_url": None}), base=api_only)),
    Case("no_compute_nodes", ["cell_v2", "map_cell_and_hosts"], 0,
         setup=compose(lambda dep, ctx: dep.migrated("nova.sqlite", "main"), base=api_only),
         out=("No hosts found to map to cell, exiting.",), check=_cells_count(0)),
]


def _instance(state: str, mapped_to: str | None = "cell1"):
    """A step adding instance ``ctx['instance']`` to cell1 (live/deleted/archived)."""
    def step(dep, ctx):
        if state == "archived":
            ctx["instance"] = str(uuidlib.uuid4())
        else:
            ctx["instance"] = dep.add_instances(dep.main_url, 1, deleted=state == "deleted")[0]
        if mapped_to is not None or state == "unscheduled":
            dep.add_instance_mapping(ctx["instance"], ctx.get(mapped_to) if mapped_to else None)
    return step


VERIFY = ["cell_v2", "verify_instance", "--uuid", "{instance}"]
VERIFY_INSTANCE_CASES = [
    Case("mapped_and_live", VERIFY, 0, setup=compose(_instance("live")),
         out=("is in cell: cell1 (",)),
    Case("not_mapped", VERIFY, 1, setup=compose(_instance("live", None)),
         out=("is not mapped to a cell (upgrade is incomplete) or instance does not exist",)),
    Case("mapping_without_cell", VERIFY, 2, setup=compose(_instance("unscheduled", None)),
         out=("is not mapped to a cell",)),
    Case("deleted_but_mapped", VERIFY, 3, setup=compose(_instance("deleted")),
         out=("has been deleted.", "nova-manage db archive_deleted_rows")),
    Case("archived_but_mapped", VERIFY, 4, setup=compose(_instance("archived")),
         out=("has been archived.", "However its instance_mapping remains.")),
    *[Case(f"quiet_rc{rc}", [*VERIFY, "--quiet"], rc, setup=compose(_instance(*args)),
           check=lambda t, dep, c, o: t.assertEqual("", o.out))
      for rc, args in [(0, ("live",)), (1, ("live", None)), (2, ("unscheduled", None)),
                       (3, ("deleted",)), (4, ("archived",))]],
]


def _check_created(name, transport, database, disabled):
    def check(test, dep, ctx, outcome):
        new = [c for c in dep.cells() if c[1] == name]
        test.assertEqual(1, len(new), dep.cells())
        expected_db = database(dep) if callable(database) else database
        test.assertEqual((name, transport, expected_db, disabled), new[0][1:])
    return check

CREATE_CELL_CASES = [
    Case("created_verbose_prints_uuid",
         ["cell_v2", "create_cell", "--name", "cell9", "--verbose", "--transport-url",
          "rabbit://u9:p9@mq9:5672/", "--database_connection", "sqlite:////tmp/cell9.sqlite"],
         0, setup=with_cell0,
         check=lambda t, dep, c, o: t.assertEqual(
             [(o.out.split()[-1], "cell9", "rabbit://u9:p9@mq9:5672/",
               "sqlite:////tmp/cell9.sqlite", False)],
             [cell for cell in dep.cells() if cell[1] == "cell9"])),
    Case("defaults_from_configuration", ["cell_v2", "create_cell", "--name", "c"], 0,
         setup=with_cell0, out=("--transport-url not provided in the command line",),
         check=_check_created("c", "rabbit://nova:secret@mq1:5672/", lambda dep: dep.main_url,
                              False)),
    Case("disabled", ["cell_v2", "create_cell", "--name", "off", "--disabled"], 0,
         setup=with_cell0,
         check=lambda t, dep, c, o: t.assertEqual(
             [True], [cell[4] for cell in dep.cells() if cell[1] == "off"])),
    Case("no_transport_url", ["cell_v2", "create_cell", "--name", "x"], 1,
         setup=compose(conf(DEFAULT={"transport_url": None}), base=with_cell0),
         out=("Must specify --transport-url",), check=_cells_count(1)),
    Case("invalid_transport_url", ["cell_v2", "create_cell", "--transport-url",
                                   "rabbit://h:notaport/"], 1, setup=with_cell0,
         out=("Invalid transport URL",), check=_cells_count(1)),
    Case("no_database_connection", ["cell_v2", "create_cell"], 1,
         setup=compose(conf(database={"connection": None}), base=with_cell0),
         out=("Must specify --database_connection if [database]/connection is not set",),
         check=_cells_count(1)),
    Case("invalid_database_connection", ["cell_v2", "create_cell", "--database_connection",
                                         "not a url"], 1, setup=with_cell0,
         out=("Invalid database connection",), check=_cells_count(1)),
    Case("same_database_as_another_cell", ["cell_v2", "create_cell", "--transport-url",
                                           "rabbit://new@mq/"], 2, setup=one_cell,
         out=("already exists for another cell with uuid",), check=_cells_count(2)),
    Case("same_transport_as_another_cell",
         ["cell_v2", "create_cell", "--database_connection", "sqlite:////tmp/other.sqlite"],
         2, setup=one_cell, check=_cells_count(2)),
]


def _check_hosts(expected: Callable[[dict], dict]):
    def check(test, dep, ctx, outcome):
        test.assertEqual(expected(ctx), dep.host_mappings())
    return check


# --- another discover_hosts at the same time -------------------------------------------
#
# Two discover_hosts at once can both read that a host is unmapped and both insert its
# mapping: the unique constraint on host_mappings.host refuses the second insert, and
# the command ends with 2. The tests make the other run's insert really happen between
# this run's read of the host mappings and its insert:
#
# - On PostgreSQL and MariaDB, with a real concurrent transaction: the test locks
#   compute_nodes in the cell database, which discover_hosts reads after the host
#   mappings and before inserting. Once the command waits on that lock, the test maps
#   the host in a transaction of its own (as the other discover_hosts would), commits,
#   and releases the lock.
# - On SQLite that cannot happen: a transaction whose snapshot has been overtaken by
#   another connection's commit cannot write (SQLITE_BUSY_SNAPSHOT), so a real
#   concurrent commit ends the command with "database is locked", not with a
#   duplicate. A trigger on host_mappings inserts the other run's row instead, in the
#   command's own transaction, just before the command's insert.

def map_host_before_insert(dep: Deployment, host: str) -> None:
    """SQLite: the API database inserts ``host``'s mapping right before the command does."""
    with dep.engine(dep.api_url).begin() as conn:
        # No recursion: SQLite's triggers do not fire for their own inserts by default.
        conn.exec_driver_sql(
            "CREATE TRIGGER another_discover_hosts BEFORE INSERT ON host_mappings "
            f"WHEN NEW.host = '{host}' BEGIN "
            "INSERT INTO host_mappings (host, cell_id, created_at) "
            "VALUES (NEW.host, NEW.cell_id, CURRENT_TIMESTAMP); END")


#: Sessions of this database waiting for a lock on compute_nodes, per backend.
_WAITING_FOR_COMPUTE_NODES = {
    "postgresql": "SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = "
                  "pg_locks.relation JOIN pg_database ON pg_database.oid = pg_locks.database "
                  "WHERE NOT pg_locks.granted AND pg_class.relname = 'compute_nodes' "
                  "AND pg_database.datname = current_database()",
    "mysql": "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() "
             "AND state LIKE 'Waiting for table%' AND info LIKE '%compute_nodes%'",
}


def run_while_mapping_host(test: ManageCase, backend: str, cell_url: str, cell_uuid: str,
                           host: str, *argv: str) -> Outcome:
    """PostgreSQL, MariaDB: run the command while another transaction maps ``host``.

    The other transaction commits while the command, having read the host mappings,
    waits for the lock the test holds on compute_nodes.
    """
    dep = test.dep
    cell_db = dep.engine(cell_url)
    result: dict = {}

    def command() -> None:
        try:
            result["outcome"] = test.run_cmd(*argv)
        except BaseException as e:  # re-raised in the test's thread
            result["error"] = e

    thread = threading.Thread(target=command, name="discover_hosts")
    with cell_db.connect() as lock, cell_db.connect() as monitor:
        if backend == "postgresql":
            lock.exec_driver_sql("LOCK TABLE compute_nodes IN ACCESS EXCLUSIVE MODE")
        else:
            lock.exec_driver_sql("LOCK TABLES compute_nodes WRITE")
        thread.start()
        try:
            deadline = time.monotonic() + 30
            while not monitor.execute(sa.text(_WAITING_FOR_COMPUTE_NODES[backend])).scalar():
                monitor.rollback()
                if not thread.is_alive():
                    test.fail("the command ended before it read compute_nodes: "
                              f"{result.get('outcome') or result.get('error')}")
                if time.monotonic() > deadline:
                    test.fail("the command did not wait for the lock on compute_nodes")
                time.sleep(0.01)
            with dep.engine(dep.api_url).begin() as conn:
                host_mappings.create(conn, host, cell_mappings.get_by_uuid(conn, cell_uuid))
        finally:
            if backend == "postgresql":
                lock.rollback()
            else:
                lock.exec_driver_sql("UNLOCK TABLES")
            thread.join(60)
    if thread.is_alive():
        test.fail("the command did not end after the lock was released")
    if "error" in result:
        raise result["error"]
    return result["outcome"]


DISCOVER_HOSTS_CASES = [
    Case("maps_new_hosts", ["cell_v2", "discover_hosts"], 0, setup=two_unmapped_nodes,
         check=_checks(_check_hosts(lambda c: {"host1": c["cell1"], "host2": c["cell1"]}),
                       lambda t, dep, c, o: t.assertEqual(
                           {"host1": 1, "host2": 1}, dep.compute_nodes_mapped(dep.main_url)))),
    Case("strict_maps_new_hosts", ["cell_v2", "discover_hosts", "--strict"], 0,
         setup=two_unmapped_nodes),
    Case("nothing_to_map", ["cell_v2", "discover_hosts"], 0, setup=hosts_in_two_cells),
    Case("strict_nothing_to_map", ["cell_v2", "discover_hosts", "--strict"], 1,
         setup=hosts_in_two_cells),
    Case("verbose", ["cell_v2", "discover_hosts", "--verbose"], 0, setup=two_unmapped_nodes,
         out=("Found 2 cell mappings.", "Skipping cell0 since it does not contain hosts.",
              "Getting computes from cell 'cell1': ",
              "Checking host mapping for compute host 'host1': ",
              "Creating host mapping for compute host 'host2': ",
              "Found 2 unmapped computes in cell: ")),
    Case("one_cell_only", ["cell_v2", "discover_hosts", "--cell_uuid", "{cell2}"], 0,
         setup=compose(lambda dep, ctx: (dep.add_compute_node(dep.main_url, "h1"),
                                         dep.add_compute_node(ctx["cell2_url"], "h2")),
                       base=two_cells),
         check=_check_hosts(lambda c: {"h2": c["cell2"]})),
    Case("by_service_maps_a_service_without_node",
         ["cell_v2", "discover_hosts", "--by-service"], 0,
         setup=compose(lambda dep, ctx: dep.add_service(dep.main_url, "ironic1")),
         check=_check_hosts(lambda c: {"ironic1": c["cell1"]})),
    Case("duplicate_host_mapping", ["cell_v2", "discover_hosts"], 2,
         setup=compose(lambda dep, ctx: map_host_before_insert(dep, "host1"),
                       base=two_unmapped_nodes),
         out=("ERROR: Duplicate host mapping was encountered.",)),
    Case("unknown_cell", ["cell_v2", "discover_hosts", "--cell_uuid", UNKNOWN_UUID], 1,
         setup=one_cell, out=(f"Cell with uuid {UNKNOWN_UUID} was not found.",)),
    Case("unreachable_cell_database", ["cell_v2", "discover_hosts"], 1,
         setup=compose(lambda dep, ctx: dep.add_cell("down", UNREACHABLE_PG)),
         one_line_error=True, err=("postgresql+psycopg2://nova:****@127.0.0.1:1/nova",)),
]


def _templated(dep, ctx):
    dep.add_cell("tmpl", "sqlite:////{path}", "rabbit://{username}:{password}@other:5672/")


LIST_CELLS_CASES = [
    Case("masks_passwords", ["cell_v2", "list_cells"], 0, setup=two_cells,
         out=("rabbit://nova:****@mq1:5672/", "rabbit://c2:****@mq2:5672/", "none:///",
              "Name", "UUID", "Transport URL", "Database Connection", "Disabled"),
         not_out=("secret", "pw2")),
    Case("verbose_shows_passwords", ["cell_v2", "list_cells", "--verbose"], 0,
         setup=two_cells, out=("rabbit://nova:secret@mq1:5672/", "rabbit://c2:pw2@mq2:5672/")),
    Case("fills_templates", ["cell_v2", "list_cells", "--verbose"], 0,
         setup=compose(_templated, base=with_cell0),
         out=("rabbit://nova:secret@other:5672/",),
         check=lambda t, dep, c, o: t.assertIn(f" {dep.main_url} ", o.out)),
    Case("sorted_by_name", ["cell_v2", "list_cells"], 0,
         setup=compose(lambda dep, ctx: dep.add_cell(None, "sqlite:////tmp/unnamed.sqlite"),
                       base=two_cells),
         check=lambda t, dep, c, o: t.assertEqual(
             ["", "cell0", "cell1", "cell2"],
             [line.split("|")[1].strip() for line in o.out.splitlines()
              if line.startswith("|")][1:])),
]

DELETE_CELL_CASES = [
    Case("empty_cell", ["cell_v2", "delete_cell", "--cell_uuid", "{cell2}"], 0,
         setup=two_cells, check=_cells_count(2)),
    Case("unknown_cell", ["cell_v2", "delete_cell", "--cell_uuid", UNKNOWN_UUID], 1,
         setup=one_cell, out=(f"Cell with uuid {UNKNOWN_UUID} was not found.",)),
    Case("has_hosts", ["cell_v2", "delete_cell", "--cell_uuid", "{cell2}"], 2,
         setup=hosts_in_two_cells, out=("There are existing hosts mapped to cell",),
         check=_cells_count(3)),
    Case("live_instances_even_with_force",
         ["cell_v2", "delete_cell", "--force", "--cell_uuid", "{cell1}"], 3,
         setup=compose(_instance("live")), out=("There are existing instances mapped",),
         check=_cells_count(2)),
    Case("deleted_instances_without_force",
         ["cell_v2", "delete_cell", "--cell-uuid", "{cell1}"], 4,
         setup=compose(_instance("deleted")),
         out=("but all instances have been deleted", "nova-manage db archive_deleted_rows"),
         check=_cells_count(2)),
    Case("force_deletes_hosts_and_mappings",
         ["cell_v2", "delete_cell", "--force", "--cell_uuid", "{cell1}"], 0,
         setup=compose(_instance("deleted"),
                       lambda dep, ctx: (dep.add_compute_node(dep.main_url, "host1", mapped=1),
                                         dep.add_host_mapping("host1", ctx["cell1"]))),
         check=lambda t, dep, c, o: (
             t.assertEqual([CELL0], [cell[0] for cell in dep.cells()]),
             t.assertEqual({}, dep.host_mappings()),
             t.assertEqual([], dep.instance_mappings()),
             t.assertEqual({"host1": 0}, dep.compute_nodes_mapped(dep.main_url)))),
]

LIST_HOSTS_CASES = [
    Case("all_cells", ["cell_v2", "list_hosts"], 0, setup=hosts_in_two_cells,
         check=lambda t, dep, c, o: t.assertEqual(
             [["Cell Name", "Cell UUID", "Hostname"], ["cell1", c["cell1"], "host1"],
              ["cell2", c["cell2"], "host2"]],
             [[f.strip() for f in line.split("|")[1:-1]] for line in o.out.splitlines()
              if line.startswith("|")])),
    Case("one_cell", ["cell_v2", "list_hosts", "--cell_uuid", "{cell2}"], 0,
         setup=hosts_in_two_cells, out=("host2",), not_out=("host1",)),
    Case("unknown_cell", ["cell_v2", "list_hosts", "--cell_uuid", UNKNOWN_UUID], 1,
         setup=hosts_in_two_cells, out=(f"Cell with uuid {UNKNOWN_UUID} was not found.",)),
]


def _cell(ctx_key):
    def get(test, dep, ctx):
        return [c for c in dep.cells() if c[0] == ctx[ctx_key]][0]
    return get


UPDATE = ["cell_v2", "update_cell", "--cell_uuid"]
UPDATE_CELL_CASES = [
    Case("rename", [*UPDATE, "{cell2}", "--name", "renamed", "--transport-url",
                    "rabbit://c2:pw2@mq2:5672/", "--database_connection", "{cell2_url}"], 0,
         setup=two_cells,
         check=lambda t, dep, c, o: t.assertEqual("renamed", _cell("cell2")(t, dep, c)[1])),
    Case("rename_takes_urls_from_configuration", [*UPDATE, "{cell1}", "--name", "one"], 0,
         setup=one_cell,
         check=lambda t, dep, c, o: t.assertEqual(
             ("one", dep.transport_url, dep.main_url), _cell("cell1")(t, dep, c)[1:4])),
    Case("rename_cell0_keeps_its_urls", [*UPDATE, CELL0, "--name", "graveyard"], 0,
         setup=one_cell,
         check=lambda t, dep, c, o: t.assertEqual(
             ("graveyard", "none:///", dep.cell0_url), _cell("cell0")(t, dep, c)[1:4])),
    Case("unknown_cell", [*UPDATE, UNKNOWN_UUID, "--name", "x"], 1, setup=one_cell,
         out=(f"Cell with uuid {UNKNOWN_UUID} was not found.",)),
    Case("invalid_transport_url", [*UPDATE, "{cell2}", "--transport-url", "nope",
                                   "--database_connection", "{cell2_url}"], 2,
         setup=two_cells, out=("Unable to update CellMapping",)),
    Case("database_of_another_cell", [*UPDATE, "{cell2}", "--database_connection",
                                      "{cell2_url}"], 3, setup=two_cells,
         out=("already exists for another cell with uuid",)),
    Case("disable_and_enable", [*UPDATE, "{cell2}", "--disable", "--enable",
                                "--database_connection", "{cell2_url}", "--transport-url",
                                "rabbit://c2:pw2@mq2:5672/"], 4, setup=two_cells,
         out=("Cell cannot be disabled and enabled at same time.",)),
    Case("disable_cell0", [*UPDATE, CELL0, "--disable"], 5, setup=one_cell,
         out=("Cell0 cannot be disabled.",)),
    Case("disable", [*UPDATE, "{cell1}", "--disable"], 0, setup=one_cell,
         check=lambda t, dep, c, o: t.assertTrue(_cell("cell1")(t, dep, c)[4])),
    Case("already_disabled", [*UPDATE, "{off}", "--disable"], 0,
         setup=compose(lambda dep, ctx: ctx.update(off=dep.add_cell(
             "off", dep.main_url, dep.transport_url, disabled=True)), base=with_cell0),
         out=(" is already disabled",),
         check=lambda t, dep, c, o: t.assertTrue(_cell("off")(t, dep, c)[4])),
]

DELETE_HOST_CASES = [
    Case("empty_host", ["cell_v2", "delete_host", "--cell_uuid", "{cell1}", "--host",
                        "host1"], 0, setup=hosts_in_two_cells,
         check=lambda t, dep, c, o: (
             t.assertEqual({"host2": c["cell2"]}, dep.host_mappings()),
             t.assertEqual({"host1": 0}, dep.compute_nodes_mapped(dep.main_url)))),
    Case("unknown_cell", ["cell_v2", "delete_host", "--cell_uuid", UNKNOWN_UUID, "--host",
                          "host1"], 1, setup=hosts_in_two_cells),
    Case("unknown_host", ["cell_v2", "delete_host", "--cell_uuid", "{cell1}", "--host",
                          "nohost"], 2, setup=hosts_in_two_cells,
         out=("The host nohost was not found.",)),
    Case("host_in_other_cell", ["cell_v2", "delete_host", "--cell_uuid", "{cell1}",
                                "--host", "host2"], 3, setup=hosts_in_two_cells,
         out=("The host host2 was not found in the cell",)),
    Case("host_with_instances", ["cell_v2", "delete_host", "--cell_uuid", "{cell1}",
                                 "--host", "host1"], 4,
         setup=compose(lambda dep, ctx: dep.add_instances(dep.main_url, 1, host="host1"),
                       base=hosts_in_two_cells),
         out=("There are instances on the host host1.",),
         check=lambda t, dep, c, o: t.assertIn("host1", dep.host_mappings())),
]


def damage_version_table(dep: Deployment, ctx: dict | None = None) -> None:
    """A main database whose alembic_version table lost its column: reading fails."""
    dep.migrated("nova.sqlite", "main")
    with dep.engine(dep.main_url).begin() as conn:
        conn.exec_driver_sql(
            "ALTER TABLE alembic_version RENAME COLUMN version_num TO version")


#: The last line of the traceback a damaged version table gives.
VERSION_TABLE_ERROR = "OperationalError) no such column: alembic_version.version_num"


CLI_CASES = [
    Case("no_arguments_lists_categories", [], 2, config=False,
         err=("{version,bash-completion,api_db,cell_v2,db,numa,placement}",
              "the following arguments are required: category")),
    Case("category_alone_lists_actions", ["db"], 2,
         err=("{archive_deleted_rows,online_data_migrations,purge,sync,version}",)),
    Case("unknown_action", ["cell_v2", "frobnicate"], 2, err=("invalid choice",)),
    Case("unknown_option", ["cell_v2", "list_cells", "--no-such-option"], 2),
    Case("version", ["version"], 0, out=("0.1.0",)),
    Case("bash_completion_categories", ["bash-completion"], 0,
         out=("api_db cell_v2 db numa placement\n",)),
    Case("bash_completion_actions", ["bash-completion", "db"], 0,
         out=("archive_deleted_rows online_data_migrations purge sync version\n",)),
    Case("help", ["cell_v2", "create_cell", "--help"], 0,
         out=("--transport-url", "--database_connection", "--disabled")),
    Case("unexpected_error_prints_traceback", ["db", "version"], 255,
         setup=compose(damage_version_table, base=api_only),
         out=("An error has occurred:\nTraceback", VERSION_TABLE_ERROR)),
    Case("missing_api_database_connection", ["cell_v2", "list_cells"], 255,
         setup=compose(conf(api_database={"connection": None}), base=api_only),
         one_line_error=True, err=("nova-manage:", "[api_database] connection is not set")),
    Case("unreachable_database", ["db", "version"], 255,
         setup=compose(conf(database={"connection": UNREACHABLE_PG}), base=api_only),
         one_line_error=True,
         err=("Cannot connect to database postgresql+psycopg2://nova:****@127.0.0.1:1/nova",),
         not_out=("s3cr3t",)),
    Case("unreachable_api_database", ["cell_v2", "list_cells"], 255,
         setup=compose(conf(api_database={"connection": UNREACHABLE_PG}), base=api_only),
         one_line_error=True, err=("nova:****@127.0.0.1:1",)),
    Case("unusable_database_url", ["db", "version"], 255,
         setup=compose(conf(database={"connection": "nosuchdialect://x/y"}), base=api_only),
         one_line_error=True, err=("invalid value for option database.connection",)),
    Case("options_after_the_command", lambda ctx: [
        "cell_v2", "list_cells", "--config-file", ctx["conf"], "--debug"], 0,
         setup=one_cell, config=False, out=("cell1",)),
]


def _add_cases(cls, command: str, cases: list[Case]) -> None:
    for case in cases:
        name = f"test_{command}_rc{case.rc}_{case.name}"
        assert not hasattr(cls, name), name

        def test(self, case=case):
            self.run_case(case)

        test.__name__ = name
        setattr(cls, name, test)


class ManageCase(CommandTestCase):
    main = staticmethod(manage.main)

    def run_case(self, case: Case) -> None:
        ctx = case.setup(self.dep) if case.setup else {}
        ctx.setdefault("conf", self.dep.conf_path)
        outcome = self.run_cmd(*_argv(case, ctx), config=case.config)
        if case.one_line_error:
            self.assertOneLineError(outcome, case.rc, *case.err)
        self.assertOutcome(outcome, case.rc, out=case.out, err=case.err)
        for text in case.not_out:
            self.assertNotIn(text, outcome.out + outcome.err)
        if case.check:
            case.check(self, self.dep, ctx, outcome)


class DbTest(ManageCase):
    pass


class ApiDbTest(ManageCase):
    pass


class CellV2Test(ManageCase):
    pass


class CliTest(ManageCase):
    pass


_add_cases(DbTest, "db", DB_CASES)
_add_cases(ApiDbTest, "api_db", API_DB_CASES)
for _command, _cases in [
    ("map_cell0", MAP_CELL0_CASES), ("simple_cell_setup", SIMPLE_CELL_SETUP_CASES),
    ("map_instances", MAP_INSTANCES_CASES), ("map_cell_and_hosts", MAP_CELL_AND_HOSTS_CASES),
    ("verify_instance", VERIFY_INSTANCE_CASES), ("create_cell", CREATE_CELL_CASES),
    ("discover_hosts", DISCOVER_HOSTS_CASES), ("list_cells", LIST_CELLS_CASES),
    ("delete_cell", DELETE_CELL_CASES), ("list_hosts", LIST_HOSTS_CASES),
    ("update_cell", UPDATE_CELL_CASES), ("delete_host", DELETE_HOST_CASES),
]:
    _add_cases(CellV2Test, _command, _cases)
_add_cases(CliTest, "cli", CLI_CASES)


class FlowTest(ManageCase):
    """Sequences of commands, where one run depends on the previous one."""

    def test_map_instances_resumes_from_its_marker(self):
        ctx = one_cell(self.dep)
        uuids = self.dep.add_instances(self.dep.main_url, 120)
        argv = ["cell_v2", "map_instances", "--cell_uuid", ctx["cell1"], "--max-count", "50"]
        self.assertEqual([1, 1, 0], [self.run_cmd(*argv).rc for _ in range(3)])
        mappings = self.dep.instance_mappings()
        self.assertEqual(sorted(uuids), sorted(m[0] for m in mappings))
        self.assertEqual({ctx["cell1"]}, {m[1] for m in mappings})
        # Oldest first: after the first run, the 50 oldest are mapped.
        self.assertEqual(uuids, [m[0] for m in mappings])

        outcome = self.run_cmd("cell_v2", "map_instances", "--cell_uuid", ctx["cell1"],
                               "--reset")
        self.assertOutcome(outcome, 0)
        self.assertEqual(120, len(self.dep.instance_mappings()))

    def test_map_instances_marker_between_runs(self):
        ctx = one_cell(self.dep)
        uuids = self.dep.add_instances(self.dep.main_url, 3)
        argv = ["cell_v2", "map_instances", "--cell_uuid", ctx["cell1"], "--max-count", "2"]
        self.assertOutcome(self.run_cmd(*argv), 1)
        mappings = self.dep.instance_mappings()
        # Two instances and the marker row, whose uuid has spaces for dashes.
        self.assertEqual([(uuids[0], ctx["cell1"], "p1"), (uuids[1], ctx["cell1"], "p1"),
                          (uuids[1].replace("-", " "), None, manage.MARKER_PROJECT_ID)],
                         mappings)
        self.assertOutcome(self.run_cmd(*argv), 0)
        self.assertEqual(uuids, [m[0] for m in self.dep.instance_mappings()])

    def test_map_instances_all_in_batches_with_deleted_and_already_mapped(self):
        ctx = one_cell(self.dep)
        live = self.dep.add_instances(self.dep.main_url, 70)
        deleted = self.dep.add_instances(self.dep.main_url, 5, deleted=True)
        self.dep.add_instance_mapping(live[3], ctx["cell1"])
        outcome = self.run_cmd("cell_v2", "map_instances", "--cell_uuid", ctx["cell1"])
        self.assertOutcome(outcome, 0)
        self.assertEqual(sorted(live + deleted),
                         sorted(m[0] for m in self.dep.instance_mappings()))

    def test_simple_cell_setup_twice(self):
        api_only(self.dep)
        _nodes_and_instances(self.dep, ctx := {})
        self.assertOutcome(self.run_cmd("cell_v2", "simple_cell_setup"), 0)
        outcome = self.run_cmd("cell_v2", "simple_cell_setup")
        self.assertOutcome(outcome, 0, out=("Cell0 is already setup",
                                            "All hosts are already mapped to cell(s)."))
        _check_simple_setup(self, self.dep, ctx, outcome)

    def test_simple_cell_setup_reuses_a_created_cell(self):
        api_only(self.dep)
        _nodes_and_instances(self.dep, {})
        self.assertOutcome(self.run_cmd("cell_v2", "create_cell", "--name", "cell1"), 0)
        self.assertOutcome(self.run_cmd("cell_v2", "simple_cell_setup"), 0)
        cells = {c[1]: c[0] for c in self.dep.cells()}
        self.assertEqual(["cell0", "cell1"], sorted(cells))
        self.assertEqual({"host1": cells["cell1"], "host2": cells["cell1"]},
                         self.dep.host_mappings())

    def test_map_cell_and_hosts_twice_maps_one_cell(self):
        api_only(self.dep)
        self.dep.migrated("nova.sqlite", "main")
        self.dep.add_compute_node(self.dep.main_url, "host1")
        first = self.run_cmd("cell_v2", "map_cell_and_hosts", "--verbose")
        self.assertOutcome(first, 0)
        cell_uuid = first.out.split()[-1]
        self.assertEqual([cell_uuid], [c[0] for c in self.dep.cells()])
        self.dep.add_compute_node(self.dep.main_url, "host2")
        second = self.run_cmd("cell_v2", "map_cell_and_hosts", "--verbose")
        self.assertOutcome(second, 0, out=(f"Host host1 is already mapped to cell {cell_uuid}",))
        self.assertEqual([cell_uuid], [c[0] for c in self.dep.cells()])
        self.assertEqual({"host1": cell_uuid, "host2": cell_uuid}, self.dep.host_mappings())
        third = self.run_cmd("cell_v2", "map_cell_and_hosts")
        self.assertOutcome(third, 0, out=("All hosts are already mapped to cell(s).",))

    def test_create_cell_then_list_then_disable(self):
        with_cell0(self.dep)
        created = self.run_cmd("cell_v2", "create_cell", "--name", "cell1", "--verbose")
        self.assertOutcome(created, 0)
        cell_uuid = created.out.split()[-1]
        listed = self.run_cmd("cell_v2", "list_cells")
        row = [line for line in listed.out.splitlines() if cell_uuid in line]
        self.assertEqual(1, len(row), listed)
        self.assertEqual("False", row[0].split("|")[5].strip())
        self.assertOutcome(self.run_cmd("cell_v2", "update_cell", "--cell_uuid", cell_uuid,
                                        "--disable"), 0)
        listed = self.run_cmd("cell_v2", "list_cells")
        row = [line for line in listed.out.splitlines() if cell_uuid in line]
        self.assertEqual("True", row[0].split("|")[5].strip())
        self.assertOutcome(self.run_cmd("cell_v2", "update_cell", "--cell_uuid", cell_uuid,
                                        "--enable"), 0)
        self.assertFalse(self.dep.cells()[1][4])

    def test_discover_hosts_marks_every_node_of_a_new_host(self):
        ctx = one_cell(self.dep)
        self.dep.add_compute_node(self.dep.main_url, "ironic", node="node-a")
        self.dep.add_compute_node(self.dep.main_url, "ironic", node="node-b")
        self.assertOutcome(self.run_cmd("cell_v2", "discover_hosts", "--strict"), 0)
        self.assertEqual({"ironic": ctx["cell1"]}, self.dep.host_mappings())
        self.assertEqual({"node-a": 1, "node-b": 1},
                         self.dep.compute_nodes_mapped(self.dep.main_url))
        self.assertOutcome(self.run_cmd("cell_v2", "discover_hosts", "--strict"), 1)

    def test_delete_host_then_rediscover(self):
        ctx = hosts_in_two_cells(self.dep)
        self.assertOutcome(self.run_cmd("cell_v2", "delete_host", "--cell_uuid", ctx["cell1"],
                                        "--host", "host1"), 0)
        self.assertOutcome(self.run_cmd("cell_v2", "discover_hosts", "--strict"), 0)
        self.assertEqual({"host1": ctx["cell1"], "host2": ctx["cell2"]},
                         self.dep.host_mappings())


class ConfigurationErrorTest(ManageCase):
    """Configuration problems end with one line on stderr and 255, not a traceback."""

    def test_unparsable_config_file(self):
        self.dep.write_conf("[DEFAULT\ntransport_url = rabbit://\n")
        outcome = self.run_cmd("cell_v2", "list_cells")
        self.assertOneLineError(outcome, 255, "nova-manage:", "cannot parse",
                                self.dep.conf_path)

    def test_invalid_value_names_the_option(self):
        self.dep.write_conf(database={"max_pool_size": "lots"})
        outcome = self.run_cmd("db", "version")
        self.assertOneLineError(outcome, 255, "database.max_pool_size", "lots")

    def test_missing_config_file(self):
        outcome = run_main(manage.main, ["--config-file", "/nonexistent/nova.conf", "db",
                                         "version"])
        self.assertOneLineError(outcome, 255, "/nonexistent/nova.conf")

    def test_later_config_file_after_the_command_wins(self):
        one_cell(self.dep)
        other = os.path.join(self.dep.dir, "other.conf")
        with open(other, "w") as f:
            f.write(f"[api_database]\nconnection = {UNREACHABLE_PG}\n")
        outcome = self.run_cmd("cell_v2", "list_cells", "--config-file", other)
        self.assertOneLineError(outcome, 255, "127.0.0.1:1")

    def test_post_mortem_enters_the_debugger(self):
        api_only(self.dep)
        damage_version_table(self.dep)
        calls = []
        # The debugger itself is the one thing replaced: it would wait on the terminal.
        with mock.patch("pdb.post_mortem", side_effect=calls.append):
            outcome = self.run_cmd("--post-mortem", "db", "version")
        self.assertEqual(255, outcome.rc)
        self.assertEqual(1, len(calls))
        self.assertNotIn("An error has occurred", outcome.out)


class Cell0UrlTest(unittest.SynchronousTestCase):
    """map_cell0's default: the local database URL with ``_cell0`` after the name."""

    def test_server_urls(self):
        for local, cell0 in [
            ("mysql+pymysql://u:p@h/nova?charset=utf8", "mysql+pymysql://u:p@h/nova_cell0?charset=utf8"),
            ("postgresql://u:p%40w@h:5433/nova", "postgresql://u:p%40w@h:5433/nova_cell0"),
            ("postgresql://u:p/x?y@h/nova?b=2&a=1", "postgresql://u:p/x?y@h/nova_cell0?b=2&a=1"),
            ("mysql+pymysql://root@[::1]:3306/nova_api", "mysql+pymysql://root@[::1]:3306/nova_api_cell0"),
        ]:
            self.assertEqual(cell0, manage.cell0_database_connection(local))

    def test_sqlite_files(self):
        for local, cell0 in [
            ("sqlite:////var/lib/nova/nova.sqlite", "sqlite:////var/lib/nova/nova_cell0.sqlite"),
            ("sqlite:///nova.sqlite", "sqlite:///nova_cell0.sqlite"),
            ("sqlite:////var/lib/nova.d/nova", "sqlite:////var/lib/nova.d/nova_cell0"),
        ]:
            self.assertEqual(cell0, manage.cell0_database_connection(local))

    def test_no_database_name(self):
        for local in ("sqlite://", "sqlite:///:memory:", "postgresql://u:p@h"):
            self.assertRaises(exception.ConfigError, manage.cell0_database_connection,
                              local)


class TransportUrlTest(unittest.SynchronousTestCase):
    def test_valid(self):
        for url in ("rabbit://", "rabbit://u:p@h:5672/", "rabbit://a:b@h1:5672,c:d@h2:5673/v",
                    "memory://", "none:///", "kombu+amqp://h/"):
            manage.check_transport_url(url)

    def test_invalid(self):
        for url in ("notascheme:/", "rabbit", "://h", "rabbit://u:p@h:port/",
                    "rabbit://h:70000/", "rabbit://a@h1:5672,b@h2:x/"):
            self.assertRaises(ValueError, manage.check_transport_url, url)

    def test_error_masks_password(self):
        e = self.assertRaises(ValueError, manage.check_transport_url, "rabbit://u:s3cret@h:x/")
        self.assertNotIn("s3cret", str(e))


class ServerDatabaseFlowMixin:
    """The operator's bootstrap on a database server, command by command."""

    backend: str

    def test_bootstrap_flow(self):
        dep = self.dep
        api_url = fresh_database_url(self, self.backend)
        main_url = fresh_database_url(self, self.backend)
        cell0_url = fresh_database_url(self, self.backend)
        dep.api_url, dep.main_url = api_url, main_url
        dep.write_conf()

        self.assertOutcome(self.run_cmd("api_db", "sync"), 0)
        self.assertOutcome(self.run_cmd("api_db", "version"), 0, out=(API_HEAD,))
        self.assertOutcome(self.run_cmd("cell_v2", "map_cell0", "--database_connection",
                                        cell0_url), 0)
        self.assertOutcome(self.run_cmd("db", "sync"), 0)
        self.assertOutcome(self.run_cmd("db", "version"), 0, out=(MAIN_HEAD,))
        self.assertEqual(MAIN_HEAD, dep.version(cell0_url, "main"))
        self.assertOutcome(self.run_cmd("cell_v2", "map_cell0"), 0,
                           out=("Cell0 is already setup",))

        created = self.run_cmd("cell_v2", "create_cell", "--name", "cell1", "--verbose")
        self.assertOutcome(created, 0)
        cell1 = created.out.split()[-1]
        self.assertOutcome(self.run_cmd("cell_v2", "create_cell", "--name", "again"), 2)
        listed = self.run_cmd("cell_v2", "list_cells")
        self.assertOutcome(listed, 0, out=(cell1, CELL0, "rabbit://nova:****@mq1:5672/"))

        dep.add_compute_node(main_url, "host1")
        dep.add_compute_node(main_url, "host2")
        self.assertOutcome(self.run_cmd("cell_v2", "discover_hosts", "--strict"), 0)
        self.assertOutcome(self.run_cmd("cell_v2", "discover_hosts", "--strict"), 1)
        self.assertEqual({"host1": 1, "host2": 1}, dep.compute_nodes_mapped(main_url))
        hosts = self.run_cmd("cell_v2", "list_hosts", "--cell_uuid", cell1)
        self.assertOutcome(hosts, 0, out=("host1", "host2"))

        self.assertOutcome(self.run_cmd("cell_v2", "delete_cell", "--cell_uuid", cell1), 2)
        dep.add_instances(main_url, 1, host="host2")
        self.assertOutcome(self.run_cmd("cell_v2", "delete_host", "--cell_uuid", cell1,
                                        "--host", "host2"), 4)
        self.assertOutcome(self.run_cmd("cell_v2", "delete_host", "--cell_uuid", cell1,
                                        "--host", "host1"), 0)
        self.assertEqual({"host1": 0, "host2": 1}, dep.compute_nodes_mapped(main_url))
        self.assertOutcome(self.run_cmd("cell_v2", "map_instances", "--cell_uuid", cell1), 0)
        self.assertOutcome(self.run_cmd("cell_v2", "delete_cell", "--force", "--cell_uuid",
                                        cell1), 3)
        with dep.engine(main_url).begin() as conn:
            table = main_models.Instance.__table__
            conn.execute(table.update().values(deleted=table.c.id))
        self.assertOutcome(self.run_cmd("cell_v2", "delete_cell", "--cell_uuid", cell1), 2)
        self.assertOutcome(self.run_cmd("cell_v2", "delete_cell", "--force", "--cell_uuid",
                                        cell1), 0)
        self.assertEqual([CELL0], [c[0] for c in dep.cells()])
        self.assertEqual(({}, []), (dep.host_mappings(), dep.instance_mappings()))
        self.assertEqual({"host1": 0, "host2": 0}, dep.compute_nodes_mapped(main_url))

    def test_duplicate_host_mapping(self):
        """The unique constraint, not a prior read, is what refuses a second mapping."""
        dep = self.dep
        api_url = fresh_database_url(self, self.backend)
        main_url = fresh_database_url(self, self.backend)
        dep.api_url, dep.main_url = api_url, main_url
        dep.write_conf()
        self.assertOutcome(self.run_cmd("api_db", "sync"), 0)
        self.assertOutcome(self.run_cmd("db", "sync", "--local_cell"), 0)
        cell1 = dep.add_cell("cell1", main_url, dep.transport_url)
        dep.add_compute_node(main_url, "host1")
        argv = ("cell_v2", "discover_hosts")
        if self.backend == "sqlite":
            map_host_before_insert(dep, "host1")
            outcome = self.run_cmd(*argv)
        else:
            outcome = run_while_mapping_host(self, self.backend, main_url, cell1, "host1",
                                             *argv)
        self.assertOutcome(outcome, 2, out=("Duplicate host mapping",))
        self.assertEqual({"host1": 0}, dep.compute_nodes_mapped(main_url))


class PostgreSQLFlowTest(ServerDatabaseFlowMixin, ManageCase):
    backend = "postgresql"


class MySQLFlowTest(ServerDatabaseFlowMixin, ManageCase):
    backend = "mysql"


class SQLiteFlowTest(ServerDatabaseFlowMixin, ManageCase):
    backend = "sqlite"


class HoistTest(ManageCase):
    def test_removed_version_option_of_db_sync_is_an_error(self):
        api_only(self.dep)
        outcome = self.run_cmd("db", "sync", "--version", "300")
        self.assertEqual(2, outcome.rc, str(outcome))
        self.assertIsNone(self.dep.version(self.dep.main_url, "main"))

    def test_global_options_keep_their_order(self):
        from oslo_log import _options

        from nova_tx.cmd import common

        opts = [*_options.common_cli_opts, *_options.logging_cli_opts, manage.post_mortem_opt]
        self.assertEqual(
            ["--config-file", "a", "--config-file", "b", "--log-file=x", "-d", "--post-mortem",
             "cell_v2", "list_cells", "--verbose"],
            common.hoist_global_options(
                ["--config-file", "a", "cell_v2", "list_cells", "--config-file", "b",
                 "--verbose", "--log-file=x", "-d", "--post-mortem"], opts))
