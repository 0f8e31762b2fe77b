"""``nova-status upgrade check``: is this deployment ready for the new code?

The output and exit statuses are those of oslo.upgradecheck, which every OpenStack
``<project>-status`` command shares and which operators' upgrade tooling parses: one
table titled ``Upgrade Check Results`` with a ``Check / Result / Details`` cell per check,
and the worst result as the exit status (0 success, 1 warning, 2 failure; 255 when a
check itself breaks). oslo.upgradecheck is small and not a dependency, so its format is
reproduced here.

The checks are those of Nova Zed that apply to nova-tx (spec G §4.1), in Nova's order:
``Cells v2``, ``Placement API`` (at least microversion 1.36), ``Policy File JSON to
YAML Migration``, ``Older than N-1 computes`` and ``hw_machine_type unset``; plus two
about the schemas, which Nova leaves to the services' start-up failures: ``API
Database`` and ``Cell Databases`` fail when a database is not at this release's head
revision, naming the revisions and the command that fixes it.

Nova's ``Cinder API`` check is not here: nova-tx has no ``[cinder]`` options and no
volume client yet, so there is nothing it could check (Nova's own check is a no-op
without ``[cinder] auth_type``).
"""
from __future__ import annotations

import enum
import functools
import json
import sys
import textwrap
from collections.abc import Callable, Sequence

import prettytable
import sqlalchemy as sa
from oslo_config import cfg

from nova_tx.cmd import common
from nova_tx.cmd.placement import BlockingPlacement, PlacementUnavailable
from nova_tx.conf import CONF
from nova_tx.db import exception as db_exception
from nova_tx.db import migration
from nova_tx.db.api import cell_mappings, host_mappings
from nova_tx.db.main import compute_nodes
from nova_tx.db.main import models as main_models
from nova_tx.db.main import services as services_db
from nova_tx.objects import service as service_obj
from nova_tx.objects.cell_mapping import CellMapping

PROG = "nova-status"

