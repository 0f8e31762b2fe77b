"""What a compute tells every scheduler about its instances (Nova's
``SchedulerQueryClient.update_instance_info`` / ``delete_instance_info`` /
``sync_instance_info``): fanout casts at version 4.2 to the ``scheduler`` topic.

The schedulers keep, per host, the instances it runs (for the affinity filters and
weighers) without reading the cell databases on each request; a compute says when one
arrives or goes, and every ``scheduler_instance_sync_interval`` sends the whole list of
uuids so that a lost message is corrected. Nothing is sent when
``[filter_scheduler] track_instance_changes`` is off, as in Nova.

A cast that cannot be sent is logged, never raised: the next sync mends it.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from oslo_config import cfg
from twisted.internet import defer

from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.rpc import RPCClient, Target
from nova_tx.objects.instance import Instance

LOG = logging.getLogger(__name__)

RPC_TOPIC = "scheduler"
#: Nova's scheduler RPC API: the instance info casts came with 4.2.
INSTANCE_INFO_VERSION = "4.2"
#: Nova Zed's InstanceList.
INSTANCE_LIST_VERSION = "2.6"


def instance_list_primitive(instances: Iterable[Instance]) -> dict[str, Any]:
    """Nova's ``InstanceList`` primitive (what ``update_instance_info`` carries)."""
    data = {"objects": [i.to_primitive() for i in instances]}
    return {"nova_object.name": "InstanceList", "nova_object.namespace": "nova",
            "nova_object.version": INSTANCE_LIST_VERSION, "nova_object.data": data,
            "nova_object.changes": ["objects"]}


class SchedulerInstanceInfoClient:
    def __init__(self, transport: ITransport, conf: cfg.ConfigOpts, *, reactor: Any = None):
        self.conf = conf
        self.client = RPCClient(transport, Target(topic=RPC_TOPIC, version="4.0"),
                                conf=conf, reactor=reactor)

    @property
    def enabled(self) -> bool:
        return bool(self.conf.filter_scheduler.track_instance_changes)

    def _fanout(self, ctxt: Any, method: str, **kwargs: Any) -> defer.Deferred:
        if not self.enabled:
            return defer.succeed(None)
        prepared = self.client.prepare(fanout=True, version=INSTANCE_INFO_VERSION)
        d = prepared.cast(ctxt, method, **kwargs)
        d.addErrback(lambda failure: LOG.warning(
            "The schedulers were not told %s: %s", method, failure.getErrorMessage()))
        return d

    def update_instance_info(self, ctxt: Any, host_name: str,
                             instances: Iterable[Instance]) -> defer.Deferred:
        return self._fanout(ctxt, "update_instance_info", host_name=host_name,
                            instance_info=instance_list_primitive(instances))

    def delete_instance_info(self, ctxt: Any, host_name: str,
                             instance_uuid: str) -> defer.Deferred:
        return self._fanout(ctxt, "delete_instance_info", host_name=host_name,
                            instance_uuid=instance_uuid)

    def sync_instance_info(self, ctxt: Any, host_name: str,
                           instance_uuids: Iterable[str]) -> defer.Deferred:
        return self._fanout(ctxt, "sync_instance_info", host_name=host_name,
                            instance_uuids=list(instance_uuids))
