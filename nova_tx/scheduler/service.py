"""The ``nova-scheduler`` daemon: its service tree.

It records itself directly in its cell database and heartbeats there, and serves
``select_destinations`` and the host-state casts on topic ``scheduler`` (server
``[DEFAULT] host``, and the fanout the API's aggregate casts use). Its host states are
read from the cell databases before each request, only what changed since
(``host_source``): every cell when ``[api_database] connection`` is set (the cell
mappings say where they are), else its own cell. Placement is reached in process
when this process serves it (the all-in-one), else over HTTP (``[placement]``).
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg
from twisted.internet import defer

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


class SchedulerService(DatabaseBusService):
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 transport: ITransport | None = None):
        super().__init__("nova-scheduler", conf, reactor=reactor, transport=transport)
        # Placement and the host source need the pools prepare() starts.
        self.scheduler = Scheduler(conf, placement=None)
        self.api_pool: DBThreadPool | None = None
        self.cells = None
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
        else:
            read = host_source.single_cell(self.pool)
        self.scheduler.host_source = host_source.CellHostSource(read)

    def stopService(self) -> defer.Deferred:
        d = super().stopService()

        def close(_: Any) -> Any:
            if self.cells is not None:
                self.cells.dispose()
            return self.api_pool.stop() if self.api_pool is not None else None

        return d.addCallback(close)


def make_service(conf: cfg.ConfigOpts) -> SchedulerService:
    return SchedulerService(conf)