#: The oldest Placement microversion this release's services use (Nova Xena's 1.36).
MIN_PLACEMENT_MICROVERSION = "1.36"


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

    def __init__(self, dbs: common.Databases, conf: cfg.ConfigOpts | None = None):
        self._dbs = dbs
        self._conf = conf if conf is not None else getattr(dbs, "conf", None)
        #: (name, check) in the order they run and are shown.
        self._upgrade_checks: list[tuple[str, Callable[[], Result]]] = [
            ("Cells v2", self._check_cellsv2),
            ("Placement API", self._check_placement),
            ("Policy File JSON to YAML Migration", self._check_policy_json),
            ("Older than N-1 computes", self._check_old_computes),
            ("hw_machine_type unset", self._check_machine_type_set),
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

    def _check_placement(self) -> Result:
        """Placement answers and serves at least MIN_PLACEMENT_MICROVERSION."""
        placement = BlockingPlacement(self._conf)
        try:
            placement._auth_headers()
        except PlacementUnavailable as e:
            return Result(Code.FAILURE,
                          f"Placement service credentials do not work. {e}")
        try:
            status, body, _text = placement.request("GET", "/")
        except PlacementUnavailable as e:
            return Result(Code.FAILURE, f"Discovery for placement API URI failed. {e}")
        if status == 404:
            return Result(Code.FAILURE, "Placement API does not seem to be running.")
        if status in (401, 403):
            return Result(Code.FAILURE, "Placement service credentials do not work.")
        try:
            max_version = body["versions"][0]["max_version"]
            current = _version_tuple(max_version)
        except (TypeError, KeyError, IndexError, ValueError):
            return Result(Code.FAILURE, "Discovery for placement API URI failed. "
                          f"{placement.endpoint.geturl()}/ answered HTTP {status} "
                          "without a version document.")
        if current < _version_tuple(MIN_PLACEMENT_MICROVERSION):
            return Result(Code.FAILURE,
                          f"Placement API version {MIN_PLACEMENT_MICROVERSION} needed, you "
                          f"have {max_version}.")
        return Result(Code.SUCCESS)

    def _check_policy_json(self) -> Result:
        """The policy file is not JSON (oslo.upgradecheck's ``check_policy_json``).

        The file's content decides, not its name: a ``policy.yaml`` holding JSON is
        still JSON, and loads as such.
        """
        path = self._conf.find_file(self._conf.oslo_policy.policy_file)
        if path and _is_json(path):
            return Result(Code.FAILURE,
                          "Your policy file is JSON-formatted which is deprecated since "
                          "Victoria release (Nova 22.0.0). You need to switch to "
                          "YAML-formatted file. You can use the "
                          "``oslopolicy-convert-json-to-yaml`` tool to convert existing "
                          "JSON-formatted files to YAML-formatted files in a "
                          "backwards-compatible manner: https://docs.openstack.org/"
                          "oslo.policy/latest/cli/oslopolicy-convert-json-to-yaml.html.")
        return Result(Code.SUCCESS)

    def _reachable_cells(self) -> list[tuple[CellMapping, sa.Engine]]:
        """Every mapped cell whose database answers; the others are the Cell Databases
        check's to report."""
        if migration.db_version(self._dbs.api(), "api") is None:
            return []
        with self._dbs.api().connect() as conn:
            cells = cell_mappings.get_all(conn, base_urls=self._dbs.base_urls)
        reachable = []
        for cell in cells:
            try:
                reachable.append((cell, self._dbs.cell(cell)))
            except (db_exception.DBConnectionError, common.OneLineError):
                continue
        return reachable

    def _check_old_computes(self) -> Result:
        """No nova-compute (in any cell) is older than the oldest version this code
        talks to (Nova's ``raise_if_old_compute``, system scope)."""
        minimum = 0
        for _cell, engine in self._reachable_cells():
            try:
                with engine.connect() as conn:
                    version = services_db.get_minimum_version(
                        conn, ["nova-compute"])["nova-compute"]
            except sa.exc.SQLAlchemyError:
                continue
            # No computes (0) in a cell says nothing about the others.
            if version:
                minimum = min(minimum, version) if minimum else version
        oldest = service_obj.OLDEST_SUPPORTED_SERVICE_VERSION
        if minimum and minimum < oldest:
            return Result(Code.FAILURE,
                          "Current Nova version does not support computes older than "
                          f"service version {oldest} but the minimum compute service "
                          f"level in your system is {minimum} and the oldest supported "
                          f"service level is {oldest}.")
        return Result(Code.SUCCESS)

    def _check_machine_type_set(self) -> Result:
        """Every live instance has ``image_hw_machine_type`` in its system metadata."""
        instances = main_models.Instance.__table__
        sysmeta = main_models.InstanceSystemMetadata.__table__
        has_type = sa.select(sysmeta.c.id).where(
            sysmeta.c.instance_uuid == instances.c.uuid,
            sysmeta.c.key == "image_hw_machine_type", sysmeta.c.deleted == 0).exists()
        for _cell, engine in self._reachable_cells():
            try:
                with engine.connect() as conn:
                    unset = conn.execute(sa.select(instances.c.uuid).where(
                        instances.c.deleted == 0, ~has_type).limit(1)).first()
            except sa.exc.SQLAlchemyError:
                continue
            if unset is not None:
                return Result(Code.WARNING,
                              "Instances found without hw_machine_type set. This warning "
                              "can be ignored if your environment does not contain libvirt "
                              "based compute hosts. Use the `nova-manage libvirt "
                              "list_unset_machine_type` command to list these instances. "
                              "For more details see the following: https://docs.openstack"
                              ".org/nova/latest/admin/hw-machine-type.html")
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


def _version_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def _is_json(path: str) -> bool:
    """Whether the file parses as JSON (oslo.serialization's ``fileutils.is_json``)."""
    try:
        with open(path, encoding="utf-8") as f:
            json.load(f)
    except (ValueError, OSError, UnicodeDecodeError):
        return False
    return True


def _cell_name(cell: CellMapping) -> str:
    return f"The database of cell {cell.identity}"


def main(argv: Sequence[str] | None = None, conf: cfg.ConfigOpts | None = None) -> int:
    """Run ``nova-status`` with ``argv`` (without the program name); return the status.

    ``conf`` defaults to the process-wide ``CONF``; tests pass a fresh one per run.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    conf = CONF if conf is None else conf
    dbs = common.Databases(conf)
    categories = {"upgrade": functools.partial(UpgradeCommands, dbs, conf)}
    try:
        # 255 with "Error:" so that a broken check is not taken for a check result.
        return common.run(PROG, argv, conf, categories, error_header="Error:")
    finally:
        dbs.dispose()
