"""The ``nova-conductor`` daemon: its service tree.

It serves the database gateway of the computes on topic ``conductor`` (server
``[DEFAULT] host``) and records itself directly in its cell database. Issue by issue
more children arrive here; the tree is what ``twistd nova-conductor``, the
``nova-conductor`` console script and the all-in-one run.
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg
from twisted.internet import defer

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.compute.rpcapi import ComputeAPI
from nova_tx.conductor.build import ComputeTaskManager
from nova_tx.conductor.compute_nodes import ComputeNodeGateway
from nova_tx.conductor.instances import InstanceGateway
from nova_tx.conductor.manager import ConductorManager
from nova_tx.conductor.rpcapi import RPC_TOPIC
from nova_tx.conf import database as database_conf
from nova_tx.db import engines
from nova_tx.db.cells import CellEngines
from nova_tx.db.pool import DBThreadPool
from nova_tx.placement.client import make_client
from nova_tx.scheduler.rpcapi import SchedulerAPI
from nova_tx.servicegroup.api import Heartbeat
from nova_tx.servicegroup.services import DatabaseBusService


class ConductorService(DatabaseBusService):
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 transport: ITransport | None = None):
        super().__init__("nova-conductor", conf, reactor=reactor, transport=transport)
        self.manager = ConductorManager(self.records)
        self.instances = InstanceGateway(lambda: self.pool)
        self.compute_nodes = ComputeNodeGateway(lambda: self.pool)
        # The super conductor's builds; its API database, cells and Placement client
        # come in prepare() (a cell conductor without [api_database] refuses builds).
        self.compute_tasks = ComputeTaskManager(
            conf, api_pool=None, cells=None,
            scheduler=SchedulerAPI(self.transport, conf, reactor=self.reactor),
            compute=ComputeAPI(self.transport, conf, reactor=self.reactor))
        self.api_pool: DBThreadPool | None = None
        RPCServer(self.transport, Target(topic=RPC_TOPIC, server=conf.host),
                  [self.manager, self.instances, self.compute_nodes, self.compute_tasks],
                  conf=conf, reactor=self.reactor).setServiceParent(self)
        Heartbeat(self.records, conf, binary="nova-conductor", topic=RPC_TOPIC,
                  reactor=self.reactor).setServiceParent(self)


    async def prepare(self) -> None:
        await super().prepare()
        api_url = self.conf.api_database.connection
        if not api_url:
            return
        engine = engines.create_engine(api_url,
                                       **database_conf.engine_args(self.conf.api_database))
        self.api_pool = DBThreadPool(engine, reactor=self.reactor,
                                     name="nova-conductor-api-db")
        self.api_pool.start()
        self.compute_tasks.api_pool = self.api_pool
        self.compute_tasks.cells = CellEngines(self.conf)
        self.compute_tasks.placement = make_client(self.conf)

    def stopService(self) -> defer.Deferred:
        d = super().stopService()

        def close(_: Any) -> Any:
            if self.compute_tasks.cells is not None:
                self.compute_tasks.cells.dispose()
            return self.api_pool.stop() if self.api_pool is not None else None

        return d.addCallback(close)


def make_service(conf: cfg.ConfigOpts) -> ConductorService:
    return ConductorService(conf)
