"""The ``nova-compute`` daemon: its service tree.

A compute never opens a database: it records itself and heartbeats through the
conductor over the bus. Issue by issue more children arrive here; the tree is what
``twistd nova-compute``, the ``nova-compute`` console script and the all-in-one run.
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg

from nova_tx.bus.interfaces import ITransport
from nova_tx.conductor.rpcapi import ConductorAPI, ConductorServiceRecords
from nova_tx.servicegroup.api import Heartbeat
from nova_tx.servicegroup.services import BusService

RPC_TOPIC = "compute"


class ComputeService(BusService):
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 transport: ITransport | None = None):
        super().__init__("nova-compute", conf, reactor=reactor, transport=transport)
        self.conductor_api = ConductorAPI(self.transport, conf, reactor=self.reactor)
        self.heartbeat = Heartbeat(ConductorServiceRecords(self.conductor_api), conf,
                                   binary="nova-compute", topic=RPC_TOPIC,
                                   reactor=self.reactor)
        self.heartbeat.setServiceParent(self)

    def reset(self) -> None:
        super().reset()
        self.conductor_api.reset()


def make_service(conf: cfg.ConfigOpts) -> ComputeService:
    return ComputeService(conf)
