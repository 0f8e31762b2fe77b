"""Dropping an instance's cached metadata when the instance changes elsewhere.

The compute API sends ``instance.update`` (versioned) / ``compute.instance.update``
(legacy) when a server's metadata, name or tags change. When notifications go on a
bus, each metadata process consumes a copy of them on a queue of its own (exclusive,
deleted with the connection: it steals nothing from other consumers and leaves
nothing behind) and invalidates the instance's cache entries. Without notifications
on a bus, entries simply expire after ``[api] metadata_cache_expiration``.
"""
from __future__ import annotations

import json
import uuid as uuidlib
from typing import Any

from twisted.application import service
from twisted.internet import defer

from nova_tx import log

LOG = log.getLogger(__name__)

UPDATE_EVENTS = ("instance.update", "compute.instance.update")
#: Other events after which the rendered metadata may be stale.
OTHER_EVENTS = ("instance.delete.end", "compute.instance.delete.end",
                "instance.interface_attach.end", "instance.interface_detach.end",
                "instance.rebuild.end", "compute.instance.rebuild.end")


def instance_uuid_of(body: bytes) -> str | None:
    """The instance a notification is about, if it is one the cache cares for."""
    try:
        outer = json.loads(body)
        message = json.loads(outer["oslo.message"]) if "oslo.message" in outer else outer
    except (ValueError, TypeError, KeyError):
        return None
    if message.get("event_type") not in UPDATE_EVENTS + OTHER_EVENTS:
        return None
    payload = message.get("payload") or {}
    if "nova_object.data" in payload:
        return (payload["nova_object.data"] or {}).get("uuid")
    return payload.get("instance_id")


def routing_keys(conf: Any) -> list[str]:
    topics = list(conf.oslo_messaging_notifications.topics) + list(
        conf.notifications.versioned_notifications_topics)
    return ["%s.info" % topic for topic in topics]


class CacheInvalidator(service.Service):
    """Consumes the notifications of instance changes for ``cache``."""

    name = "metadata_cache_invalidator"

    def __init__(self, conf: Any, cache_of: Any, transport: Any = None):
        self.conf = conf
        #: A callable returning the cache (the site is made after this service).
        self.cache_of = cache_of
        self.transport = transport
        self.queue = "nova-api-metadata.%s.%s" % (conf.host, uuidlib.uuid4().hex[:12])
        self._consumer = None
        self.ready: defer.Deferred | None = None

    def startService(self) -> None:
        service.Service.startService(self)
        self.ready = defer.Deferred.fromCoroutine(self._start())
        self.ready.addErrback(lambda f: LOG.warning(
            "Metadata cache invalidation by notification is off: %s", f.getErrorMessage()))

    async def _start(self) -> None:
        from nova_tx.bus.interfaces import TOPIC, Binding

        transport = self.transport
        await transport.connect()
        exchange = self.conf.control_exchange
        await transport.declare_exchange(exchange, TOPIC)
        await transport.declare_queue(
            self.queue, [Binding(exchange, key) for key in routing_keys(self.conf)],
            auto_delete=True, exclusive=True)
        self._consumer = await transport.consume(self.queue, self._received)

    def _received(self, incoming) -> None:
        uuid = instance_uuid_of(incoming.body)
        if uuid:
            self.cache_of().invalidate(uuid)

    def stopService(self):
        service.Service.stopService(self)
        stops = []
        if self._consumer is not None:
            stops.append(self._consumer.stop())
        return defer.gatherResults(stops)
