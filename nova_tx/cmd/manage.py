"""``nova-manage``: the operator's database and cells v2 commands, as Nova Zed's.

Syntax, option spellings, messages and exit statuses are Nova's (documented in the
nova-manage man page; where it says nothing, Nova's code decides). Each option spelled
with an underscore also accepts the hyphen, and the other way round, since operators'
scripts use the documented spelling and nothing is lost by accepting both.

Departures from Nova, each for a reason given where it is made:

- ``[DEFAULT] transport_url`` counts as "set in the configuration file" only when a
  file sets it; its built-in default (``rabbit://``) does not, so ``create_cell`` and
  ``simple_cell_setup`` refuse to record a bus URL nobody chose.
- ``update_cell`` fills URLs that are not given from the configuration (Nova's quirk)
  except for cell0, whose bus is ``none:///`` and whose database is never the local one.
- ``discover_hosts`` ends with 1, not 255, on an error, as its documentation says.
- ``map_cell_and_hosts`` (and so ``simple_cell_setup``) reuses a cell whose database is
  the local ``[database] connection`` rather than mapping a second cell to it.
- ``list_cells`` shows URLs as stored apart from the masked passwords (Nova's
  re-serialising turns ``none:///`` into ``none:/`` and ``sqlite:////x`` into
  ``sqlite://x``).
"""
from __future__ import annotations

import functools
import pdb
import re
import sys
import time
import traceback
from collections.abc import Callable, Sequence

import prettytable
import sqlalchemy as sa
from oslo_config import cfg

from nova_tx import exception
from nova_tx.cmd import common
from nova_tx.cmd.common import args
from nova_tx.cmd.db_archive import ArchiveCommands
from nova_tx.cmd.numa import NumaCommands
from nova_tx.cmd.online_migrations import OnlineMigrationCommands
from nova_tx.cmd.placement import PlacementCommands
from nova_tx.conf import CONF
from nova_tx.db import exception as db_exception
from nova_tx.db import host_discovery, migration
from nova_tx.db.api import cell_mappings, host_mappings, instance_mappings
from nova_tx.db.main import compute_nodes, instances
from nova_tx.objects.cell_mapping import (
    CellMapping,
    CellUrlTemplateError,
    cell0_database_connection,
    format_cell_url,
    mask_password,
    url_parts,
)
from nova_tx.placement import db as placement_db

PROG = "nova-manage"
#: Tries of one cell's host discovery when SQLite is busy with a running service.
DISCOVERY_ATTEMPTS = 5

#: The project and user id of the instance_mappings row that holds map_instances' marker.
MARKER_PROJECT_ID = "INSTANCE_MIGRATION_MARKER"

post_mortem_opt = cfg.BoolOpt("post-mortem", default=False,
                              help="Allow post-mortem debugging")


class Context:
    """What every command object shares: the parsed configuration and the databases."""

    def __init__(self, conf: cfg.ConfigOpts):
        self.conf = conf
        self.dbs = common.Databases(conf)


class _Command:
    def __init__(self, ctx: Context):
        self._ctx = ctx

    @property
    def _conf(self) -> cfg.ConfigOpts:
        return self._ctx.conf

    @property
    def _dbs(self) -> common.Databases:
        return self._ctx.dbs


def _check_revision(database: str, version: str | None) -> None:
    """Refuse an unknown VERSION before any database is touched."""
    if version is not None:
        migration.resolve_revision(database, version)


class DbCommands(ArchiveCommands, OnlineMigrationCommands, _Command):
    """Class for managing the main database.

    archive_deleted_rows and purge come from :mod:`nova_tx.cmd.db_archive`,
    online_data_migrations from :mod:`nova_tx.cmd.online_migrations`.
    """

    def version(self) -> None:
        """Print the current database version."""
        print(migration.db_version(self._dbs.main(), "main"))

    @args("--local_cell", "--local-cell", action="store_true",
          help="Only sync db in the local cell: do not attempt to fan-out to all cells")
    @args("version", metavar="VERSION", nargs="?", help="Database version")
    def sync(self, version: str | None = None, local_cell: bool = False) -> int:
        """Sync the database up to the most recent version.

        Also syncs cell0, when it is mapped, unless --local_cell is given.
        """
        _check_revision("main", version)
        if not local_cell:
            try:
                with self._dbs.api().connect() as conn:
                    cell0 = cell_mappings.get_by_uuid(
                        conn, CellMapping.CELL0_UUID, base_urls=self._dbs.base_urls)
                migration.db_sync(self._dbs.cell(cell0), "main", version)
            except exception.CellMappingNotFound:
                print("WARNING: cell0 mapping not found - not syncing cell0.")
            except Exception as e:
                print("ERROR: Could not access cell0.\n"
                      "Has the nova_api database been created?\n"
                      "Has the nova_cell0 database been created?\n"
                      'Has "nova-manage api_db sync" been run?\n'
                      'Has "nova-manage cell_v2 map_cell0" been run?\n'
                      "Is [api_database]/connection set in nova.conf?\n"
                      "Is the cell0 database connection URL correct?\n"
                      f"Error: {common.format_message(e)}")
                return 1
        migration.db_sync(self._dbs.main(), "main", version)
        return 0


