"""The ``nova-compute`` daemon: its service tree.

A compute never opens a database: it records itself and heartbeats through the
conductor over the bus. Issue by issue more children arrive here; the tree is what
``twistd nova-compute``, the ``nova-compute`` console script and the all-in-one run.
"""
from __future__ import annotations

import logging
from typing import Any

from oslo_config import cfg

from nova_tx.bus.interfaces import ITransport
from nova_tx.conductor.rpcapi import ConductorAPI, ConductorServiceRecords
from nova_tx.servicegroup.api import Heartbeat
from nova_tx.servicegroup.services import BusService

RPC_TOPIC = "compute"
LOG = logging.getLogger(__name__)


class ComputeService(BusService):
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 transport: ITransport | None = None):
        super().__init__("nova-compute", conf, reactor=reactor, transport=transport)
        self.conductor_api = ConductorAPI(self.transport, conf, reactor=self.reactor)
        self.heartbeat = Heartbeat(ConductorServiceRecords(self.conductor_api), conf,
                                   binary="nova-compute", topic=RPC_TOPIC,
                                   reactor=self.reactor)
        self.heartbeat.setServiceParent(self)
        # The driver and the resource tracker are made in prepare() (a bad host or
        # provider config file stops the service there, in one line).
        self.driver: Any = None
        self.resource_tracker: Any = None
        self.resource_periodic: Any = None
        #: The instances on this host (a callable; the manager's, once it exists).
        self.host_instances: Any = list

    async def prepare(self) -> None:
        await super().prepare()
        from nova_tx.compute.resource_tracker import build_compute_node
        from nova_tx.conf import virt as virt_conf

        virt_conf.register_opts(self.conf)
        if not self.conf.compute_driver:
            # Nova refuses to start; nova-tx's heartbeat-only computes (the tests of
            # the service framework, an all-in-one without a driver) still run.
            LOG.warning("[DEFAULT] compute_driver is not set: %s reports no compute "
                        "node", self.binary)
            return
        self.driver, self.resource_tracker, self.resource_periodic = \
            await build_compute_node(self.conf, transport=self.transport,
                                     reactor=self.reactor,
                                     instances=lambda: self.host_instances())
        self.resource_periodic.setServiceParent(self)

    def reset(self) -> None:
        super().reset()
        self.conductor_api.reset()


def make_service(conf: cfg.ConfigOpts) -> ComputeService:
    return ComputeService(conf)
