"""The ``nova-scheduler`` daemon: its service tree.

It records itself directly in its cell database and heartbeats there. Issue by issue
more children arrive here (its RPC server among them); the tree is what ``twistd
nova-scheduler``, the ``nova-scheduler`` console script and the all-in-one run.
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg

from nova_tx.servicegroup.api import Heartbeat
from nova_tx.servicegroup.services import DatabaseBusService


class SchedulerService(DatabaseBusService):
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None):
        super().__init__("nova-scheduler", conf, reactor=reactor)
        Heartbeat(self.records, conf, binary="nova-scheduler", topic="scheduler",
                  reactor=self.reactor).setServiceParent(self)


def make_service(conf: cfg.ConfigOpts) -> SchedulerService:
    return SchedulerService(conf)
