"""The memory bus behaves as an AMQP 0-9-1 broker does for what nova-tx uses."""
from __future__ import annotations

import logging

from twisted.internet import defer, task
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from nova_tx.bus.exception import (
    MessageDeliveryFailure,
    MessagingException,
    TransportNotConnected,
)
from nova_tx.bus.interfaces import (
    DEFAULT_EXCHANGE,
    DIRECT,
    FANOUT,
    TOPIC,
    Binding,
    IConsumer,
    ITransport,
)
from nova_tx.bus.memory import MemoryBroker, MemoryBus, topic_matches
from tests.bus import Collector, LogCapture


class TopicMatchTest(unittest.SynchronousTestCase):
    def test_amqp_rules(self):
        cases = [
            ("compute", "compute", True),
            ("compute", "compute.host1", False),
            ("compute.*", "compute.host1", True),
            ("compute.*", "compute", False),
            ("compute.*", "compute.a.b", False),
            ("*.info", "notifications.info", True),
            ("#", "", True),
            ("#", "a.b.c", True),
            ("a.#", "a", True),
            ("a.#", "a.b.c", True),
            ("a.#", "b.a", False),
            ("#.error", "error", True),
            ("#.error", "versioned_notifications.error", True),
            ("#.error", "x.error.y", False),
            ("a.#.z", "a.z", True),
            ("a.#.z", "a.b.c.z", True),
            ("a.*.#", "a", False),
            ("*", "", False),
        ]
        for pattern, key, expected in cases:
            self.assertEqual(expected, topic_matches(pattern, key), (pattern, key))


