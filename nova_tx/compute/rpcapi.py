"""Client side of the compute service's RPC API (topic ``compute``, one server per
host), as far as the operator API needs it: ``get_host_uptime`` (a call) and
``cache_images`` (a cast). Versions are Nova Zed's (5.x); the compute manager's
side of them is the compute service's (issue #9).
"""
from __future__ import annotations

from typing import Any

from oslo_config import cfg
from twisted.internet import defer

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCClient, Target

RPC_TOPIC = "compute"


class ComputeAPI:
    VERSION = "5.0"

    def __init__(self, transport: ITransport, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 timeout: float | None = None):
        self.client = RPCClient(transport, Target(topic=RPC_TOPIC, version=self.VERSION),
                                conf=conf, reactor=reactor, timeout=timeout)

    def get_host_uptime(self, ctxt: Any, host: str, *,
                        timeout: float | None = None) -> defer.Deferred:
        """The ``uptime`` line of ``host`` (Nova's ``get_host_uptime``, 5.0);
        ``timeout`` None is ``[DEFAULT] rpc_response_timeout``."""
        prepared = self.client.prepare(server=host, version="5.0")
        if timeout is not None:
            prepared = prepared.prepare(timeout=timeout)
        return prepared.call(ctxt, "get_host_uptime")

    def cache_images(self, ctxt: Any, host: str, image_ids: list[str]) -> defer.Deferred:
        """Ask ``host`` to fetch ``image_ids`` into its image cache (Nova 5.4); sent and
        not waited for: pre-caching is best effort and reports through the log."""
        return self.client.prepare(server=host, version="5.4").cast(
            ctxt, "cache_images", image_ids=list(image_ids))