class ApiDbCommands(_Command):
    """Class for managing the api database."""

    def version(self) -> None:
        """Print the current API database version."""
        print(migration.db_version(self._dbs.api(), "api"))

    @args("version", metavar="VERSION", nargs="?", help="Database version")
    def sync(self, version: str | None = None) -> int:
        """Sync the API database up to the most recent version."""
        _check_revision("api", version)
        migration.db_sync(self._dbs.api(), "api", version)
        # Placement's tables, when they live in the API database (their own tree).
        placement_db.sync_with_api_database(self._dbs.api(), self._conf)
        return 0


def check_transport_url(url: str) -> None:
    """Raise ValueError unless ``url`` reads as ``<driver>://[user:pw@]host[:port],.../``."""
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", url):
        raise ValueError(f"{mask_password(url)}: it does not start with <driver>://")
    for key, value in url_parts(url).items():
        if key.startswith("port") and value is not None:
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise ValueError(f"{mask_password(url)}: invalid port {value!r}")


def check_database_connection(url: str) -> None:
    """Raise ValueError unless SQLAlchemy can read ``url`` (it is not connected to)."""
    try:
        sa.engine.make_url(url)
    except sa.exc.ArgumentError as e:
        raise ValueError(f"{mask_password(url)}: {e}") from None