class MemoryBusTestBase(unittest.SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.broker = MemoryBroker(reactor=self.clock)

    def bus(self) -> MemoryBus:
        bus = MemoryBus(self.broker)
        self.successResultOf(bus.connect())
        return bus

    def deliver(self) -> None:
        self.clock.advance(0)

    def consume(self, bus, queue, handler=None, prefetch=0):
        handler = handler if handler is not None else Collector()
        consumer = self.successResultOf(bus.consume(queue, handler, prefetch=prefetch))
        return consumer, handler


class RoutingTest(MemoryBusTestBase):
    def test_interfaces(self):
        bus = self.bus()
        verifyObject(ITransport, bus)
        self.successResultOf(bus.declare_queue("q"))
        consumer, _ = self.consume(bus, "q")
        verifyObject(IConsumer, consumer)
        self.assertEqual("q", consumer.queue)

    def test_topic_exchange_routes_by_pattern(self):
        bus = self.bus()
        self.successResultOf(bus.declare_exchange("nova", TOPIC))
        self.successResultOf(bus.declare_queue("all", [Binding("nova", "#")]))
        self.successResultOf(bus.declare_queue("compute", [Binding("nova", "compute")]))
        self.successResultOf(bus.declare_queue("compute.h1", [Binding("nova", "compute.h1")]))
        self.successResultOf(bus.publish("nova", "compute", b"1"))
        self.successResultOf(bus.publish("nova", "compute.h1", b"2"))
        self.successResultOf(bus.publish("nova", "scheduler", b"3"))
        self.assertEqual({"all": 3, "compute": 1, "compute.h1": 1},
                         {q: self.broker.message_count(q)
                          for q in ("all", "compute", "compute.h1")})

    def test_direct_exchange_needs_the_exact_key(self):
        bus = self.bus()
        self.successResultOf(bus.declare_exchange("d", DIRECT))
        self.successResultOf(bus.declare_queue("q", [Binding("d", "k.*")]))
        self.successResultOf(bus.publish("d", "k.x", b"no"))
        self.successResultOf(bus.publish("d", "k.*", b"yes"))
        self.assertEqual(1, self.broker.message_count("q"))

    def test_fanout_exchange_ignores_the_key(self):
        bus = self.bus()
        self.successResultOf(bus.declare_exchange("compute_fanout", FANOUT, auto_delete=True))
        for name in ("f1", "f2"):
            self.successResultOf(bus.declare_queue(name, [Binding("compute_fanout", "compute")]))
        self.successResultOf(bus.publish("compute_fanout", "anything", b"x"))
        self.assertEqual([1, 1], [self.broker.message_count(q) for q in ("f1", "f2")])

    def test_two_bindings_to_one_queue_deliver_once(self):
        bus = self.bus()
        self.successResultOf(bus.declare_exchange("t", TOPIC))
        self.successResultOf(bus.declare_queue("q", [Binding("t", "a.*"), Binding("t", "#")]))
        self.successResultOf(bus.publish("t", "a.b", b"x"))
        self.assertEqual(1, self.broker.message_count("q"))
        self.assertEqual({Binding("t", "a.*"), Binding("t", "#")}, self.broker.bindings("q"))

    def test_default_exchange_routes_to_the_named_queue(self):
        bus = self.bus()
        self.successResultOf(bus.declare_queue("reply_abc"))
        self.successResultOf(bus.publish(DEFAULT_EXCHANGE, "reply_abc", b"x"))
        self.successResultOf(bus.publish(DEFAULT_EXCHANGE, "reply_gone", b"lost"))
        self.assertEqual(1, self.broker.message_count("reply_abc"))
        self.failureResultOf(bus.declare_exchange(DEFAULT_EXCHANGE, DIRECT), MessagingException)
        self.failureResultOf(bus.declare_queue("q", [Binding(DEFAULT_EXCHANGE, "q")]),
                             MessagingException)

    def test_unroutable_is_dropped_and_missing_exchange_fails(self):
        bus = self.bus()
        self.successResultOf(bus.declare_exchange("nova", TOPIC))
        self.successResultOf(bus.publish("nova", "nobody", b"x"))
        failure = self.failureResultOf(bus.publish("nope", "k", b"x"), MessageDeliveryFailure)
        self.assertIn("nope", failure.getErrorMessage())

    def test_server_named_queue(self):
        bus = self.bus()
        name = self.successResultOf(bus.declare_queue(""))
        self.assertTrue(name.startswith("amq.gen-"))
        self.assertIn(name, self.broker.queue_names())


class DeclarationTest(MemoryBusTestBase):
    def test_redeclaring_the_same_is_fine_and_different_fails(self):
        bus = self.bus()
        self.successResultOf(bus.declare_exchange("nova", TOPIC))
        self.successResultOf(bus.declare_exchange("nova", TOPIC))
        self.failureResultOf(bus.declare_exchange("nova", FANOUT), MessagingException)
        self.failureResultOf(bus.declare_exchange("nova", TOPIC, durable=True),
                             MessagingException)
        self.successResultOf(bus.declare_queue("q", expires_ms=1000))
        self.successResultOf(bus.declare_queue("q", expires_ms=1000))
        failure = self.failureResultOf(bus.declare_queue("q", durable=True), MessagingException)
        self.assertIn("PRECONDITION_FAILED", failure.getErrorMessage())

    def test_binding_to_a_missing_exchange_and_consuming_a_missing_queue_fail(self):
        bus = self.bus()
        self.failureResultOf(bus.declare_queue("q", [Binding("nope", "q")]), MessagingException)
        self.assertNotIn("q", self.broker.queue_names())
        self.failureResultOf(bus.consume("missing", Collector()), MessagingException)

    def test_unknown_exchange_kind(self):
        self.failureResultOf(self.bus().declare_exchange("x", "headers"), MessagingException)

    def test_exclusive_queue_belongs_to_its_connection(self):
        owner, other = self.bus(), self.bus()
        self.successResultOf(owner.declare_queue("mine", exclusive=True))
        self.failureResultOf(other.declare_queue("mine", exclusive=True), MessagingException)
        self.failureResultOf(other.consume("mine", Collector()), MessagingException)
        self.consume(owner, "mine")
        self.successResultOf(owner.close())
        self.assertNotIn("mine", self.broker.queue_names())

    def test_auto_delete_queue_goes_with_its_last_consumer(self):
        bus = self.bus()
        self.successResultOf(bus.declare_exchange("x", FANOUT, auto_delete=True))
        self.successResultOf(bus.declare_queue("q", [Binding("x", "")], auto_delete=True))
        first, _ = self.consume(bus, "q")
        second, _ = self.consume(bus, "q")
        self.successResultOf(first.stop())
        self.assertIn("q", self.broker.queue_names())
        self.successResultOf(second.stop())
        self.assertNotIn("q", self.broker.queue_names())
        # ... and the auto-delete exchange with its last binding.
        self.assertNotIn("x", self.broker.exchange_names())

    def test_auto_delete_queue_never_consumed_stays(self):
        bus = self.bus()
        self.successResultOf(bus.declare_queue("q", auto_delete=True))
        self.assertIn("q", self.broker.queue_names())

    def test_queue_expires_when_unused(self):
        bus = self.bus()
        self.successResultOf(bus.declare_queue("reply_x", expires_ms=10_000))
        consumer, _ = self.consume(bus, "reply_x")
        self.clock.advance(60)
        self.assertIn("reply_x", self.broker.queue_names())
        self.successResultOf(consumer.stop())
        self.clock.advance(9)
        self.assertIn("reply_x", self.broker.queue_names())
        self.successResultOf(bus.declare_queue("reply_x", expires_ms=10_000))
        self.clock.advance(9)
        self.assertIn("reply_x", self.broker.queue_names())
        self.clock.advance(1)
        self.assertNotIn("reply_x", self.broker.queue_names())


class DeliveryTest(MemoryBusTestBase):
    def setUp(self):
        super().setUp()
        self.bus_ = self.bus()
        self.successResultOf(self.bus_.declare_queue("q"))

    def publish(self, *bodies: bytes) -> None:
        for body in bodies:
            self.successResultOf(self.bus_.publish(DEFAULT_EXCHANGE, "q", body))

    def test_delivery_waits_for_the_reactor(self):
        _, collector = self.consume(self.bus_, "q")
        self.publish(b"1")
        self.assertEqual([], collector.bodies)
        self.deliver()
        self.assertEqual([b"1"], collector.bodies)
        message = collector.messages[0]
        self.assertEqual(("", "q", "application/json", False),
                         (message.exchange, message.routing_key, message.content_type,
                          message.redelivered))

    def test_a_handler_that_publishes_is_not_reentered(self):
        seen = []

        def handler(incoming):
            seen.append(("start", incoming.body))
            if incoming.body == b"first":
                self.publish(b"second")
            seen.append(("end", incoming.body))

        self.consume(self.bus_, "q", handler)
        self.publish(b"first")
        self.deliver()
        self.assertEqual([("start", b"first"), ("end", b"first"),
                          ("start", b"second"), ("end", b"second")], seen)

    def test_messages_published_before_consuming_are_kept(self):
        self.publish(b"1", b"2")
        _, collector = self.consume(self.bus_, "q")
        self.deliver()
        self.assertEqual([b"1", b"2"], collector.bodies)
        self.assertEqual(2, len({m.delivery_id for m in collector.messages}))

    def test_consumers_take_turns(self):
        _, first = self.consume(self.bus_, "q")
        _, second = self.consume(self.bus(), "q")
        self.publish(*[str(i).encode() for i in range(6)])
        self.deliver()
        self.assertEqual([b"0", b"2", b"4"], first.bodies)
        self.assertEqual([b"1", b"3", b"5"], second.bodies)

    def test_prefetch_holds_back_until_ack(self):
        pending: list[defer.Deferred] = []

        def handler(incoming):
            d = defer.Deferred()
            pending.append(d)
            return d

        self.consume(self.bus_, "q", handler, prefetch=2)
        self.publish(b"1", b"2", b"3")
        self.deliver()
        self.assertEqual(2, len(pending))
        self.assertEqual(1, self.broker.message_count("q"))
        pending[0].callback(None)
        self.deliver()
        self.assertEqual(3, len(pending))
        self.assertEqual(0, self.broker.message_count("q"))

    def test_rejected_message_is_dropped_and_logged_and_the_next_delivered(self):
        logs = LogCapture(self, "nova_tx.bus.memory")
        delivered = []

        def handler(incoming):
            delivered.append(incoming.body)
            if incoming.body == b"bad":
                raise ValueError("cannot read this")

        self.consume(self.bus_, "q", handler, prefetch=1)
        self.publish(b"bad", b"good")
        self.deliver()
        self.assertEqual([b"bad", b"good"], delivered)
        self.assertEqual(0, self.broker.message_count("q"))
        [warning] = logs.messages(logging.WARNING)
        self.assertIn("memory-1", warning)
        self.assertIn("cannot read this", warning)

    def test_async_handler_is_acknowledged_when_it_returns(self):
        gate = defer.Deferred()
        done = []

        async def handler(incoming):
            await gate
            done.append(incoming.body)

        consumer, _ = self.consume(self.bus_, "q", handler, prefetch=1)
        self.publish(b"1", b"2")
        self.deliver()
        self.assertEqual([], done)
        self.assertEqual(1, self.broker.message_count("q"))
        stopped = consumer.stop()
        self.assertNoResult(stopped)
        gate.callback(None)
        self.successResultOf(stopped)
        self.assertEqual([b"1"], done)
        # The second one stays queued for another consumer.
        self.assertEqual(1, self.broker.message_count("q"))

    def test_expired_messages_are_not_delivered(self):
        self.successResultOf(self.bus_.publish(DEFAULT_EXCHANGE, "q", b"old",
                                               expiration_ms=1000))
        self.successResultOf(self.bus_.publish(DEFAULT_EXCHANGE, "q", b"fresh",
                                               expiration_ms=5000))
        self.clock.advance(2)
        self.assertEqual(1, self.broker.message_count("q"))
        _, collector = self.consume(self.bus_, "q")
        self.deliver()
        self.assertEqual([b"fresh"], collector.bodies)


class ConnectionTest(MemoryBusTestBase):
    def test_nothing_before_connect_or_after_close(self):
        bus = MemoryBus(self.broker)
        self.assertFalse(bus.connected)
        self.failureResultOf(bus.declare_queue("q"), TransportNotConnected)
        self.failureResultOf(bus.publish("x", "k", b""), MessageDeliveryFailure)
        self.successResultOf(bus.connect())
        self.assertTrue(bus.connected)
        self.successResultOf(bus.close())
        self.assertFalse(bus.connected)
        self.failureResultOf(bus.consume("q", Collector()), TransportNotConnected)
        self.failureResultOf(bus.connect(), TransportNotConnected)

    def test_close_stops_consumers_after_their_handlers(self):
        bus = self.bus()
        self.successResultOf(bus.declare_queue("q"))
        gate = defer.Deferred()
        self.consume(bus, "q", lambda incoming: gate, prefetch=1)
        self.successResultOf(bus.publish(DEFAULT_EXCHANGE, "q", b"1"))
        self.successResultOf(bus.publish(DEFAULT_EXCHANGE, "q", b"2"))
        self.deliver()
        closed = bus.close()
        self.assertNoResult(closed)
        gate.callback(None)
        self.successResultOf(closed)
        self.assertEqual(0, self.broker.consumer_count("q"))
        self.assertEqual(1, self.broker.message_count("q"))

    def test_two_connections_share_one_broker(self):
        server, client = self.bus(), self.bus()
        self.successResultOf(server.declare_exchange("nova", TOPIC))
        self.successResultOf(server.declare_queue("conductor", [Binding("nova", "conductor")]))
        _, collector = self.consume(server, "conductor")
        self.successResultOf(client.publish("nova", "conductor", b"hello"))
        self.deliver()
        self.assertEqual([b"hello"], collector.bodies)
