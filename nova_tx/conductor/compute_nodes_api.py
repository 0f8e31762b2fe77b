"""Client side of the conductor's compute node gateway (namespace ``compute_nodes``).

``[upgrade_levels] conductor`` caps it as it caps ``ConductorAPI``; records come back
as the dicts ``nova_tx.conductor.compute_nodes`` sends.
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg
from twisted.internet import defer

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCClient, Target, version_cap_from_upgrade_level
from nova_tx.conductor.compute_nodes import NAMESPACE
from nova_tx.conductor.rpcapi import RPC_TOPIC, ConductorAPI


class ComputeNodeAPI:
    """Version history: see ``nova_tx.conductor.compute_nodes.ComputeNodeGateway``."""

    VERSION = "1.0"

    def __init__(self, transport: ITransport, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 timeout: float | None = None):
        level = conf.upgrade_levels.conductor
        cap = None if level == "auto" else version_cap_from_upgrade_level(
            "conductor", level, ConductorAPI.VERSION_ALIASES)
        self.client = RPCClient(
            transport, Target(topic=RPC_TOPIC, namespace=NAMESPACE, version=self.VERSION),
            version_cap=cap, conf=conf, reactor=reactor, timeout=timeout,
            allowed_remote_exmods=("nova_tx.db.exception",))

    def _call(self, ctxt: Any, method: str, **kwargs: Any) -> defer.Deferred:
        return self.client.prepare(version="1.0").call(ctxt, method, **kwargs)

    def compute_node_get_by_host_and_nodename(self, ctxt: Any, host: str, nodename: str
                                              ) -> defer.Deferred:
        return self._call(ctxt, "compute_node_get_by_host_and_nodename", host=host,
                          nodename=nodename)

    def compute_node_get_all_by_host(self, ctxt: Any, host: str) -> defer.Deferred:
        return self._call(ctxt, "compute_node_get_all_by_host", host=host)

    def compute_node_create(self, ctxt: Any, values: dict[str, Any]) -> defer.Deferred:
        return self._call(ctxt, "compute_node_create", values=values)

    def compute_node_update(self, ctxt: Any, node_id: int, values: dict[str, Any]
                            ) -> defer.Deferred:
        return self._call(ctxt, "compute_node_update", node_id=node_id, values=values)

    def compute_node_delete(self, ctxt: Any, node_id: int) -> defer.Deferred:
        return self._call(ctxt, "compute_node_delete", node_id=node_id)
