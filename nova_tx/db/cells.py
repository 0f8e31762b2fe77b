"""Every cell's database from a process that has the API database (Nova's
``scatter_gather_all_cells`` for synchronous query functions).

:class:`CellEngines` keeps one Engine per cell database URL, made on first use, and
runs a query function of a Connection in each cell, from a thread of the API
database's pool (``api_db.do(cells.gather, fn)``): a cell that cannot be read is left
out of the answer and logged, as Nova leaves out down cells.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from oslo_config import cfg

from nova_tx import log
from nova_tx.conf import database as database_conf
from nova_tx.db import engines
from nova_tx.db.api import cell_mappings
from nova_tx.objects.cell_mapping import BaseUrls, CellMapping

LOG = log.getLogger(__name__)

T = TypeVar("T")


class CellEngines:
    def __init__(self, conf: cfg.ConfigOpts):
        self.conf = conf
        self._engines: dict[str, sa.Engine] = {}
        self._lock = threading.Lock()

    def engine(self, url: str) -> sa.Engine:
        with self._lock:
            engine = self._engines.get(url)
            if engine is None:
                engine = engines.create_engine(
                    url, **database_conf.engine_args(self.conf.database))
                self._engines[url] = engine
            return engine

    def gather(self, api_conn: sa.Connection, fn: Callable[..., T], *args: Any,
               include_cell0: bool = True, **kwargs: Any) -> dict[str, T]:
        """``{cell uuid: fn(cell_conn, *args, **kwargs)}`` over the mapped cells (in a
        thread: it blocks). Cells that fail are missing from the answer."""
        results: dict[str, T] = {}
        base_urls = BaseUrls.from_conf(self.conf)
        for cell in cell_mappings.get_all(api_conn, base_urls=base_urls):
            if (cell.is_cell0 and not include_cell0) or not cell.database_connection:
                continue
            try:
                with self.engine(cell.database_connection).connect() as conn:
                    results[cell.uuid] = fn(conn, *args, **kwargs)
            except Exception as e:
                LOG.warning("Cell %s did not answer; it is left out: %s",
                            _identity(cell), e)
        return results

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _identity(cell: CellMapping) -> str:
    return cell.identity
