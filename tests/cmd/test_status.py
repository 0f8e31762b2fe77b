"""nova-status upgrade check: each check's outcomes, the exit status, the output format."""
from __future__ import annotations

from unittest import mock

from twisted.trial import unittest

from nova_tx.cmd import status
from tests.cmd import CommandTestCase, run_main
from tests.cmd.test_manage import (
    API_HEAD,
    CELL0,
    MAIN_HEAD,
    UNREACHABLE_PG,
    api_only,
    one_cell,
    two_cells,
)

CHECK = ("upgrade", "check")


def checks(output: str) -> dict[str, tuple[str, str]]:
    """Check name -> (result, details) parsed back from the results table."""
    cells = []
    current: list[str] = []
    for line in output.splitlines():
        if line.startswith("+"):
            if current:
                cells.append(current)
            current = []
        elif line.startswith("|"):
            current.append(line[1:-1].strip())
    results = {}
    for cell in cells[1:]:
        name = cell[0].removeprefix("Check: ")
        result = cell[1].removeprefix("Result: ")
        details = " ".join([cell[2].removeprefix("Details: "), *cell[3:]])
        results[name] = (result, details)
    return results


def set_up(dep) -> dict:
    """A deployment that passes every check: cell0, cell1 and a mapped host."""
    ctx = one_cell(dep)
    dep.add_compute_node(dep.main_url, "host1", mapped=1)
    dep.add_host_mapping("host1", ctx["cell1"])
    return ctx


class UpgradeCheckTest(CommandTestCase):
    main = staticmethod(status.main)

    def check(self, rc: int) -> dict[str, tuple[str, str]]:
        outcome = self.run_cmd(*CHECK)
        self.assertEqual(rc, outcome.rc, str(outcome))
        return checks(outcome.out)

    def test_all_checks_pass(self):
        set_up(self.dep)
        outcome = self.run_cmd(*CHECK)
        self.assertEqual(0, outcome.rc, str(outcome))
        self.assertEqual(
            "+-----------------------+\n"
            "| Upgrade Check Results |\n"
            "+-----------------------+\n"
            "| Check: Cells v2       |\n"
            "| Result: Success       |\n"
            "| Details: None         |\n"
            "+-----------------------+\n"
            "| Check: API Database   |\n"
            "| Result: Success       |\n"
            "| Details: None         |\n"
            "+-----------------------+\n"
            "| Check: Cell Databases |\n"
            "| Result: Success       |\n"
            "| Details: None         |\n"
            "+-----------------------+\n",
            outcome.out)

    def test_fresh_install_without_computes_succeeds_with_a_hint(self):
        one_cell(self.dep)
        self.assertEqual(("Success", "No host mappings or compute nodes were found. Remember "
                                     "to run command 'nova-manage cell_v2 discover_hosts' when "
                                     "new compute hosts are deployed."),
                         self.check(0)["Cells v2"])

    def test_computes_without_host_mappings_fail(self):
        one_cell(self.dep)
        self.dep.add_compute_node(self.dep.main_url, "host1")
        result, details = self.check(2)["Cells v2"]
        self.assertEqual("Failure", result)
        self.assertIn("No host mappings found but there are compute nodes.", details)

    def test_only_cell0_fails(self):
        api_only(self.dep)
        self.dep.migrated("nova_cell0.sqlite", "main")
        self.dep.add_cell("cell0", self.dep.cell0_url, "none:///", uuid=CELL0)
        result, details = self.check(2)["Cells v2"]
        self.assertEqual("Failure", result)
        self.assertIn("There needs to be at least two cell mappings", details)

    def test_no_cell0_fails(self):
        ctx = two_cells(self.dep)
        with self.dep.engine(self.dep.api_url).begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM cell_mappings WHERE uuid = '{ctx['cell0']}'")
        result, details = self.check(2)["Cells v2"]
        self.assertEqual(("Failure", "No cell0 mapping found. Run command 'nova-manage cell_v2 "
                                     "simple_cell_setup' and then retry."), (result, details))

    def test_unreachable_cell_while_counting_computes(self):
        one_cell(self.dep)
        self.dep.add_cell("down", UNREACHABLE_PG)
        results = self.check(2)
        self.assertEqual("Failure", results["Cells v2"][0])
        self.assertIn("nova:****@127.0.0.1:1", results["Cells v2"][1])
        self.assertIn("nova:****@127.0.0.1:1", results["Cell Databases"][1])
        self.assertNotIn("s3cr3t", str(results))

    def test_api_database_without_schema(self):
        results = self.check(2)
        self.assertEqual("Failure", results["Cells v2"][0])
        self.assertEqual("Failure", results["API Database"][0])
        self.assertIn(f"at revision None but this release needs revision {API_HEAD}",
                      results["API Database"][1])

    def test_api_database_at_another_revision(self):
        set_up(self.dep)
        with self.dep.engine(self.dep.api_url).begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'abc123def456'")
        results = self.check(2)
        self.assertEqual("Success", results["Cells v2"][0])
        self.assertEqual("Failure", results["API Database"][0])
        self.assertIn("The API database is at revision abc123def456 but this release needs "
                      f"revision {API_HEAD}.", results["API Database"][1])

    def test_cell_database_not_migrated(self):
        ctx = set_up(self.dep)
        # A uuid of its own: the details are wrapped at 60 columns and may be split after
        # a hyphen between two letters (as oslo.upgradecheck does), which checks()
        # cannot tell from a split at a space; a random uuid made this test flaky.
        ctx["cell2"] = self.dep.add_cell("cell2", self.dep.url("empty.sqlite"),
                                         uuid="c2c2c2c0-0000-4000-8000-000000000002")
        results = self.check(2)
        result, details = results["Cell Databases"]
        self.assertEqual("Failure", result)
        self.assertIn(f"The database of cell cell2({ctx['cell2']}) is at revision None, not "
                      f"{MAIN_HEAD}.", details)
        self.assertIn("nova-manage db sync", details)
        self.assertEqual("Success", results["API Database"][0])

    def test_a_check_that_raises(self):
        set_up(self.dep)
        # A table the Cells v2 check reads is gone: the database's error breaks the check.
        with self.dep.engine(self.dep.api_url).begin() as conn:
            conn.exec_driver_sql("DROP TABLE host_mappings")
        outcome = self.run_cmd(*CHECK)
        self.assertEqual(255, outcome.rc, str(outcome))
        self.assertTrue(outcome.out.startswith("Error:\nTraceback"), outcome.out)
        self.assertIn("OperationalError) no such table: host_mappings", outcome.out)

    def test_missing_api_database_connection(self):
        self.dep.write_conf(api_database={"connection": None})
        self.assertOneLineError(self.run_cmd(*CHECK), 255, "nova-status:",
                                "[api_database] connection is not set")

    def test_unreachable_api_database(self):
        self.dep.write_conf(api_database={"connection": UNREACHABLE_PG})
        outcome = self.run_cmd(*CHECK)
        self.assertOneLineError(outcome, 255, "Cannot connect to database",
                                "postgresql+psycopg2://nova:****@127.0.0.1:1/nova")
        self.assertNotIn("s3cr3t", outcome.err)

    def test_bad_config_file(self):
        self.dep.write_conf("this is not an ini file\n")
        self.assertOneLineError(self.run_cmd(*CHECK), 255, "nova-status:",
                                self.dep.conf_path)

    def test_no_arguments_lists_the_categories(self):
        outcome = run_main(status.main, [])
        self.assertEqual(2, outcome.rc)
        self.assertIn("{version,bash-completion,upgrade}", outcome.err)

    def test_category_alone_lists_the_actions(self):
        outcome = self.run_cmd("upgrade")
        self.assertEqual(2, outcome.rc)
        self.assertIn("{check}", outcome.err)

    def test_version(self):
        outcome = self.run_cmd("version")
        self.assertEqual((0, "0.1.0\n"), (outcome.rc, outcome.out))


