"""What the API tells every scheduler about aggregates (Nova's
``SchedulerQueryClient`` over ``scheduler.rpcapi``): ``update_aggregates`` and
``delete_aggregate``, fanout casts at version 4.1 to the ``scheduler`` topic, each
carrying Nova's ``Aggregate`` object in its wire form. Every scheduler process
receives them (``HostStates.update_aggregates`` / ``delete_aggregate``) and so sees an
aggregate change without reading the database again.

A cast that cannot be sent is logged and does not fail the API request: the
schedulers re-read aggregates when they start, as Nova's do.
"""
from __future__ import annotations

import logging
from typing import Any

from oslo_config import cfg
from twisted.internet import defer

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCClient, Target
from nova_tx.objects.aggregate import Aggregate

LOG = logging.getLogger(__name__)

RPC_TOPIC = "scheduler"
#: Nova's scheduler RPC API: update_aggregates and delete_aggregate came with 4.1.
AGGREGATES_VERSION = "4.1"


class SchedulerQueryClient:
    def __init__(self, transport: ITransport, conf: cfg.ConfigOpts, *, reactor: Any = None):
        self.client = RPCClient(transport, Target(topic=RPC_TOPIC, version="4.0"),
                                conf=conf, reactor=reactor)

    def _fanout(self, ctxt: Any, method: str, **kwargs: Any) -> defer.Deferred:
        prepared = self.client.prepare(fanout=True, version=AGGREGATES_VERSION)
        d = prepared.cast(ctxt, method, **kwargs)
        d.addErrback(lambda failure: LOG.warning(
            "The schedulers were not told %s: %s", method, failure.getErrorMessage()))
        return d

    def update_aggregates(self, ctxt: Any, aggregates: list[Aggregate]) -> defer.Deferred:
        return self._fanout(ctxt, "update_aggregates",
                            aggregates=[a.to_primitive() for a in aggregates])

    def delete_aggregate(self, ctxt: Any, aggregate: Aggregate) -> defer.Deferred:
        return self._fanout(ctxt, "delete_aggregate", aggregate=aggregate.to_primitive())
