"""``nova-status upgrade check``: is this deployment ready for the new code?

The output and exit statuses are those of oslo.upgradecheck, which every OpenStack
``<project>-status`` command shares and which operators' upgrade tooling parses: one
table titled ``Upgrade Check Results`` with a ``Check / Result / Details`` cell per check,
and the worst result as the exit status (0 success, 1 warning, 2 failure; 255 when a
check itself breaks). oslo.upgradecheck is small and not a dependency, so its format is
reproduced here.

The checks are those of Nova Zed that apply to what nova-tx has so far (``Cells v2``),
plus two about the schemas, which Nova leaves to the services' start-up failures:
``API Database`` and ``Cell Databases`` fail when a database is not at this release's
head revision, naming the revisions and the command that fixes it.
"""
from __future__ import annotations

import enum
import functools
import sys
import textwrap
from collections.abc import Callable, Sequence

import prettytable
from oslo_config import cfg

from nova_tx.cmd import common
from nova_tx.conf import CONF
from nova_tx.db import exception as db_exception
from nova_tx.db import migration
from nova_tx.db.api import cell_mappings, host_mappings
from nova_tx.db.main import compute_nodes
from nova_tx.objects.cell_mapping import CellMapping

PROG = "nova-status"


class Code(enum.IntEnum):
    SUCCESS = 0
    WARNING = 1
    FAILURE = 2


_RESULT_TEXT = {Code.SUCCESS: "Success", Code.WARNING: "Warning", Code.FAILURE: "Failure"}


class Result:
    """The outcome of one check: a code and, unless all is well, what to do about it."""

    def __init__(self, code: Code, details: str | None = None):
        self.code = code
        self.details = details

    def __repr__(self) -> str:
        return f"Result({self.code.name}, {self.details!r})"


def format_details(result: Result) -> str:
    if result.details is None:
        return "None"
    return "\n".join(textwrap.wrap(result.details, 60, subsequent_indent="  "))


def results_table(results: Sequence[tuple[str, Result]]) -> str:
    table = prettytable.PrettyTable(["Upgrade Check Results"],
                                    hrules=prettytable.HRuleStyle.ALL)
    table.align = "l"
    for name, result in results:
        table.add_row([f"Check: {name}\n"
                       f"Result: {_RESULT_TEXT[result.code]}\n"
                       f"Details: {format_details(result)}"])
    return table.get_string()


