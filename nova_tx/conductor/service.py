"""The ``nova-conductor`` daemon: its service tree.

It serves the database gateway of the computes on topic ``conductor`` (server
``[DEFAULT] host``) and records itself directly in its cell database. Issue by issue
more children arrive here; the tree is what ``twistd nova-conductor``, the
``nova-conductor`` console script and the all-in-one run.
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.conductor.compute_nodes import ComputeNodeGateway
from nova_tx.conductor.instances import InstanceGateway
from nova_tx.conductor.manager import ConductorManager
from nova_tx.conductor.rpcapi import RPC_TOPIC
from nova_tx.servicegroup.api import Heartbeat
from nova_tx.servicegroup.services import DatabaseBusService


class ConductorService(DatabaseBusService):
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 transport: ITransport | None = None):
        super().__init__("nova-conductor", conf, reactor=reactor, transport=transport)
        self.manager = ConductorManager(self.records)
        self.instances = InstanceGateway(lambda: self.pool)
        self.compute_nodes = ComputeNodeGateway(lambda: self.pool)
        RPCServer(self.transport, Target(topic=RPC_TOPIC, server=conf.host),
                  [self.manager, self.instances, self.compute_nodes], conf=conf,
                  reactor=self.reactor).setServiceParent(self)
        Heartbeat(self.records, conf, binary="nova-conductor", topic=RPC_TOPIC,
                  reactor=self.reactor).setServiceParent(self)


def make_service(conf: cfg.ConfigOpts) -> ConductorService:
    return ConductorService(conf)
