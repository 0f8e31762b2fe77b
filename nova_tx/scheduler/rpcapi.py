"""How the conductor asks a scheduler for destinations (Nova's ``SchedulerAPI``).

``select_destinations`` is a call to topic ``scheduler`` at version 4.5 with Nova's
arguments, so a Nova scheduler can answer it and ours answers a Nova conductor. The
answer is a list per instance of ``Selection`` objects (the chosen host first, then
the alternates when asked for); NoValidHost comes back as itself. The call waits
``[DEFAULT] long_rpc_timeout`` where that option is registered, as Nova's does (a
large request over many hosts may take longer than an ordinary call), else the
ordinary ``rpc_response_timeout``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oslo_config import cfg

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCClient, Target
from nova_tx.objects.request_spec import RequestSpec
from nova_tx.objects.selection import Selection

RPC_TOPIC = "scheduler"
SELECT_VERSION = "4.5"


class SchedulerAPI:
    def __init__(self, transport: ITransport, conf: cfg.ConfigOpts, *, reactor: Any = None):
        self.conf = conf
        self.client = RPCClient(transport, Target(topic=RPC_TOPIC, version="4.0"),
                                conf=conf, reactor=reactor)

    def _timeout(self) -> dict[str, float]:
        """``timeout=[DEFAULT] long_rpc_timeout`` where the option is registered."""
        try:
            return {"timeout": float(self.conf.long_rpc_timeout)}
        except (cfg.NoSuchOptError, AttributeError, TypeError):
            return {}

    async def select_destinations(self, ctxt: Any, spec: RequestSpec,
                                  instance_uuids: Sequence[str], *,
                                  return_alternates: bool = False
                                  ) -> list[list[Selection]]:
        prepared = self.client.prepare(version=SELECT_VERSION, **self._timeout())
        answer = await prepared.call(
            ctxt, "select_destinations", request_spec=None, filter_properties=None,
            spec_obj=spec.to_primitive(), instance_uuids=list(instance_uuids),
            return_objects=True, return_alternates=return_alternates)
        return [[Selection.from_primitive(s) for s in alternatives]
                for alternatives in answer]
