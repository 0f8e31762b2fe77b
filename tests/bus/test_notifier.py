"""Notifications: the message oslo.messaging's Notifier sends, where it goes by
``notification_format`` and driver, and an oslo.messaging listener reading ours."""
from __future__ import annotations

import datetime
import json
import logging
import os
import uuid

from twisted.internet import defer, task
from twisted.trial import unittest

from nova_tx.bus import notifier as notifier_module
from nova_tx.bus.exception import MessageDeliveryFailure, UnsupportedNotificationDriver
from nova_tx.bus.interfaces import TOPIC, Binding
from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.bus.notifier import Notifier, get_notifier, get_versioned_notifier
from nova_tx.context import RequestContext
from tests.bus import (
    Collector,
    FakeKombuMessage,
    LogCapture,
    assert_same_envelope,
    import_oslo_messaging,
    make_conf,
    memory_transports,
    oslo_amqp_driver,
    wait_until,
)
from tests.helpers import unavailable

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                       "nova-notification-samples")


def flavor_create_sample() -> dict:
    """Nova's own ``flavor.create`` notification (a payload without $ref)."""
    path = os.path.join(SAMPLES, "flavor-create.json")
    if not os.path.exists(path):
        unavailable("shared/reference/nova-notification-samples is not beside the checkout")
    with open(path) as f:
        return json.load(f)


