"""``nova-manage db archive_deleted_rows`` and ``db purge``, as Nova Zed's.

Options, messages and exit statuses are those of Nova's man page and code (spec G
§3.1): archive returns 1 while it moved something ("call again"), 0 once nothing is
left, 2 for a bad ``--max_rows``, 3 when the API database cannot be reached (it is
probed first, because archiving instances must also remove their API rows), 4 for a
bad ``--before``; purge returns 0 when it deleted rows, 1 without ``--all`` or
``--before``, 2 for a bad ``--before``, 3 when nothing was purged and 4 when
``--all-cells`` cannot read the cell list.
"""
from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable

import prettytable
import sqlalchemy as sa
from dateutil import parser as dateutil_parser

from nova_tx import exception
from nova_tx.cmd import common
from nova_tx.cmd.common import args
from nova_tx.db import exception as db_exception
from nova_tx.db.api import cell_mappings, request_specs
from nova_tx.db.api import models as api_models
from nova_tx.db.main import archive
from nova_tx.objects.cell_mapping import CellMapping

#: oslo.db's MAX_INT: the largest --max_rows a database limit takes.
MAX_INT = 0x7FFFFFFF

#: The errors that mean "the API database cannot be used" (unset, bad URL, down).
_API_DB_ERRORS = (exception.ConfigError, db_exception.DBConnectionError,
                  db_exception.DBError, common.OneLineError, sa.exc.SQLAlchemyError)


def parse_before(value: str) -> datetime.datetime:
    """``--before`` as Nova reads it (``date``'s output, ``YYYY-MM-DD [HH:mm:ss]``...).

    A date with a zone is turned into naive UTC, which is how rows store it.
    """
    parsed = dateutil_parser.parse(value, fuzzy=True)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
    return parsed


def format_table(rows: dict[str, int], key_title: str, value_title: str,
                 sort_key: Callable | None = None) -> str:
    table = prettytable.PrettyTable([key_title, value_title])
    table.align[key_title] = "l"
    table.align[value_title] = "l"
    for key, value in sorted(rows.items(), key=sort_key):
        table.add_row([key, value])
    return table.get_string()


def _cell_and_table(item: tuple[str, int]) -> tuple[str, str]:
    cell_name, _dot, table = item[0].partition(".")
    return cell_name, table


def destroy_api_rows(conn: sa.Connection, instance_uuids: list[str]) -> dict[str, int]:
    """Remove the API database rows of archived instances; rows removed per table."""
    mappings = api_models.InstanceMapping.__table__
    members = api_models.InstanceGroupMember.__table__
    return {
        "API_DB.instance_mappings": conn.execute(mappings.delete().where(
            mappings.c.instance_uuid.in_(instance_uuids))).rowcount,
        "API_DB.request_specs": request_specs.destroy_bulk(conn, instance_uuids),
        "API_DB.instance_group_member": conn.execute(members.delete().where(
            members.c.instance_uuid.in_(instance_uuids))).rowcount,
    }


