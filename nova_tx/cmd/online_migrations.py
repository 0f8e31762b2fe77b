"""``nova-manage db online_data_migrations``: data fixes run over live databases.

The framework and its exit statuses are Nova's (spec G §3.1): each migration is a
function ``(databases, count) -> (found, done)`` that must be idempotent; they run
in a fixed order, a batch at a time, until a batch migrates nothing (or once, with
``--max-count``). 0: nothing (more) to do; 1: some rows migrated, call again; 2: a
migration failed and nothing else progressed; 127: a bad ``--max-count``.

nova-tx's schemas start at Zed's head, so most of Zed's migrations have nothing to
find. The ones kept are those whose columns nova-tx's own code can still leave
unset: instance mappings written by ``cell_v2 map_instances`` or by older tools
without ``queued_for_delete`` or ``user_id``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import prettytable
import sqlalchemy as sa

from nova_tx.cmd import common
from nova_tx.cmd.common import args
from nova_tx.db.api import cell_mappings
from nova_tx.db.api import models as api_models
from nova_tx.db.main import models as main_models

LOG = logging.getLogger(__name__)

#: The project id of map_instances' marker row, which never gets a user.
MARKER_PROJECT_ID = "INSTANCE_MIGRATION_MARKER"

Migration = Callable[[common.Databases, int], tuple[int, int]]

_mappings = api_models.InstanceMapping.__table__
_instances = main_models.Instance.__table__


def populate_queued_for_delete(dbs: common.Databases, max_count: int) -> tuple[int, int]:
    """Mappings without ``queued_for_delete`` get it from their instance's state.

    True for an instance deleted or soft-deleted, False otherwise (an instance not
    found in its cell is taken as live, as Nova does).
    """
    processed = 0
    with dbs.api().begin() as conn:
        for cell in cell_mappings.get_all(conn, base_urls=dbs.base_urls):
            uuids = [row[0] for row in conn.execute(
                sa.select(_mappings.c.instance_uuid)
                .where(_mappings.c.queued_for_delete.is_(None),
                       _mappings.c.cell_id == cell.id)
                .limit(max_count))]
            if not uuids:
                continue
            with dbs.cell(cell).connect() as cconn:
                deleted = {row[0] for row in cconn.execute(
                    sa.select(_instances.c.uuid).where(
                        _instances.c.uuid.in_(uuids),
                        sa.or_(_instances.c.deleted != 0,
                               _instances.c.vm_state == "soft-delete")))}
            for flag, group in ((True, [u for u in uuids if u in deleted]),
                                (False, [u for u in uuids if u not in deleted])):
                if group:
                    conn.execute(_mappings.update()
                                 .where(_mappings.c.instance_uuid.in_(group))
                                 .values(queued_for_delete=flag))
            processed += len(uuids)
            max_count -= len(uuids)
            if max_count <= 0:
                break
    return processed, processed


def populate_user_id(dbs: common.Databases, max_count: int) -> tuple[int, int]:
    """Mappings without ``user_id`` get their instance's (deleted ones included).

    Mappings that are not in a cell yet, or whose instance is gone, stay found and
    not done: they are reported every run until they are deleted or archived.
    """
    done = 0
    with dbs.api().begin() as conn:
        rows = conn.execute(
            sa.select(_mappings.c.instance_uuid, _mappings.c.cell_id)
            .where(_mappings.c.user_id.is_(None),
                   _mappings.c.project_id != MARKER_PROJECT_ID)
            .limit(max_count)).all()
        by_cell: dict[int, list[str]] = {}
        for uuid, cell_id in rows:
            if cell_id is not None:
                by_cell.setdefault(cell_id, []).append(uuid)
        cells = {cell.id: cell for cell in cell_mappings.get_all(conn,
                                                                 base_urls=dbs.base_urls)}
        for cell_id, uuids in by_cell.items():
            cell = cells.get(cell_id)
            if cell is None:
                continue
            with dbs.cell(cell).connect() as cconn:
                users = cconn.execute(sa.select(_instances.c.uuid, _instances.c.user_id)
                                      .where(_instances.c.uuid.in_(uuids))).all()
            for uuid, user_id in users:
                if user_id is None:
                    continue
                conn.execute(_mappings.update().where(_mappings.c.instance_uuid == uuid)
                             .values(user_id=user_id))
                done += 1
    return len(rows), done


#: The migrations, in the order they run.
ONLINE_MIGRATIONS: tuple[Migration, ...] = (
    populate_queued_for_delete,
    populate_user_id,
)


class OnlineMigrationCommands:
    """The online_data_migrations action of the ``db`` category (mixed into DbCommands)."""

    _dbs: common.Databases
    #: Overridable (tests give their own) so the framework is exercised on its own.
    online_migrations: tuple[Migration, ...] = ONLINE_MIGRATIONS

    def _run_migration(self, max_count: int) -> tuple[dict[str, tuple[int, int]], bool]:
        ran = 0
        exceptions = False
        migrations: dict[str, tuple[int, int]] = {}
        for method in self.online_migrations:
            name = method.__name__
            try:
                found, done = method(self._dbs, max_count - ran)
            except Exception:
                message = f"Error attempting to run {name}"
                print(message)
                LOG.exception(message)
                exceptions = True
                found = done = 0
            if found:
                print(f"{found} rows matched query {name}, {done} migrated")
            migrations[name] = found, done
            ran += done
            if ran >= max_count:
                break
        return migrations, exceptions

    @args("--max-count", "--max_count", metavar="<number>", dest="max_count",
          help="Maximum number of objects to consider")
    def online_data_migrations(self, max_count: str | int | None = None) -> int:
        """Run the online data migrations, in batches of 50 until complete or
        ``--max-count`` objects at a time."""
        if max_count is not None:
            try:
                max_count = int(max_count)
            except ValueError:
                max_count = -1
            unlimited = False
            if max_count < 1:
                print("Must supply a positive value for max_number")
                return 127
        else:
            unlimited = True
            max_count = 50
            print(f"Running batches of {max_count} until complete")

        ran: int | None = None
        info: dict[str, tuple[int, int]] = {}
        exceptions = False
        while ran is None or ran != 0:
            migrations, exceptions = self._run_migration(max_count)
            ran = 0
            for name, (found, done) in migrations.items():
                total_found, total_done = info.get(name, (0, 0))
                info[name] = (total_found + found, total_done + done)
                ran += done
            if not unlimited:
                break

        table = prettytable.PrettyTable(["Migration", "Total Needed", "Completed"])
        for name in sorted(info):
            table.add_row([name, *info[name]])
        print(table)
        # Unlimited runs stop only once nothing more can be done, so a failure left is
        # for the operator; with --max-count only if nothing else progressed (the
        # failing one may depend on the others' work).
        if exceptions and (unlimited or not ran):
            print("Some migrations failed unexpectedly. Check log for details.")
            return 2
        return 1 if ran else 0