class NotifierBehaviour:
    """Where notifications go and what they look like, over any transport; a subclass
    provides ``make_transports(count)`` and is a ``twisted.trial.unittest.TestCase``."""

    def setUp(self):
        # Topics of their own, so that runs on a shared broker do not see each other.
        suffix = uuid.uuid4().hex[:8]
        self.legacy_topic = "notifications_" + suffix
        self.versioned_topic = "versioned_notifications_" + suffix
        self.ctxt = RequestContext(user_id="u1", project_id="p1", roles=["admin"],
                                   auth_token="secret-token",
                                   global_request_id="req-" + str(uuid.uuid4()))

    def conf(self, **overrides):
        overrides.setdefault("oslo_messaging_notifications__driver", ["messagingv2"])
        overrides.setdefault("oslo_messaging_notifications__topics", [self.legacy_topic])
        overrides.setdefault("notifications__versioned_notifications_topics",
                             [self.versioned_topic])
        return make_conf(**overrides)

    async def transport(self):
        [transport] = list(await defer.maybeDeferred(self.make_transports, 1))
        return transport

    async def listen(self, transport, conf, *routing_keys: str) -> Collector:
        """A consumer on the queues notifications are published to (oslo's layout: a
        queue named by the routing key, bound to the control exchange)."""
        collector = Collector()
        await transport.declare_exchange(conf.control_exchange, TOPIC)
        for key in routing_keys:
            await transport.declare_queue(key, [Binding(conf.control_exchange, key)])
            await transport.consume(key, collector)
        return collector

    async def send_both_kinds(self, conf):
        transport = await self.transport()
        collector = await self.listen(transport, conf, f"{self.legacy_topic}.info",
                                      f"{self.versioned_topic}.info")
        legacy = get_notifier(transport, conf, "compute", "host1")
        versioned = get_versioned_notifier(transport, conf, "nova-compute:host1")
        await legacy.info(self.ctxt, "compute.instance.create.end", {"legacy": True})
        await versioned.info(self.ctxt, "instance.create.end", {"versioned": True})
        return legacy, versioned, collector

    async def routing_keys(self, collector, count: int) -> list[str]:
        await wait_until(lambda: len(collector.messages) >= count)
        return sorted(m.routing_key for m in collector.messages)

    async def test_unversioned_is_the_default_format(self):
        legacy, versioned, collector = await self.send_both_kinds(self.conf())
        self.assertEqual([f"{self.legacy_topic}.info"], await self.routing_keys(collector, 1))
        self.assertTrue(legacy.is_enabled())
        self.assertFalse(versioned.is_enabled())

    async def test_versioned_format(self):
        conf = self.conf(notifications__notification_format="versioned")
        legacy, versioned, collector = await self.send_both_kinds(conf)
        self.assertEqual([f"{self.versioned_topic}.info"],
                         await self.routing_keys(collector, 1))
        self.assertFalse(legacy.is_enabled())
        self.assertTrue(versioned.is_enabled())

    async def test_both_formats(self):
        conf = self.conf(notifications__notification_format="both")
        _, _, collector = await self.send_both_kinds(conf)
        self.assertEqual(sorted([f"{self.legacy_topic}.info", f"{self.versioned_topic}.info"]),
                         await self.routing_keys(collector, 2))

    async def test_every_topic_gets_a_copy(self):
        other = self.versioned_topic + "_billing"
        conf = self.conf(notifications__notification_format="versioned",
                         notifications__versioned_notifications_topics=[self.versioned_topic,
                                                                        other])
        transport = await self.transport()
        collector = await self.listen(transport, conf, f"{self.versioned_topic}.error",
                                      f"{other}.error")
        await get_versioned_notifier(transport, conf, "nova-api:h").error(
            self.ctxt, "instance.create.error", {"x": 1})
        self.assertEqual(sorted([f"{self.versioned_topic}.error", f"{other}.error"]),
                         await self.routing_keys(collector, 2))
        first, second = collector.decoded()
        self.assertNotEqual(json.loads(first["oslo.message"])["_unique_id"],
                            json.loads(second["oslo.message"])["_unique_id"])

    async def test_priorities(self):
        conf = self.conf()
        transport = await self.transport()
        priorities = ["audit", "debug", "info", "warn", "error", "critical", "sample"]
        collector = await self.listen(transport, conf,
                                      *[f"{self.legacy_topic}.{p}" for p in priorities])
        notifier = Notifier(transport, conf, "compute.host1")
        for method in priorities + ["warning"]:
            await getattr(notifier, method)(self.ctxt, "compute.test", {"method": method})
        await wait_until(lambda: len(collector.messages) == 8)
        seen = {(m.routing_key, json.loads(json.loads(m.body)["oslo.message"])["priority"],
                 json.loads(json.loads(m.body)["oslo.message"])["payload"]["method"])
                for m in collector.messages}
        expected = {(f"{self.legacy_topic}.{p}", p.upper(), p) for p in priorities}
        expected.add((f"{self.legacy_topic}.warn", "WARN", "warning"))
        self.assertEqual(expected, seen)

    async def test_a_notification_waits_in_its_queue_for_a_consumer(self):
        conf = self.conf()
        transport = await self.transport()
        await Notifier(transport, conf, "compute.host1").info(self.ctxt, "early", {})
        collector = await self.listen(transport, conf, f"{self.legacy_topic}.info")
        await wait_until(lambda: len(collector.messages) == 1)

    async def test_envelope_and_message(self):
        sample = flavor_create_sample()
        conf = self.conf(notifications__notification_format="versioned")
        transport = await self.transport()
        collector = await self.listen(transport, conf, f"{self.versioned_topic}.info")
        notifier = get_versioned_notifier(transport, conf, sample["publisher_id"])
        await notifier.info(self.ctxt, sample["event_type"], sample["payload"])
        await wait_until(lambda: len(collector.messages) == 1)
        [incoming] = collector.messages
        self.assertEqual((conf.control_exchange, f"{self.versioned_topic}.info"),
                         (incoming.exchange, incoming.routing_key))
        envelope = json.loads(incoming.body)
        self.assertEqual({"oslo.version": "2.0", "oslo.message": envelope["oslo.message"]},
                         envelope)
        message = json.loads(envelope["oslo.message"])
        self.assertEqual(sample["payload"], message["payload"])
        self.assertEqual(("INFO", "flavor.create", "nova-api:fake-mini"),
                         (message["priority"], message["event_type"], message["publisher_id"]))
        uuid.UUID(message["message_id"])
        datetime.datetime.strptime(message["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
        context = {k[len("_context_"):]: v for k, v in message.items()
                   if k.startswith("_context_")}
        self.assertEqual((self.ctxt.request_id, self.ctxt.global_request_id, "u1", "p1",
                          ["admin"], True),
                         (context["request_id"], context["global_request_id"],
                          context["user_id"], context["project_id"], context["roles"],
                          context["is_admin"]))
        self.assertIsNone(context["auth_token"])
        self.assertNotIn("secret-token", incoming.body.decode())
        self.assertEqual({"message_id", "publisher_id", "event_type", "priority", "payload",
                          "timestamp", "_unique_id"},
                         {k for k in message if not k.startswith("_context_")})

    async def test_messaging_v1_has_no_envelope(self):
        conf = self.conf(oslo_messaging_notifications__driver=["messaging"])
        transport = await self.transport()
        collector = await self.listen(transport, conf, f"{self.legacy_topic}.info")
        await Notifier(transport, conf, "compute.h").info(self.ctxt, "compute.x", {"a": 1})
        await wait_until(lambda: len(collector.messages) == 1)
        [message] = collector.decoded()
        self.assertNotIn("oslo.version", message)
        self.assertEqual(({"a": 1}, "compute.x"), (message["payload"], message["event_type"]))


class MemoryNotifierTest(NotifierBehaviour, unittest.TestCase):
    def make_transports(self, count: int):
        return memory_transports(self, count)


class DriverTest(unittest.SynchronousTestCase):
    """Drivers that do not touch the bus, retries, and what cannot be sent."""

    def setUp(self):
        self.clock = task.Clock()
        self.broker = MemoryBroker(reactor=self.clock)
        self.bus = MemoryBus(self.broker)
        self.bus.connect()
        self.ctxt = RequestContext(user_id="u1", auth_token="tok")

    def test_no_driver_or_noop_sends_nothing(self):
        for drivers in ([], ["noop"]):
            conf = make_conf(oslo_messaging_notifications__driver=drivers)
            notifier = Notifier(None, conf, "compute.h")
            self.assertFalse(notifier.is_enabled())
            self.assertIsNone(self.successResultOf(notifier.info(self.ctxt, "x", {})))
        self.assertEqual(set(), self.broker.queue_names())

    def test_unsupported_driver(self):
        conf = make_conf(oslo_messaging_notifications__driver=["routing"])
        e = self.assertRaises(UnsupportedNotificationDriver, Notifier, self.bus, conf, "p")
        self.assertIn("'routing'", str(e))
        self.assertNotIn("\n", str(e))

    def test_a_bus_driver_needs_a_transport(self):
        conf = make_conf(oslo_messaging_notifications__driver=["messagingv2"])
        self.assertRaises(ValueError, Notifier, None, conf, "p")

    def test_log_driver(self):
        conf = make_conf(oslo_messaging_notifications__driver=["log"])
        logs = LogCapture(self, notifier_module.LOGGER_BASE + ".compute.instance.exists")
        notifier = Notifier(None, conf, "compute.h", reactor=self.clock)
        self.clock.advance(86400 + 1.5)
        self.successResultOf(notifier.warn(self.ctxt, "compute.instance.exists",
                                           {"admin_password": "hunter2", "name": "vm"}))
        [record] = logs.records
        self.assertEqual(logging.WARNING, record.levelno)
        logged = json.loads(record.getMessage())
        self.assertEqual({"admin_password": "***", "name": "vm"}, logged["payload"])
        self.assertEqual(("WARN", "compute.h", "1970-01-02 00:00:01.500000"),
                         (logged["priority"], logged["publisher_id"], logged["timestamp"]))
        self.assertNotIn("tok", record.getMessage())

    def test_log_and_bus_together(self):
        conf = make_conf(oslo_messaging_notifications__driver=["log", "messagingv2"])
        logs = LogCapture(self, notifier_module.LOGGER_BASE)
        self.successResultOf(Notifier(self.bus, conf, "p", reactor=self.clock).info(
            self.ctxt, "e", {}))
        self.assertEqual(1, len(logs.records))
        self.assertEqual(1, self.broker.message_count("notifications.info"))

    def test_prepare_changes_the_publisher(self):
        conf = make_conf(oslo_messaging_notifications__driver=["messagingv2"])
        notifier = Notifier(self.bus, conf, "compute.h1", reactor=self.clock)
        other = notifier.prepare(publisher_id="compute.h2")
        self.successResultOf(other.info(self.ctxt, "e", {}))
        self.successResultOf(notifier.info(self.ctxt, "e", {}))
        bodies = []
        self.successResultOf(self.bus.consume("notifications.info",
                                              lambda m: bodies.append(json.loads(m.body))))
        self.clock.advance(0)
        self.assertEqual(["compute.h2", "compute.h1"],
                         [json.loads(b["oslo.message"])["publisher_id"] for b in bodies])

    def flaky_bus(self, failures: int) -> list:
        attempts = []
        publish = self.bus.publish

        def flaky(*args, **kwargs):
            attempts.append(self.clock.seconds())
            if len(attempts) <= failures:
                return defer.fail(MessageDeliveryFailure("broker away"))
            return publish(*args, **kwargs)

        self.bus.publish = flaky
        return attempts

    def test_retry_gives_up_after_the_configured_attempts(self):
        conf = make_conf(oslo_messaging_notifications__driver=["messagingv2"],
                         oslo_messaging_notifications__retry=2)
        attempts = self.flaky_bus(failures=10)
        logs = LogCapture(self, "nova_tx.bus.notifier")
        sent = Notifier(self.bus, conf, "p", reactor=self.clock).info(self.ctxt, "e", {})
        self.assertNoResult(sent)
        self.clock.advance(1)   # rabbit_retry_interval
        self.clock.advance(3)   # + rabbit_retry_backoff
        self.assertIsNone(self.successResultOf(sent))
        self.assertEqual([0, 1, 4], attempts)
        self.assertIn("not sent after 3 attempt(s)", logs.messages(logging.ERROR)[0])
        self.assertEqual(0, self.broker.message_count("notifications.info"))

    def test_retry_minus_one_tries_until_it_goes_through(self):
        conf = make_conf(oslo_messaging_notifications__driver=["messagingv2"])
        attempts = self.flaky_bus(failures=20)
        sent = Notifier(self.bus, conf, "p", reactor=self.clock).info(self.ctxt, "e", {})
        for _ in range(20):
            self.clock.advance(30)
        self.successResultOf(sent)
        self.assertEqual(21, len(attempts))
        self.assertEqual(30, attempts[-1] - attempts[-2])  # rabbit_interval_max
        self.assertEqual(1, self.broker.message_count("notifications.info"))

    def test_retry_zero_does_not_try_again(self):
        conf = make_conf(oslo_messaging_notifications__driver=["messagingv2"],
                         oslo_messaging_notifications__retry=0)
        attempts = self.flaky_bus(failures=1)
        self.successResultOf(Notifier(self.bus, conf, "p", reactor=self.clock).info(
            self.ctxt, "e", {}))
        self.assertEqual(1, len(attempts))

    def test_unserializable_payload_is_dropped_not_raised(self):
        conf = make_conf(oslo_messaging_notifications__driver=["messagingv2", "log"])
        logs = LogCapture(self, "nova_tx.bus.notifier")
        result = Notifier(self.bus, conf, "p", reactor=self.clock).info(
            self.ctxt, "e", {"x": object()})
        self.assertIsNone(self.successResultOf(result))
        self.assertEqual(2, len(logs.messages(logging.ERROR)))


class OsloNotificationInteropTest(unittest.TestCase):
    """The real oslo.messaging: its Notifier's message has the shape of ours, and its
    notification listener and dispatcher read ours."""

    def setUp(self):
        (self.oslo, self.oslo_common, self.oslo_amqp, self.amqpdriver,
         self.impl_rabbit) = import_oslo_messaging()
        self.sample = flavor_create_sample()
        self.conf = make_conf(oslo_messaging_notifications__driver=["messagingv2"],
                              notifications__notification_format="versioned")
        self.broker = MemoryBroker()
        self.bus = MemoryBus(self.broker)
        self.bus.connect()
        self.addCleanup(self.bus.close)
        self.ctxt = RequestContext(user_id="u1", project_id="p1", roles=["member"])

    async def ours(self) -> tuple[str, str, bytes]:
        await self.bus.declare_exchange("nova", TOPIC)
        await self.bus.declare_queue("versioned_notifications.info",
                                     [Binding("nova", "versioned_notifications.info")])
        collector = Collector()
        await self.bus.consume("versioned_notifications.info", collector)
        await get_versioned_notifier(self.bus, self.conf, self.sample["publisher_id"]).info(
            self.ctxt, self.sample["event_type"], self.sample["payload"])
        await wait_until(lambda: collector.messages)
        [incoming] = collector.messages
        return incoming.exchange, incoming.routing_key, incoming.body

    def theirs(self) -> tuple[str, str, dict]:
        from oslo_context import context as oslo_context

        driver, connection = oslo_amqp_driver()
        transport = self.oslo.transport.NotificationTransport(driver)
        notifier = self.oslo.Notifier(transport, publisher_id=self.sample["publisher_id"],
                                      driver="messagingv2",
                                      topics=["versioned_notifications"])
        notifier.info(oslo_context.RequestContext(user_id="u1", project_id="p1"),
                      self.sample["event_type"], self.sample["payload"])
        [(kind, exchange, routing_key, envelope)] = connection.sent
        self.assertEqual("notify", kind)
        return exchange, routing_key, envelope

    async def test_same_shape_as_oslo_messaging(self):
        exchange, routing_key, body = await self.ours()
        their_exchange, their_key, their_envelope = self.theirs()
        self.assertEqual((their_exchange, their_key), (exchange, routing_key))
        theirs, ours = assert_same_envelope(
            self, their_envelope, json.loads(body),
            ("publisher_id", "event_type", "priority", "payload"))
        for message in (ours, theirs):
            datetime.datetime.strptime(message["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
            uuid.UUID(message["message_id"])

    async def test_oslo_listener_dispatches_ours(self):
        from oslo_messaging.notify import dispatcher as oslo_dispatcher

        _, _, body = await self.ours()
        received = []

        class Endpoint:
            def info(self, ctxt, publisher_id, event_type, payload, metadata):
                received.append((ctxt, publisher_id, event_type, payload, metadata))

        driver, connection = oslo_amqp_driver()
        listener = self.amqpdriver.NotificationAMQPListener(driver, connection)
        raw = FakeKombuMessage(body)
        listener(self.impl_rabbit.RabbitMessage(raw))
        incoming = listener.incoming.pop(0)
        dispatcher = oslo_dispatcher.NotificationDispatcher(
            [Endpoint()], self.oslo.serializer.NoOpSerializer())
        self.assertEqual(self.oslo.NotificationResult.HANDLED, dispatcher.dispatch(incoming))
        [(ctxt, publisher_id, event_type, payload, metadata)] = received
        self.assertEqual((self.sample["publisher_id"], self.sample["event_type"],
                          self.sample["payload"]), (publisher_id, event_type, payload))
        self.assertEqual({"message_id", "timestamp"}, set(metadata))
        self.assertEqual((self.ctxt.request_id, "u1", "p1"),
                         (ctxt["request_id"], ctxt["user_id"], ctxt["project_id"]))
