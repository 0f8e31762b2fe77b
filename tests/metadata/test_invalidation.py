"""Cached metadata is dropped when a notification says the instance changed (the
compute API's instance.update, versioned or legacy), on a queue of the metadata
process's own."""
from __future__ import annotations

import json

from twisted.internet.task import Clock
from twisted.trial import unittest

from nova_tx.bus import notifier as bus_notifier
from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.conf import messaging
from nova_tx.context import RequestContext
from nova_tx.metadata.cache import MetadataCache
from nova_tx.metadata.invalidation import CacheInvalidator, instance_uuid_of
from tests.metadata.fixture import make_conf


class InvalidationTest(unittest.TestCase):
    async def test_versioned_and_legacy_updates_invalidate(self):
        conf = make_conf()
        messaging.register_opts(conf)
        conf.set_override("driver", ["messagingv2"], group="oslo_messaging_notifications")
        conf.set_override("notification_format", "both", group="notifications")
        clock = Clock()
        transport = MemoryBus(MemoryBroker(reactor=clock))
        cache = MetadataCache(15, Clock())
        invalidator = CacheInvalidator(conf, lambda: cache, transport)
        invalidator.startService()
        await invalidator.ready
        self.addCleanup(invalidator.stopService)
        # Another consumer of the same topic still gets every notification.
        from nova_tx.bus.interfaces import Binding
        from tests.bus import Collector

        other = Collector()
        await transport.declare_queue("versioned_notifications.info", [
            Binding(conf.control_exchange, "versioned_notifications.info")])
        await transport.consume("versioned_notifications.info", other)
        cache.put(("uuid", "u1"), "u1", "rendered")
        cache.put(("uuid", "u2"), "u2", "rendered")
        versioned = bus_notifier.get_versioned_notifier(transport, conf, "nova-api:h")
        await versioned.info(RequestContext(), "instance.update", {
            "nova_object.name": "InstanceUpdatePayload",
            "nova_object.data": {"uuid": "u1"}})
        clock.advance(0)
        self.assertIsNone(cache.get(("uuid", "u1")))
        self.assertEqual("rendered", cache.get(("uuid", "u2")))
        legacy = bus_notifier.get_notifier(transport, conf, "api")
        await legacy.info(RequestContext(), "compute.instance.update",
                          {"instance_id": "u2"})
        clock.advance(0)
        self.assertIsNone(cache.get(("uuid", "u2")))
        self.assertEqual(1, len(other.bodies))

    def test_other_events_are_ignored(self):
        body = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps({
            "event_type": "instance.power_on.end",
            "payload": {"nova_object.data": {"uuid": "u"}}})}).encode()
        self.assertIsNone(instance_uuid_of(body))
        self.assertIsNone(instance_uuid_of(b"not json"))
