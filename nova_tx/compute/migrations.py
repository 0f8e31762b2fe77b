"""The migrations of every cell, as ``GET /os-migrations`` lists them (Nova's
``compute.api.API.get_migrations`` and ``get_migrations_sorted``).

cell0 is skipped (nothing there ever moves). A cell whose database does not answer
is left out with a warning, as Nova's multi-cell lister does, rather than failing the
whole list. The paged list (2.59) is merged from each cell's own page, newest first
by ``created_at`` then ``id``; the marker is a migration uuid, looked for in every
cell (MarkerNotFound when no cell has it).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import cell_mappings
from nova_tx.db.cells import CellEngines
from nova_tx.db.main import migration_list
from nova_tx.db.main.migration_list import MigrationRecord
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping

LOG = logging.getLogger(__name__)

T = TypeVar("T")


class MigrationsAPI:
    """``api_db``: the API database's DBThreadPool; ``cells``: the CellEngines."""

    def __init__(self, api_db, cells: CellEngines, conf):
        self.api_db = api_db
        self.cells = cells
        self.conf = conf

    def _base_urls(self) -> BaseUrls | None:
        try:
            return BaseUrls.from_conf(self.conf)
        except Exception:  # the options are not registered in this process
            return None

    def _each_cell(self, api_conn: sa.Connection, fn: Callable[..., T], *args: Any
                   ) -> list[T]:
        results = []
        for cell in cell_mappings.get_all(api_conn, base_urls=self._base_urls()):
            if cell.is_cell0 or not cell.database_connection:
                continue
            try:
                with self.cells.engine(cell.database_connection).connect() as conn:
                    results.append(fn(conn, *args))
            except sa.exc.SQLAlchemyError as e:
                LOG.warning("Cell %s did not respond when listing migrations: %s",
                            _identity(cell), e)
        return results

    async def get_migrations(self, filters: Mapping[str, Any]) -> list[MigrationRecord]:
        """Every cell's migrations matching ``filters``, cell by cell."""
        def thd(api_conn: sa.Connection) -> list[MigrationRecord]:
            found: list[MigrationRecord] = []
            for records in self._each_cell(api_conn, migration_list.get_by_filters,
                                           filters):
                found.extend(records)
            return found

        return await self.api_db.do(thd)

    async def get_migrations_sorted(self, filters: Mapping[str, Any], *,
                                    limit: int | None, marker: str | None
                                    ) -> list[MigrationRecord]:
        """One page, newest first, after the migration ``marker`` if given."""
        if limit == 0:
            return []

        def thd(api_conn: sa.Connection) -> list[MigrationRecord]:
            after = None
            if marker is not None:
                found = [m for m in self._each_cell(api_conn, migration_list.get_by_uuid,
                                                    marker) if m is not None]
                if not found:
                    raise exception.MarkerNotFound(marker=marker)
                after = (found[0].created_at, found[0].id)
            merged: list[MigrationRecord] = []
            for page in self._each_cell(api_conn, _page, filters, limit, after):
                merged.extend(page)
            merged.sort(key=lambda m: m.sort_key, reverse=True)
            return merged[:limit] if limit is not None else merged

        return await self.api_db.do(thd)


    async def in_progress_live_migrations(self, cell: CellMapping | None,
                                          instance_uuid: str) -> list[MigrationRecord]:
        """The live migrations of an instance in progress (none while it has no
        cell)."""
        if cell is None:
            return []
        return await self.api_db.do(lambda api_conn: self._in_cell(
            cell, migration_list.get_in_progress_by_instance, instance_uuid,
            "live-migration"))

    async def get_for_instance(self, cell: CellMapping | None, migration_id: int,
                               instance_uuid: str) -> MigrationRecord | None:
        if cell is None:
            return None
        return await self.api_db.do(lambda api_conn: self._in_cell(
            cell, migration_list.get_by_id_and_instance, migration_id, instance_uuid))

    def _in_cell(self, cell: CellMapping, fn: Callable[..., T], *args: Any) -> T:
        with self.cells.engine(cell.database_connection).connect() as conn:
            return fn(conn, *args)


def _page(conn: sa.Connection, filters: Mapping[str, Any], limit: int | None,
          after: tuple | None) -> list[MigrationRecord]:
    return migration_list.get_page(conn, filters, limit=limit, after=after)


def _identity(cell: CellMapping) -> str:
    return cell.identity