class ResultsTableTest(unittest.SynchronousTestCase):
    """oslo.upgradecheck's format, which upgrade tooling parses."""

    def test_details_wrap_at_60_with_an_indent(self):
        details = ("The API database is at revision abc123def456 but this release needs "
                   "revision 0123456789ab. Run command 'nova-manage api_db sync' and then "
                   "retry.")
        table = status.results_table([
            ("API Database", status.Result(status.Code.FAILURE, details)),
            ("Cells v2", status.Result(status.Code.WARNING, "short")),
        ])
        # As oslo.upgradecheck: the details alone are wrapped (the "Details: " prefix is
        # not counted), continuation lines indented by two, words split at hyphens.
        self.assertEqual(
            "+----------------------------------------------------------------+\n"
            "| Upgrade Check Results                                          |\n"
            "+----------------------------------------------------------------+\n"
            "| Check: API Database                                            |\n"
            "| Result: Failure                                                |\n"
            "| Details: The API database is at revision abc123def456 but this |\n"
            "|   release needs revision 0123456789ab. Run command 'nova-      |\n"
            "|   manage api_db sync' and then retry.                          |\n"
            "+----------------------------------------------------------------+\n"
            "| Check: Cells v2                                                |\n"
            "| Result: Warning                                                |\n"
            "| Details: short                                                 |\n"
            "+----------------------------------------------------------------+",
            table)

    def test_exit_status_is_the_worst_result(self):
        for codes, expected in [((0, 0), 0), ((0, 1), 1), ((2, 1, 0), 2), ((), 0)]:
            commands = status.UpgradeCommands(dbs=None)
            commands._upgrade_checks = [
                (f"c{i}", lambda code=code: status.Result(status.Code(code)))
                for i, code in enumerate(codes)]
            with mock.patch("sys.stdout"):
                self.assertEqual(expected, commands.check())

    def test_a_check_must_return_a_result(self):
        commands = status.UpgradeCommands(dbs=None)
        commands._upgrade_checks = [("bad", lambda: 0)]
        with mock.patch("sys.stdout"):
            self.assertRaises(TypeError, commands.check)

    def test_upgrade_check_is_the_only_action(self):
        from nova_tx.cmd import common

        self.assertEqual(["check"], [name for name, _ in
                                     common.methods_of(status.UpgradeCommands(dbs=None))])
