"""The ``nova-scheduler`` daemon: its service tree.

It records itself directly in its cell database and heartbeats there, and serves
``select_destinations`` and the host-state casts on topic ``scheduler`` (server
``[DEFAULT] host``, and the fanout the API's aggregate casts use). Its host states are
read from the cell databases before each request, only what changed since
(``host_source``): every cell when ``[api_database] connection`` is set (the cell
mappings say where they are), else its own cell. With the API database it also maps
new compute hosts every ``[scheduler] discover_hosts_in_cells_interval`` seconds. Placement is reached in process
when this process serves it (the all-in-one), else over HTTP (``[placement]``).
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg
from twisted.internet import defer, task

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.conf import database as database_conf
from nova_tx.db import engines
from nova_tx.db.pool import DBThreadPool
from nova_tx.placement.client import make_client
from nova_tx.scheduler import host_source
from nova_tx.scheduler.manager import Scheduler
from nova_tx.servicegroup.api import Heartbeat
from nova_tx.servicegroup.services import DatabaseBusService

RPC_TOPIC = "scheduler"
#: ``discover_hosts_in_cells_interval = 0`` means this (Nova's default interval).
DEFAULT_DISCOVERY_INTERVAL = 60
#: Tries of one round of host discovery when the database refuses it for a moment.
DISCOVERY_ATTEMPTS = 5

LOG = logging.getLogger(__name__)


class SchedulerService(DatabaseBusService):
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 transport: ITransport | None = None):
        super().__init__("nova-scheduler", conf, reactor=reactor, transport=transport)
        # Placement and the host source need the pools prepare() starts.
        self.scheduler = Scheduler(conf, placement=None)
        self.api_pool: DBThreadPool | None = None
        self.cells = None
        self.discovery: task.LoopingCall | None = None
        #: Rounds of host discovery run so far (failed ones included).
        self.discovery_rounds = 0
        RPCServer(self.transport, Target(topic=RPC_TOPIC, server=conf.host),
                  [self.scheduler], conf=conf, reactor=self.reactor).setServiceParent(self)
        Heartbeat(self.records, conf, binary="nova-scheduler", topic=RPC_TOPIC,
                  reactor=self.reactor).setServiceParent(self)

    async def prepare(self) -> None:
        await super().prepare()
        self.scheduler.placement = make_client(self.conf)
        self.scheduler.sources.placement = self.scheduler.placement
        api_url = self.conf.api_database.connection
        if api_url:
            from nova_tx.db.cells import CellEngines
            from nova_tx.scheduler.request_filter import DBAggregateSource

            engine = engines.create_engine(
                api_url, **database_conf.engine_args(self.conf.api_database))
            self.api_pool = DBThreadPool(engine, reactor=self.reactor,
                                         name="nova-scheduler-api-db")
            self.api_pool.start()
            self.cells = CellEngines(self.conf)
            read = host_source.all_cells(self.api_pool, self.cells)
            self.scheduler.sources.aggregates = DBAggregateSource(self.api_pool)
            interval = self.conf.scheduler.discover_hosts_in_cells_interval
            if interval >= 0:
                self.discovery = task.LoopingCall(
                    lambda: defer.ensureDeferred(self._discover_hosts()))
                self.discovery.clock = self.reactor
                self.discovery.start(interval or DEFAULT_DISCOVERY_INTERVAL, now=True
                                     ).addErrback(self._discovery_stopped)
        else:
            read = host_source.single_cell(self.pool)
        self.scheduler.host_source = host_source.CellHostSource(read)

    async def _discover_hosts(self) -> None:
        """``[scheduler] discover_hosts_in_cells_interval``: map the compute hosts
        that appeared in the cells (``nova-manage cell_v2 discover_hosts``)."""
        from nova_tx.db import host_discovery
        from nova_tx.db.api import cell_mappings
        from nova_tx.objects.cell_mapping import BaseUrls

        base_urls = BaseUrls.from_conf(self.conf)

        def discover(api_conn: Any) -> list[str]:
            added: list[str] = []
            for cell in cell_mappings.get_all(api_conn, base_urls=base_urls):
                if cell.is_cell0 or not cell.database_connection:
                    continue
                with self.cells.engine(cell.database_connection).begin() as cell_conn:
                    added += host_discovery.discover_in_cell(api_conn, cell_conn, cell)
            return added

        try:
            for attempt in range(DISCOVERY_ATTEMPTS):
                try:
                    added = await self.api_pool.do(discover)
                    break
                except sa.exc.OperationalError as error:
                    # SQLite (the all-in-one) refuses a transaction that read before
                    # another process wrote ("database is locked"): try again soon.
                    if attempt == DISCOVERY_ATTEMPTS - 1:
                        raise
                    LOG.debug("Host discovery will try again: %s", error)
                    await task.deferLater(self.reactor, 0.2 * (attempt + 1), lambda: None)
        except Exception:
            LOG.exception("Host discovery failed; it runs again at the next interval")
            return
        finally:
            self.discovery_rounds += 1
        if added:
            LOG.info("Host discovery mapped %s", ", ".join(added))

    def _discovery_stopped(self, failure: Any) -> None:
        LOG.error("Host discovery stopped: %s", failure.getErrorMessage())

    def stopService(self) -> defer.Deferred:
        if self.discovery is not None and self.discovery.running:
            self.discovery.stop()
        d = super().stopService()

        def close(_: Any) -> Any:
            if self.cells is not None:
                self.cells.dispose()
            return self.api_pool.stop() if self.api_pool is not None else None

        return d.addCallback(close)


def make_service(conf: cfg.ConfigOpts) -> SchedulerService:
    return SchedulerService(conf)