class ArchiveCommands:
    """The archive and purge actions of the ``db`` category (mixed into DbCommands)."""

    _dbs: common.Databases

    def _cells(self) -> list[CellMapping]:
        with self._dbs.api().connect() as conn:
            return cell_mappings.get_all(conn, base_urls=self._dbs.base_urls)

    @args("--max_rows", "--max-rows", type=int, metavar="<number>", dest="max_rows",
          help="Maximum number of deleted rows to archive per table. Defaults to 1000. "
               "Note that this number does not include the corresponding rows, if any, "
               "that are removed from the API database for deleted instances.")
    @args("--before", metavar="<date>",
          help="Archive rows that have been deleted before this date. Accepts date "
               "strings in the default format output by the ``date`` command, as well "
               "as ``YYYY-MM-DD [HH:mm:ss]``.")
    @args("--verbose", action="store_true", dest="verbose", default=False,
          help="Print how many rows were archived per table.")
    @args("--until-complete", "--until_complete", action="store_true",
          dest="until_complete", default=False,
          help="Run continuously until all deleted rows are archived. Use max_rows as a "
               "batch size for each iteration.")
    @args("--purge", action="store_true", dest="purge", default=False,
          help="Purge all data from shadow tables after archive completes")
    @args("--all-cells", "--all_cells", action="store_true", dest="all_cells",
          default=False, help="Run command across all cells.")
    @args("--task-log", "--task_log", action="store_true", dest="task_log",
          default=False,
          help="Also archive ``task_log`` table records. Note that ``task_log`` "
               "records are never deleted, so archiving them will move all of the "
               "``task_log`` records up to now into the shadow tables. It is "
               "recommended to also specify the ``--before`` option to avoid races for "
               "those consuming ``task_log`` record data via the "
               "``/os-instance_usage_audit_log`` API (example: Telemetry).")
    @args("--sleep", type=int, metavar="<seconds>", dest="sleep", default=0,
          help="The amount of time in seconds to sleep between batches when "
               "``--until-complete`` is used. Defaults to 0.")
    def archive_deleted_rows(self, max_rows: int = 1000, verbose: bool = False,
                             until_complete: bool = False, purge: bool = False,
                             before: str | None = None, all_cells: bool = False,
                             task_log: bool = False, sleep: int = 0) -> int:
        """Move deleted rows from production tables to shadow tables.

        Returns 0 if nothing was archived, 1 if some number of rows were archived, 2
        if max_rows is invalid, 3 if no connection could be established to the API
        DB, 4 if before date is invalid. If automating, this should be run
        continuously while the result is 1, stopping at 0, or use the
        --until-complete option.
        """
        if max_rows is None:
            max_rows = 1000
        if max_rows < 0:
            print("Must supply a positive value for max_rows")
            return 2
        if max_rows > MAX_INT:
            print(f"max rows must be <= {MAX_INT}")
            return 2
        try:
            cells = self._cells()
        except _API_DB_ERRORS:
            print("Failed to connect to API DB so aborting this archival attempt. Please "
                  "check your config file to make sure that [api_database]/connection "
                  "is set and run this command again.")
            return 3
        before_date = None
        if before:
            try:
                before_date = parse_before(before)
            except (ValueError, OverflowError) as e:
                print(f"Invalid value for --before: {e}")
                return 4

        targets: list[tuple[str | None, sa.Engine]]
        if all_cells:
            targets = [(cell.name, self._dbs.cell(cell)) for cell in cells]
            sort_key = _cell_and_table
        else:
            targets = [(None, self._dbs.main())]
            sort_key = None

        archived: dict[str, int] = {}
        if until_complete and verbose:
            sys.stdout.write("Archiving..")
            sys.stdout.flush()
        interrupted = False
        total = 0
        for cell_name, engine in targets:
            if until_complete:
                batch = max_rows
            elif max_rows > total:
                # Without --until-complete, --max_rows is a total across cells.
                batch = max_rows - total
            else:
                break
            try:
                total += self._archive_cell(archived, engine, batch, until_complete,
                                            verbose, before_date, cell_name, task_log,
                                            sleep)
            except KeyboardInterrupt:
                interrupted = True
                break
        if until_complete and verbose:
            print("." + ("stopped" if interrupted else "complete"))
        if verbose:
            if archived:
                print(format_table(archived, "Table", "Number of Rows Archived",
                                   sort_key=sort_key))
            else:
                print("Nothing was archived.")
        if archived and purge:
            if verbose:
                print("Rows were archived, running purge...")
            self.purge(purge_all=True, verbose=verbose, all_cells=all_cells)
        return int(bool(archived))

    def _archive_cell(self, archived: dict[str, int], engine: sa.Engine, max_rows: int,
                      until_complete: bool, verbose: bool,
                      before: datetime.datetime | None, cell_name: str | None,
                      task_log: bool, sleep: int) -> int:
        """Archive one cell, in batches with --until-complete; returns the rows moved."""
        total = 0
        while True:
            result = archive.archive_deleted_rows(engine, max_rows, before=before,
                                                  task_log=task_log)
            total += result.total
            for table, rows in result.tables.items():
                key = f"{cell_name}.{table}" if cell_name else table
                archived[key] = archived.get(key, 0) + rows
            if result.instance_uuids and result.tables.get("instances"):
                with self._dbs.api().begin() as conn:
                    for key, rows in destroy_api_rows(conn, result.instance_uuids).items():
                        archived[key] = archived.get(key, 0) + rows
            if not until_complete or not any(result.tables.values()):
                break
            if verbose:
                sys.stdout.write(".")
                sys.stdout.flush()
            time.sleep(sleep)
        return total

    @args("--before", metavar="<before>", dest="before",
          help="If specified, purge rows from shadow tables that are older than this. "
               "Accepts date strings in the default format output by the ``date`` "
               "command, as well as ``YYYY-MM-DD [HH:mm:ss]``.")
    @args("--all", dest="purge_all", action="store_true",
          help="Purge all rows in the shadow tables")
    @args("--verbose", dest="verbose", action="store_true", default=False,
          help="Print information about purged records")
    @args("--all-cells", "--all_cells", dest="all_cells", action="store_true",
          default=False, help="Run against all cell databases")
    def purge(self, before: str | None = None, purge_all: bool = False,
              verbose: bool = False, all_cells: bool = False) -> int:
        """Purge rows from the shadow tables.

        Returns 0 if rows were deleted, 1 if neither --before nor --all was given, 2
        if the before date is invalid, 3 if nothing was purged and 4 if the API
        database (needed by --all-cells) cannot be used.
        """
        if before is None and not purge_all:
            print("Either --before or --all is required")
            return 1
        before_date = None
        if before:
            try:
                before_date = parse_before(before)
            except (ValueError, OverflowError) as e:
                print(f"Invalid value for --before: {e}")
                return 2

        def status_of(identity: str) -> Callable[[str], None]:
            if not verbose:
                return lambda message: None
            return lambda message: print(f"{identity}: {message}")

        deleted = 0
        if all_cells:
            try:
                cells = self._cells()
            except _API_DB_ERRORS:
                print("Unable to get cell list from API DB. Is it configured?")
                return 4
            for cell in cells:
                deleted += archive.purge_shadow_tables(
                    self._dbs.cell(cell), before_date, status_of(f"Cell {cell.identity}"))
        else:
            deleted = archive.purge_shadow_tables(self._dbs.main(), before_date,
                                                  status_of("DB"))
        return 0 if deleted else 3