class CellV2Commands(_Command):
    """Commands for managing cells v2."""

    # --- helpers shared by several commands ---------------------------------------------

    def _configured_transport_url(self) -> str | None:
        location = self._conf.get_location("transport_url")
        if location is not None and location.location == cfg.Locations.opt_default:
            return None
        return self._conf.transport_url or None

    def _validate_transport_url(self, transport_url: str | None,
                                warn_about_none: bool = True) -> str | None:
        if not transport_url:
            transport_url = self._configured_transport_url()
            if not transport_url:
                if warn_about_none:
                    print("Must specify --transport-url if [DEFAULT]/transport_url is not "
                          "set in the configuration file.")
                return None
            print("--transport-url not provided in the command line, using the value "
                  "[DEFAULT]/transport_url from the configuration file")
        try:
            check_transport_url(self._format(transport_url, self._conf.transport_url))
        except ValueError as e:
            print(f"Invalid transport URL: {e}")
            return None
        return transport_url

    def _validate_database_connection(self, connection: str) -> bool:
        try:
            check_database_connection(
                self._format(connection, self._conf.database.connection))
        except ValueError as e:
            print(f"Invalid database connection: {e}")
            return False
        return True

    @staticmethod
    def _format(url: str, base: str | None) -> str:
        if "{" not in url:
            return url
        if base is None:
            raise ValueError(f"{mask_password(url)} is a template but the option it is "
                             "filled from is not set")
        try:
            return format_cell_url(url, base)
        except CellUrlTemplateError as e:
            raise ValueError(f"{mask_password(url)}: {e.reason}") from None

    def _get_cell(self, conn: sa.Connection, cell_uuid: str) -> CellMapping | None:
        try:
            return cell_mappings.get_by_uuid(conn, cell_uuid, base_urls=self._dbs.base_urls)
        except exception.CellMappingNotFound:
            print(f"Cell with uuid {cell_uuid} was not found.")
            return None

    def _non_unique_urls(self, conn: sa.Connection, cell_uuid: str | None,
                         transport_url: str | None, database_connection: str | None) -> bool:
        """Whether another cell already uses this bus or this database (printed if so)."""
        for cell in cell_mappings.get_all(conn):
            if cell.uuid == cell_uuid:
                continue
            formatted = cell.with_base_urls(self._dbs.base_urls)
            if (database_connection and database_connection in (
                    cell.database_connection, formatted.database_connection)) or \
                    (transport_url and transport_url in (
                        cell.transport_url, formatted.transport_url)):
                print("The specified transport_url and/or database_connection combination "
                      f"already exists for another cell with uuid {cell.uuid}.")
                return True
        return False

    # --- setup --------------------------------------------------------------------------

    @args("--transport-url", "--transport_url", metavar="<transport_url>",
          dest="transport_url", help="The transport url for the cell message queue")
    def simple_cell_setup(self, transport_url: str | None = None) -> int:
        """Simple cellsv2 setup.

        This simplified command is for use by existing non-cells users to configure
        the default environment. Returns 0 if setup is completed (or has already been
        done) and 1 if no hosts are reporting (and this cannot be mapped).
        """
        transport_url = self._validate_transport_url(transport_url)
        if not transport_url:
            return 1
        cell0 = self._map_cell0()
        try:
            migration.db_sync(
                self._dbs.cell(cell0.with_base_urls(self._dbs.base_urls)), "main")
        except (db_exception.DBError, common.OneLineError) as e:
            print(f"Unable to sync cell0 schema: {common.format_message(e)}")
        cell_uuid = self._map_cell_and_hosts(transport_url)
        if cell_uuid is None:
            # No compute hosts, so no cell was mapped (and no instance can exist).
            return 1
        self.map_instances(cell_uuid)
        return 0

    @args("--database_connection", "--database-connection", metavar="<database_connection>",
          help="The database connection url for cell0. This is optional. If not provided, "
               "a standard database connection will be used based on the main database "
               "connection from the Nova configuration.")
    def map_cell0(self, database_connection: str | None = None) -> int:
        """Create a cell mapping for cell0.

        cell0 is used for instances that have not been scheduled to any cell. This
        generally applies to instances that have encountered an error before they
        have been scheduled.
        """
        self._map_cell0(database_connection)
        return 0

    def _map_cell0(self, database_connection: str | None = None) -> CellMapping:
        api = self._dbs.api()
        with api.begin() as conn:
            try:
                cell0 = cell_mappings.get_by_uuid(conn, CellMapping.CELL0_UUID)
            except exception.CellMappingNotFound:
                pass
            else:
                print("Cell0 is already setup")
                return cell0
        if not database_connection:
            local = self._conf.database.connection
            if not local:
                raise common.OneLineError(
                    reason="cannot derive the cell0 database: [database] connection is "
                           "not set; give --database_connection")
            database_connection = cell0_database_connection(local)
        try:
            with api.begin() as conn:
                # A bus URL of none:/// because RPC is never used to reach cell0.
                return cell_mappings.create(
                    conn, uuid=CellMapping.CELL0_UUID, name=CellMapping.CELL0_NAME,
                    transport_url=CellMapping.CELL0_TRANSPORT_URL,
                    database_connection=database_connection)
        except db_exception.DBDuplicateEntry:
            # Mapped by someone else since we looked.
            print("Cell0 is already setup")
            with api.connect() as conn:
                return cell_mappings.get_by_uuid(conn, CellMapping.CELL0_UUID)

    @args("--cell_uuid", "--cell-uuid", metavar="<cell_uuid>", dest="cell_uuid",
          required=True,
          help="Unmigrated instances will be mapped to the cell with the uuid provided.")
    @args("--max-count", "--max_count", metavar="<max_count>", dest="max_count",
          help="Maximum number of instances to map. If not set, all instances in the cell "
               "will be mapped in batches of 50. If you have a large number of instances, "
               "consider specifying a custom value and run the command until it exits "
               "with 0.")
    @args("--reset", action="store_true", dest="reset_marker",
          help="The command will start from the beginning as opposed to the default "
               "behavior of starting from where the last run finished")
    def map_instances(self, cell_uuid: str, max_count: str | int | None = None,
                      reset_marker: bool = False) -> int:
        """Map instances into the provided cell.

        Instances in the nova database of the provided cell (nova database info is
        stored in the nova_api database) will be queried from oldest to newest and
        if unmapped, will be mapped to the provided cell. A max-count can be set on
        the number of instance to map in a single run. Repeated runs of the command
        will start from where the last run finished so it is not necessary to
        increase max-count to finish. A reset option can be passed which will reset
        the marker, thus making the command start from the beginning as opposed to
        the default behavior of starting from where the last run finished.
        An exit code of 0 indicates that all instances have been mapped.
        """
        if max_count is not None:
            try:
                max_count = int(max_count)
            except ValueError:
                max_count = -1
            map_all = False
            if max_count < 1:
                print("Must supply a positive value for max-count")
                return 127
        else:
            map_all = True
            max_count = 50

        api = self._dbs.api()
        with api.begin() as conn:
            try:
                cell = cell_mappings.get_by_uuid(conn, cell_uuid,
                                                 base_urls=self._dbs.base_urls)
            except exception.CellMappingNotFound:
                print(f"Cell with uuid {cell_uuid} was not found.")
                return common.ERROR_EXIT
            # The marker is a mapping row whose "instance uuid" is the last uuid done,
            # with spaces for dashes so that it cannot collide with that instance's own.
            markers = instance_mappings.get_by_project_id(conn, MARKER_PROJECT_ID)
            marker = None
            for row in markers:
                if not reset_marker:
                    marker = row.instance_uuid.replace(" ", "-")
                instance_mappings.destroy(conn, row.instance_uuid)

        cell_db = self._dbs.cell(cell)
        next_marker: str | None = marker
        while True:
            next_marker = self._map_instances(cell_db, cell, max_count, next_marker)
            if next_marker is None or not map_all:
                break

        if next_marker is not None:
            with api.begin() as conn:
                instance_mappings.create(
                    conn, instance_uuid=next_marker.replace("-", " "),
                    project_id=MARKER_PROJECT_ID, user_id=MARKER_PROJECT_ID)
            return 1
        return 0

    def _map_instances(self, cell_db: sa.Engine, cell: CellMapping, max_count: int,
                       marker: str | None) -> str | None:
        """Map one batch; returns the marker for the next one, None at the end."""
        with cell_db.connect() as cconn:
            try:
                batch = instances.get_after(cconn, marker, max_count)
            except exception.MarkerNotFound:
                raise common.OneLineError(
                    reason=f"the marker instance {marker} of a previous run is gone; run "
                           "again with --reset") from None
        with self._dbs.api().begin() as conn:
            mapped = instance_mappings.get_mapped_uuids(conn, [i.uuid for i in batch])
            for instance in batch:
                if instance.uuid in mapped:
                    continue
                instance_mappings.create(
                    conn, instance_uuid=instance.uuid, cell_mapping=cell,
                    project_id=instance.project_id or "", user_id=instance.user_id)
        if len(batch) < max_count:
            return None
        return batch[-1].uuid

    @args("--transport-url", "--transport_url", metavar="<transport_url>",
          dest="transport_url", help="The transport url for the cell message queue")
    @args("--name", metavar="<cell_name>", help="The name of the cell")
    @args("--verbose", action="store_true",
          help="Output the cell mapping uuid for any newly mapped hosts.")
    def map_cell_and_hosts(self, transport_url: str | None = None, name: str | None = None,
                           verbose: bool = False) -> int:
        """EXPERIMENTAL. Create a cell mapping and host mappings for a cell.

        Users not dividing their cloud into multiple cells will be a single cell v2
        deployment and should specify:

          nova-manage cell_v2 map_cell_and_hosts --config-file <nova.conf>

        Users running multiple cells can add a cell v2 by specifying:

          nova-manage cell_v2 map_cell_and_hosts --config-file <cell nova.conf>
        """
        transport_url = self._validate_transport_url(transport_url)
        if not transport_url:
            return 1
        self._map_cell_and_hosts(transport_url, name, verbose)
        # Nothing is left half done: 0, in the sense of online_data_migrations.
        return 0

    def _map_cell_and_hosts(self, transport_url: str, name: str | None = None,
                            verbose: bool = False) -> str | None:
        main_db = self._dbs.main()
        with main_db.connect() as cconn:
            hosts = compute_nodes.get_hosts(cconn)
        if not hosts:
            print("No hosts found to map to cell, exiting.")
            return None
        local_db = self._conf.database.connection
        with self._dbs.api().begin() as conn:
            cell_uuid = None
            missing = []
            for host in hosts:
                try:
                    mapping = host_mappings.get_by_host(conn, host)
                except exception.HostMappingNotFound:
                    missing.append(host)
                    continue
                if verbose:
                    print(f"Host {mapping.host} is already mapped to cell "
                          f"{mapping.cell_mapping.uuid}")
                cell_uuid = mapping.cell_mapping.uuid
            if not missing:
                print("All hosts are already mapped to cell(s).")
                return cell_uuid
            cell = None
            if cell_uuid is not None:
                cell = cell_mappings.get_by_uuid(conn, cell_uuid)
            else:
                for candidate in cell_mappings.get_all(conn, base_urls=self._dbs.base_urls):
                    if not candidate.is_cell0 and candidate.database_connection == local_db:
                        cell = candidate
                        break
            if cell is None:
                cell = cell_mappings.create(conn, name=name, transport_url=transport_url,
                                            database_connection=local_db)
            for host in missing:
                host_mappings.create(conn, host, cell)
        with main_db.begin() as cconn:
            for host in missing:
                compute_nodes.set_mapped(cconn, 1, host=host)
        if verbose:
            print(cell.uuid)
        return cell.uuid

    @args("--uuid", metavar="<instance_uuid>", dest="uuid", required=True,
          help="The instance UUID to verify")
    @args("--quiet", action="store_true", dest="quiet", help="Do not print anything")
    def verify_instance(self, uuid: str, quiet: bool = False) -> int:
        """Verify instance mapping to a cell.

        This command is useful to determine if the cellsv2 environment is properly
        setup, specifically in terms of the cell, host, and instance mapping records
        required.

        This prints one of three strings (and exits with a code) indicating whether
        the instance is successfully mapped to a cell (0), is unmapped due to an
        incomplete upgrade (1), unmapped due to normally transient state (2), it is
        a deleted instance which has instance mapping (3), or it is an archived
        instance which still has an instance mapping (4).
        """
        def say(text: str) -> None:
            if not quiet:
                print(text)

        with self._dbs.api().connect() as conn:
            try:
                mapping = instance_mappings.get_by_instance_uuid(
                    conn, uuid, base_urls=self._dbs.base_urls)
            except exception.InstanceMappingNotFound:
                say(f"Instance {uuid} is not mapped to a cell (upgrade is incomplete) or "
                    "instance does not exist")
                return 1
        cell = mapping.cell_mapping
        if cell is None:
            say(f"Instance {uuid} is not mapped to a cell")
            return 2
        try:
            with self._dbs.cell(cell).connect() as cconn:
                instance = instances.get_by_uuid(cconn, uuid)
        except exception.InstanceNotFound:
            say(f"The instance with uuid {uuid} has been archived.")
            say("However its instance_mapping remains.")
            return 4
        if instance.deleted:
            say(f"The instance with uuid {uuid} has been deleted.")
            say("Execute `nova-manage db archive_deleted_rows` command to archive this "
                "deleted instance and remove its instance_mapping.")
            return 3
        say(f"Instance {uuid} is in cell: {cell.name} ({cell.uuid})")
        return 0

    # --- cells --------------------------------------------------------------------------

    @args("--name", metavar="<cell_name>", help="The name of the cell")
    @args("--database_connection", "--database-connection", metavar="<database_connection>",
          help="The database url for the cell database")
    @args("--transport-url", "--transport_url", metavar="<transport_url>",
          dest="transport_url", help="The transport url for the cell message queue")
    @args("--verbose", action="store_true", help="Output the uuid of the created cell")
    @args("--disabled", action="store_true",
          help="To create a pre-disabled cell.")
    def create_cell(self, name: str | None = None, database_connection: str | None = None,
                    transport_url: str | None = None, verbose: bool = False,
                    disabled: bool = False) -> int:
        """Create a cell mapping.

        This is used to create a cell mapping for a new cell. It returns 0 if the cell
        was created successfully, 1 if the transport url or database connection was
        missing or invalid, and 2 if a cell with the same transport url or database
        connection already exists.
        """
        transport_url = self._validate_transport_url(transport_url)
        if not transport_url:
            return 1
        database_connection = database_connection or self._conf.database.connection
        if not database_connection:
            print("Must specify --database_connection if [database]/connection is not set "
                  "in the configuration file.")
            return 1
        if not self._validate_database_connection(database_connection):
            return 1
        with self._dbs.api().begin() as conn:
            if self._non_unique_urls(conn, None, transport_url, database_connection):
                return 2
            cell = cell_mappings.create(conn, name=name, transport_url=transport_url,
                                        database_connection=database_connection,
                                        disabled=disabled)
        if verbose:
            print(cell.uuid)
        return 0

    @args("--verbose", action="store_true",
          help="Show sensitive details, such as passwords")
    def list_cells(self, verbose: bool = False) -> int:
        """Lists the v2 cells in the deployment.

        By default the cell name, uuid, disabled state, masked transport URL and
        database connection details are shown. Use the --verbose option to see
        transport URL and database connection with their sensitive details.
        """
        with self._dbs.api().connect() as conn:
            cells = cell_mappings.get_all(conn, base_urls=self._dbs.base_urls)
        table = prettytable.PrettyTable(
            ["Name", "UUID", "Transport URL", "Database Connection", "Disabled"])
        for cell in sorted(cells, key=lambda c: c.name or ""):
            urls = [cell.transport_url, cell.database_connection]
            if not verbose:
                urls = [mask_password(url) if url else url for url in urls]
            table.add_row([cell.name or "", cell.uuid, *urls, cell.disabled])
        print(table)
        return 0

    @args("--force", action="store_true", default=False,
          help="Delete hosts and instance_mappings that belong to the cell as well.")
    @args("--cell_uuid", "--cell-uuid", metavar="<cell_uuid>", dest="cell_uuid",
          required=True, help="The uuid of the cell to delete.")
    def delete_cell(self, cell_uuid: str, force: bool = False) -> int:
        """Delete an empty cell by the given uuid.

        This command will return a non-zero exit code in the following cases.

        * The cell is not found by uuid.
        * It has hosts and force is False.
        * It has instance mappings and force is False.

        If force is True and the cell has hosts and/or instance_mappings, they are
        deleted as well (as long as there are no living instances).

        Returns 0 in the following cases.

        * The empty cell is found and deleted successfully.
        * The cell has hosts and force is True then the cell, hosts and
          instance_mappings are deleted successfully; if there are no living
          instances.
        """
        with self._dbs.api().begin() as conn:
            cell = self._get_cell(conn, cell_uuid)
            if cell is None:
                return 1
            hosts = host_mappings.get_by_cell_id(conn, cell.id)
            if hosts and not force:
                print(f"There are existing hosts mapped to cell with uuid {cell_uuid}.")
                return 2
            if instance_mappings.count_by_cell_id(conn, cell.id):
                with self._dbs.cell(cell).connect() as cconn:
                    live = instances.count(cconn)
                if live:
                    print(f"There are existing instances mapped to cell with uuid {cell_uuid}.")
                    return 3
                if not force:
                    print(f"There are instance mappings to cell with uuid {cell_uuid}, but all "
                          "instances have been deleted in the cell.")
                    print("So execute 'nova-manage db archive_deleted_rows' to delete the "
                          "instance mappings.")
                    return 4
                instance_mappings.destroy_by_cell_id(conn, cell.id)
            if hosts:
                # Unmapped compute nodes can be discovered again, in another cell.
                with self._dbs.cell(cell).begin() as cconn:
                    compute_nodes.set_mapped(cconn, 0)
                host_mappings.destroy_by_cell_id(conn, cell.id)
            cell_mappings.destroy(conn, cell.uuid)
        return 0

    @args("--cell_uuid", "--cell-uuid", metavar="<cell_uuid>", dest="cell_uuid",
          required=True, help="The uuid of the cell to update.")
    @args("--name", metavar="<cell_name>", dest="name", help="Set the cell name.")
    @args("--transport-url", "--transport_url", metavar="<transport_url>",
          dest="transport_url",
          help="Set the cell transport_url. NOTE that running nodes will not see the "
               "change until restart!")
    @args("--database_connection", "--database-connection", metavar="<database_connection>",
          dest="db_connection",
          help="Set the cell database_connection. NOTE that running nodes will not see "
               "the change until restart!")
    @args("--disable", action="store_true", dest="disable",
          help="Disables the cell. Note that the scheduling will be blocked to this cell "
               "until its enabled and followed by a SIGHUP of nova-scheduler service.")
    @args("--enable", action="store_true", dest="enable",
          help="Enables the cell. Note that this makes a disabled cell available for "
               "scheduling after a SIGHUP of the nova-scheduler service")
    def update_cell(self, cell_uuid: str, name: str | None = None,
                    transport_url: str | None = None, db_connection: str | None = None,
                    disable: bool = False, enable: bool = False) -> int:
        """Updates the properties of a cell by the given uuid.

        If the cell is not found by uuid, this command will return an exit code of 1.
        If the provided transport_url or/and database_connection is/are same as
        another cell, this command will return an exit code of 3.
        If the properties cannot be set, this will return 2.
        If an attempt is made to disable and enable a cell at the same time, this
        command will exit with a return code of 4.
        If an attempt is made to disable or enable cell0 this command will exit with
        a return code of 5.
        Otherwise, the exit code will be 0.

        NOTE: Updating the transport_url or database_connection fields on a running
        system will NOT result in all nodes immediately using the new values. Use
        caution when changing these values.
        NOTE (tssurya): The scheduler will not notice that a cell has been enabled or
        disabled until it is restarted or sent the SIGHUP signal.
        """
        api = self._dbs.api()
        with api.connect() as conn:
            cell = self._get_cell(conn, cell_uuid)
            if cell is None:
                return 1
            changes: dict = {}
            if name:
                changes["name"] = name
            if not cell.is_cell0:
                # As Nova: URLs not given are taken from the configuration, if it has
                # them. Not for cell0, whose URLs never come from a cell's own.
                transport_url = transport_url or self._configured_transport_url()
                db_connection = db_connection or self._conf.database.connection
            if self._non_unique_urls(conn, cell.uuid, transport_url, db_connection):
                return 3
        if transport_url:
            changes["transport_url"] = transport_url
        if db_connection:
            changes["database_connection"] = db_connection

        if disable and enable:
            print("Cell cannot be disabled and enabled at same time.")
            return 4
        if disable or enable:
            if cell.is_cell0:
                print("Cell0 cannot be disabled.")
                return 5
            if disable and not cell.disabled:
                changes["disabled"] = True
            elif enable and cell.disabled:
                changes["disabled"] = False
            elif disable:
                print(f"Cell {cell_uuid} is already disabled")
            else:
                print(f"Cell {cell_uuid} is already enabled")

        try:
            if "transport_url" in changes:
                check_transport_url(self._format(changes["transport_url"],
                                                 self._conf.transport_url))
            if "database_connection" in changes:
                check_database_connection(self._format(changes["database_connection"],
                                                       self._conf.database.connection))
            with api.begin() as conn:
                cell_mappings.update(conn, cell.uuid, **changes)
        except (ValueError, sa.exc.SQLAlchemyError, db_exception.DBError) as e:
            print(f"Unable to update CellMapping: {common.format_message(e)}")
            return 2
        return 0

    # --- hosts --------------------------------------------------------------------------

    @args("--cell_uuid", "--cell-uuid", metavar="<cell_uuid>", dest="cell_uuid",
          help="If provided only this cell will be searched for new hosts to map.")
    @args("--verbose", action="store_true",
          help="Provide detailed output when discovering hosts.")
    @args("--strict", action="store_true",
          help="Considered successful (exit code 0) only when an unmapped host is "
               "discovered. Any other outcome will be considered a failure (non-zero "
               "exit code).")
    @args("--by-service", "--by_service", action="store_true", default=False,
          dest="by_service", help="Discover hosts by service instead of compute node")
    def discover_hosts(self, cell_uuid: str | None = None, verbose: bool = False,
                       strict: bool = False, by_service: bool = False) -> int:
        """Searches cells, or a single cell, and maps found hosts.

        When a new host is added to a deployment it will add a service entry to the db
        it's configured to use. This command will check the db for each cell, or a
        single one if passed in, and map any hosts which are not currently mapped. If
        a host is already mapped nothing will be done. You need to re-run this command
        each time you add more compute hosts to a cell (unless you use the
        nova-scheduler periodic task [scheduler] discover_hosts_in_cells_interval).
        """
        status: Callable[[str], None] = print if verbose else (lambda message: None)
        try:
            added = self._discover_hosts(cell_uuid, status, by_service)
        except db_exception.DBDuplicateEntry as e:
            print("ERROR: Duplicate host mapping was encountered. This command should be "
                  "run once after all compute hosts have been deployed and should not be "
                  "run in parallel. When run in parallel, the commands will collide with "
                  "each other trying to map the same hosts in the same cells at the same "
                  f"time. Error: {e}")
            return 2
        except exception.CellMappingNotFound:
            print(f"Cell with uuid {cell_uuid} was not found.")
            return 1
        except common.ONE_LINE_ERRORS as e:
            # Documented: 1 when an exception was raised (Nova's code gives 255).
            common.print_error(PROG, e)
            return 1
        except Exception:
            print(f"An error has occurred:\n{traceback.format_exc()}")
            return 1
        if strict:
            return int(not added)
        return 0

    def _discover_hosts(self, cell_uuid: str | None, status: Callable[[str], None],
                        by_service: bool) -> list[str]:
        api = self._dbs.api()
        base_urls = self._dbs.base_urls
        with api.connect() as conn:
            if cell_uuid:
                cells = [cell_mappings.get_by_uuid(conn, cell_uuid, base_urls=base_urls)]
            else:
                cells = cell_mappings.get_all(conn, base_urls=base_urls)
                status(f"Found {len(cells)} cell mappings.")
        added: list[str] = []
        for cell in cells:
            if cell.is_cell0:
                status("Skipping cell0 since it does not contain hosts.")
                continue
            if cell.name:
                status(f"Getting computes from cell '{cell.name}': {cell.uuid}")
            else:
                status(f"Getting computes from cell: {cell.uuid}")
            found = self._discover_in_cell(cell, status, by_service)
            status(f"Found {len(found)} unmapped computes in cell: {cell.uuid}")
            added.extend(found)
        return added

    def _discover_in_cell(self, cell: CellMapping, status: Callable[[str], None],
                          by_service: bool) -> list[str]:
        for attempt in range(DISCOVERY_ATTEMPTS):
            try:
                with self._dbs.cell(cell).begin() as cconn:
                    with self._dbs.api().begin() as conn:
                        return host_discovery.discover_in_cell(
                            conn, cconn, cell, by_service=by_service, status=status)
            except sa.exc.OperationalError:
                # SQLite refuses a transaction that read before a running service
                # wrote ("database is locked"); the whole cell is done again.
                if attempt == DISCOVERY_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        return []

    @args("--cell_uuid", "--cell-uuid", metavar="<cell_uuid>", dest="cell_uuid",
          help="The UUID of the cell to list hosts for")
    def list_hosts(self, cell_uuid: str | None = None) -> int:
        """Lists the hosts in one or all v2 cells."""
        with self._dbs.api().connect() as conn:
            if cell_uuid:
                cell = self._get_cell(conn, cell_uuid)
                if cell is None:
                    return 1
                hosts = host_mappings.get_by_cell_id(conn, cell.id)
            else:
                hosts = host_mappings.get_all(conn)
        table = prettytable.PrettyTable(["Cell Name", "Cell UUID", "Hostname"])
        for mapping in sorted(hosts, key=lambda m: m.host):
            table.add_row([mapping.cell_mapping.name, mapping.cell_mapping.uuid,
                           mapping.host])
        print(table)
        return 0

    @args("--cell_uuid", "--cell-uuid", metavar="<cell_uuid>", dest="cell_uuid",
          required=True, help="The UUID of the cell")
    @args("--host", metavar="<host>", dest="host", required=True,
          help="The host to delete")
    def delete_host(self, cell_uuid: str, host: str) -> int:
        """Delete a host in a cell (host mappings) by the given host name.

        This command will return a non-zero exit code in the following cases.

        * The cell is not found by uuid.
        * The host is not found by host name.
        * The host is not in the cell.
        * The host has instances.

        Returns 0 if the empty host is found and deleted successfully.
        """
        with self._dbs.api().begin() as conn:
            cell = self._get_cell(conn, cell_uuid)
            if cell is None:
                return 1
            try:
                mapping = host_mappings.get_by_host(conn, host)
            except exception.HostMappingNotFound:
                print(f"The host {host} was not found.")
                return 2
            if mapping.cell_mapping.uuid != cell.uuid:
                print(f"The host {host} was not found in the cell {cell_uuid}.")
                return 3
            with self._dbs.cell(cell).begin() as cconn:
                if instances.count(cconn, host=host):
                    print(f"There are instances on the host {host}.")
                    return 4
                compute_nodes.set_mapped(cconn, 0, host=host)
            host_mappings.destroy(conn, host)
        return 0


CATEGORIES: dict[str, type] = {
    "api_db": ApiDbCommands,
    "cell_v2": CellV2Commands,
    "db": DbCommands,
    "numa": NumaCommands,
    "placement": PlacementCommands,
}


def main(argv: Sequence[str] | None = None, conf: cfg.ConfigOpts | None = None) -> int:
    """Run ``nova-manage`` with ``argv`` (without the program name); return the status.

    ``conf`` defaults to the process-wide ``CONF``; tests pass a fresh one
    (``common.new_conf()``) per run.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    conf = CONF if conf is None else conf
    ctx = Context(conf)
    categories = {name: functools.partial(cls, ctx) for name, cls in CATEGORIES.items()}
    try:
        return common.run(PROG, argv, conf, categories,
                          error_header="An error has occurred:",
                          extra_cli_opts=[post_mortem_opt],
                          on_unexpected=_unexpected)
    finally:
        ctx.dbs.dispose()


def _unexpected(conf: cfg.ConfigOpts) -> None:
    if conf.post_mortem:
        pdb.post_mortem(sys.exc_info()[2])
    else:
        print(f"An error has occurred:\n{traceback.format_exc()}")