class UpgradeCommands:
    """Commands related to upgrades.

    The subcommands here must not rely on the nova object model since they should be
    able to run on n-1 data. Any queries to the database should be done through the
    database layer directly.
    """

    def __init__(self, dbs: common.Databases):
        self._dbs = dbs
        #: (name, check) in the order they run and are shown.
        self._upgrade_checks: list[tuple[str, Callable[[], Result]]] = [
            ("Cells v2", self._check_cellsv2),
            ("API Database", self._check_api_database),
            ("Cell Databases", self._check_cell_databases),
        ]

    def check(self) -> int:
        """Performs checks to see if the deployment is ready for upgrade.

        These checks are expected to be run BEFORE services are restarted with new
        code.
        """
        return_code = Code.SUCCESS
        results = []
        for name, func in self._upgrade_checks:
            result = func()
            if not isinstance(result, Result):
                raise TypeError(f"check {name!r} returned {result!r}, not a Result")
            results.append((name, result))
            return_code = max(return_code, result.code)
        print(results_table(results))
        return int(return_code)

    # --- the checks ---------------------------------------------------------------------

    def _check_cellsv2(self) -> Result:
        """Cells v2 is set up: cell0 and at least one cell, hosts mapped if any exist.

        Expected to pass after ``nova-manage cell_v2 simple_cell_setup`` (or the
        map_cell0 / create_cell / discover_hosts steps). Flavors are not checked: a
        fresh install creates them later.
        """
        api = self._dbs.api()
        if migration.db_version(api, "api") is None:
            return Result(Code.FAILURE,
                          "The API database has no schema. Run command 'nova-manage "
                          "api_db sync' and then retry.")
        with api.connect() as conn:
            cells = cell_mappings.get_all(conn, base_urls=self._dbs.base_urls)
            mapped_hosts = host_mappings.count(conn)
        # Two mappings at a minimum: cell0 and the first cell.
        if len(cells) < 2:
            return Result(Code.FAILURE,
                          "There needs to be at least two cell mappings, one for cell0 and "
                          "one for your first cell. Run command 'nova-manage cell_v2 "
                          "simple_cell_setup' and then retry.")
        if not any(cell.is_cell0 for cell in cells):
            return Result(Code.FAILURE,
                          "No cell0 mapping found. Run command 'nova-manage cell_v2 "
                          "simple_cell_setup' and then retry.")
        if mapped_hosts == 0:
            # A fresh install: nova-compute may not have started yet. Compute nodes
            # without host mappings, though, are hosts the scheduler cannot see.
            computes = 0
            for cell in cells:
                if cell.is_cell0:
                    continue
                try:
                    with self._dbs.cell(cell).connect() as cconn:
                        computes += compute_nodes.count(cconn)
                except (db_exception.DBConnectionError, common.OneLineError) as e:
                    return Result(Code.FAILURE, "Cannot count the compute nodes of cell "
                                  f"{cell.identity}: {common.format_message(e)}")
            if computes:
                return Result(Code.FAILURE,
                              "No host mappings found but there are compute nodes. Run "
                              "command 'nova-manage cell_v2 simple_cell_setup' and then "
                              "retry.")
            return Result(Code.SUCCESS,
                          "No host mappings or compute nodes were found. Remember to run "
                          "command 'nova-manage cell_v2 discover_hosts' when new compute "
                          "hosts are deployed.")
        return Result(Code.SUCCESS)

    def _check_api_database(self) -> Result:
        """The API database is at this release's head revision."""
        current = migration.db_version(self._dbs.api(), "api")
        head = migration.head_revision("api")
        if current != head:
            return Result(Code.FAILURE,
                          f"The API database is at revision {current} but this release needs "
                          f"revision {head}. Run command 'nova-manage api_db sync' and then "
                          "retry.")
        return Result(Code.SUCCESS)

    def _check_cell_databases(self) -> Result:
        """Every mapped cell's database (cell0 included) is reachable and at head."""
        api = self._dbs.api()
        if migration.db_version(api, "api") is None:
            return Result(Code.FAILURE, "The API database has no schema, so the cell "
                          "databases cannot be found. Run command 'nova-manage api_db "
                          "sync' and then retry.")
        with api.connect() as conn:
            cells = cell_mappings.get_all(conn, base_urls=self._dbs.base_urls)
        head = migration.head_revision("main")
        problems = []
        for cell in cells:
            try:
                current = migration.db_version(self._dbs.cell(cell), "main")
            except (db_exception.DBConnectionError, common.OneLineError) as e:
                problems.append(f"{_cell_name(cell)}: {common.format_message(e)}.")
                continue
            if current != head:
                problems.append(f"{_cell_name(cell)} is at revision {current}, not {head}.")
        if problems:
            return Result(Code.FAILURE, " ".join(problems) + " Run command 'nova-manage "
                          "db sync' with each cell's configuration file and then retry.")
        return Result(Code.SUCCESS)


def _cell_name(cell: CellMapping) -> str:
    return f"The database of cell {cell.identity}"


def main(argv: Sequence[str] | None = None, conf: cfg.ConfigOpts | None = None) -> int:
    """Run ``nova-status`` with ``argv`` (without the program name); return the status.

    ``conf`` defaults to the process-wide ``CONF``; tests pass a fresh one per run.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    conf = CONF if conf is None else conf
    dbs = common.Databases(conf)
    categories = {"upgrade": functools.partial(UpgradeCommands, dbs)}
    try:
        # 255 with "Error:" so that a broken check is not taken for a check result.
        return common.run(PROG, argv, conf, categories, error_header="Error:")
    finally:
        dbs.dispose()
