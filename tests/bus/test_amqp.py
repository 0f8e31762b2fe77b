"""AMQPBus against the machine's RabbitMQ, and its connection policy on a fake reactor.

The broker tests use 127.0.0.1:5672 (guest/guest, virtual host /) as it is: every test
declares exchanges and queues under a name of its own and deletes them afterwards. When
the broker cannot be reached they are skipped, or fail with CI=true.
"""
from __future__ import annotations

import io
import logging
import shutil
import socket
import time
import uuid

from oslo_config import cfg
from twisted.internet import defer, reactor, task, utils
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial import unittest
from txamqp import codec as txcodec
from txamqp import connection as txconnection
from zope.interface.verify import verifyObject

from nova_tx.bus import amqp
from nova_tx.bus.amqp import AMQPBus, BrokerRefused
from nova_tx.bus.exception import (
    MessageDeliveryFailure,
    MessagingException,
    TransportNotConnected,
)
from nova_tx.bus.interfaces import DIRECT, FANOUT, TOPIC, Binding, IConsumer, ITransport
from nova_tx.bus.url import TransportURL
from tests.bus import Collector, LogCapture, make_conf, wait_until
from tests.bus.test_rpc import RPCBehaviour
from tests.helpers import in_ci, unavailable

BROKER = ("127.0.0.1", 5672)
URL = TransportURL.parse("rabbit://guest:guest@127.0.0.1:5672/")
IN_CI = in_ci()


def _unreachable() -> str | None:
    try:
        with socket.create_connection(BROKER, timeout=2):
            return None
    except OSError as e:
        return f"RabbitMQ is not reachable at {BROKER[0]}:{BROKER[1]} ({e})"


UNREACHABLE = _unreachable()


def rabbit_conf(**rabbit) -> cfg.ConfigOpts:
    """A configuration with these ``[oslo_messaging_rabbit]`` options."""
    return make_conf(**{f"oslo_messaging_rabbit__{name}": value
                        for name, value in rabbit.items()})


def sleep(seconds: float) -> defer.Deferred:
    return task.deferLater(reactor, seconds, lambda: None)


def warnings_of(logs: LogCapture) -> list[str]:
    return [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]


class Arrivals(Collector):
    """A collector that a test can wait on for a number of deliveries (they arrive
    from the broker in their own time)."""

    def __init__(self):
        super().__init__()
        self._waiters: list[tuple[int, defer.Deferred]] = []

    def __call__(self, message):
        super().__call__(message)
        for waiter in [w for w in self._waiters if len(self.messages) >= w[0]]:
            self._waiters.remove(waiter)
            if not waiter[1].called:
                waiter[1].callback(None)

    def wait_for(self, count: int, timeout: float = 10.0) -> defer.Deferred:
        if len(self.messages) >= count:
            return defer.succeed(None)
        waiter = defer.Deferred()
        self._waiters.append((count, waiter))

        def timed_out(result, seconds):
            raise AssertionError(f"{len(self.messages)} of {count} messages within "
                                 f"{seconds} seconds: {self.bodies[:20]}")

        return waiter.addTimeout(timeout, reactor, onTimeoutCancel=timed_out)


class Holder(Arrivals):
    """A handler that keeps each message in flight until the test releases it."""

    def __init__(self):
        super().__init__()
        self.held: list[defer.Deferred] = []

    def __call__(self, message):
        held = defer.Deferred()
        self.held.append(held)
        super().__call__(message)
        return held

    def release(self, count: int = 1) -> None:
        for held in [h for h in self.held if not h.called][:count]:
            held.callback(None)

    @property
    def in_flight(self) -> int:
        return sum(1 for h in self.held if not h.called)


class BrokerTestCase(unittest.TestCase):
    """A test on the real broker, with a second connection (``admin``) to look behind
    the bus under test and to delete what the test declared."""

    timeout = 30
    if UNREACHABLE and not IN_CI:
        skip = f"{UNREACHABLE}; with CI=true this is a failure"

    def setUp(self):
        if UNREACHABLE:
            self.fail(f"{UNREACHABLE}, and CI=true requires a broker for tests.bus.test_amqp")
        self.prefix = f"nova-tx-test.{self._testMethodName}.{uuid.uuid4().hex[:8]}"
        self.conf = rabbit_conf()
        self._exchanges: list[str] = []
        self._queues: list[str] = []
        return defer.Deferred.fromCoroutine(self._start_admin())

    async def _start_admin(self) -> None:
        self.admin = AMQPBus(URL, self.conf, connection_name=self.prefix + ".admin")
        self.addCleanup(self.admin.close)
        await self.admin.connect()
        # Cleanups run last first: buses made by the test close before this deletes
        # their queues (a consumer whose queue is deleted under it would reconnect).
        self.addCleanup(lambda: defer.Deferred.fromCoroutine(self._delete_declared()))

    async def _delete_declared(self) -> None:
        for queue in self._queues:
            await self.on_admin_channel(lambda ch, q=queue: ch.queue_delete(queue=q))
        for exchange in self._exchanges:
            await self.on_admin_channel(lambda ch, x=exchange: ch.exchange_delete(exchange=x))

    def exchange_name(self, suffix: str) -> str:
        name = f"{self.prefix}.{suffix}"
        self._exchanges.append(name)
        return name

    def queue_name(self, suffix: str) -> str:
        name = f"{self.prefix}.{suffix}"
        self._queues.append(name)
        return name

    async def bus(self, conf: cfg.ConfigOpts | None = None, **kwargs) -> AMQPBus:
        bus = AMQPBus(URL, conf or self.conf, connection_name=self.prefix + ".bus", **kwargs)
        self.addCleanup(bus.close)
        await bus.connect()
        return bus

    async def on_admin_channel(self, operation):
        """Run ``operation(channel)`` on a channel of its own (a refusal closes it)."""
        connection = self.admin._connection
        channel = await connection.open_channel()
        try:
            return await connection.call(operation(channel))
        finally:
            await connection.close_channel(channel)

    async def message_count(self, queue: str) -> int:
        reply = await self.on_admin_channel(
            lambda ch: ch.queue_declare(queue=queue, passive=True))
        return reply.message_count

    async def get(self, queue: str):
        """The next message of ``queue``, taken off it (basic.get)."""
        reply = await self.on_admin_channel(lambda ch: ch.basic_get(queue=queue, no_ack=True))
        self.assertEqual(reply.method.name, "get-ok", f"queue {queue} is empty")
        return reply.content


class ConnectTests(BrokerTestCase):

    async def test_connect_and_close(self):
        bus = AMQPBus(URL, self.conf, connection_name=self.prefix + ".bus")
        self.assertTrue(verifyObject(ITransport, bus))
        with self.assertRaises(TransportNotConnected):
            await bus.declare_exchange(self.exchange_name("x"), DIRECT)
        with self.assertRaises(MessageDeliveryFailure):
            await bus.publish("", "nowhere", b"{}")
        self.assertFalse(bus.connected)

        await bus.connect()
        self.assertTrue(bus.connected)
        await bus.connect()  # already connected: fires at once

        await bus.close()
        self.assertFalse(bus.connected)
        self.assertTrue(bus._connection is None)
        await bus.close()  # closing twice is fine
        with self.assertRaises(TransportNotConnected):
            await bus.declare_queue(self.queue_name("q"))
        with self.assertRaises(MessageDeliveryFailure):
            await bus.publish("", "nowhere", b"{}")
        with self.assertRaises(TransportNotConnected):
            await bus.connect()

    async def test_plain_login(self):
        bus = await self.bus(rabbit_conf(rabbit_login_method="PLAIN"))
        self.assertEqual(bus._login_method, "PLAIN")
        queue = await bus.declare_queue("", exclusive=True)
        await bus.publish("", queue, b"logged in")

    async def test_refused_login_is_logged_and_retried(self):
        logs = LogCapture(self, "nova_tx.bus.amqp")
        url = TransportURL.parse("rabbit://guest:wrong@127.0.0.1:5672/")
        bus = AMQPBus(url, self.conf, connection_name=self.prefix + ".bus")
        connecting = bus.connect()
        await wait_until(lambda: logs.messages(logging.ERROR))
        [refused] = logs.messages(logging.ERROR)
        self.assertIn("AMQP server on 127.0.0.1:5672 is unreachable: 403 ACCESS_REFUSED",
                      refused)
        self.assertIn("Trying again in 1 seconds", refused)
        self.assertNoResult(connecting)
        await bus.close()
        with self.assertRaises(TransportNotConnected):
            await connecting

    async def test_close_before_the_tcp_connection_is_made(self):
        bus = AMQPBus(URL, self.conf, connection_name=self.prefix + ".bus")
        connecting = bus.connect()
        await bus.close()
        with self.assertRaises(TransportNotConnected):
            await connecting
        self.assertFalse(bus.connected)

    async def test_close_during_the_amqp_handshake(self):
        bus = AMQPBus(URL, self.conf, connection_name=self.prefix + ".bus")
        closed: list[defer.Deferred] = []
        make_client = bus._make_client

        def make_client_closing_once_connected(host):
            client = make_client(host)
            connection_made = client.connectionMade

            def close_next_turn():
                connection_made()
                # The broker's connection.start cannot have been read yet then.
                reactor.callLater(0, lambda: closed.append(bus.close()))

            client.connectionMade = close_next_turn
            return client

        bus._make_client = make_client_closing_once_connected
        connecting = bus.connect()
        with self.assertRaises(TransportNotConnected):
            await connecting
        await closed[0]
        self.assertFalse(bus.connected)
        # trial fails the test if the aborted socket or a heartbeat timer were left.

    async def test_consume_from_missing_queue_fails_and_the_bus_goes_on(self):
        bus = await self.bus()
        with self.assertRaises(BrokerRefused) as caught:
            await bus.consume(self.queue_name("missing"), Arrivals())
        self.assertEqual(caught.exception.reply_code, 404)
        self.assertIn("NOT_FOUND", str(caught.exception))
        self.assertEqual(bus._registered_consumers(), [])

        queue = await bus.declare_queue("", exclusive=True)
        self._queues.append(queue)
        self.assertTrue(queue.startswith(amqp.GENERATED_QUEUE_PREFIX))
        got = Arrivals()
        await bus.consume(queue, got)
        await bus.publish("", queue, b"to the generated queue")
        await got.wait_for(1)
        self.assertEqual(got.bodies, [b"to the generated queue"])


class RoutingTests(BrokerTestCase):

    async def test_topic_exchange(self):
        bus = await self.bus()
        exchange = self.exchange_name("nova")
        one_word, any_words = self.queue_name("one"), self.queue_name("any")
        await bus.declare_exchange(exchange, TOPIC, auto_delete=True)
        await bus.declare_queue(one_word, [Binding(exchange, "compute.*")])
        await bus.declare_queue(any_words, [Binding(exchange, "compute.#")])
        first, second = Arrivals(), Arrivals()
        consumer = await bus.consume(one_word, first)
        self.assertTrue(verifyObject(IConsumer, consumer))
        self.assertEqual(consumer.queue, one_word)
        await bus.consume(any_words, second)

        await bus.publish(exchange, "scheduler", b"no")
        await bus.publish(exchange, "compute.host1.extra", b"deep")
        await bus.publish(exchange, "compute.host1", b"host1", content_type="text/plain")
        await first.wait_for(1)
        await second.wait_for(2)

        self.assertEqual(first.bodies, [b"host1"])
        self.assertEqual(second.bodies, [b"deep", b"host1"])
        message = first.messages[0]
        self.assertEqual((message.exchange, message.routing_key, message.content_type,
                          message.redelivered), (exchange, "compute.host1", "text/plain", False))
        self.assertTrue(message.delivery_id.endswith(":1"), message.delivery_id)

    async def test_direct_exchange(self):
        bus = await self.bus()
        exchange = self.exchange_name("direct")
        queue = self.queue_name("conductor")
        await bus.declare_exchange(exchange, DIRECT, auto_delete=True)
        await bus.declare_queue(queue, [Binding(exchange, "conductor")], auto_delete=True)
        got = Arrivals()
        await bus.consume(queue, got)

        await bus.publish(exchange, "conductor.x", b"no")
        await bus.publish(exchange, "conductor", b"yes")
        await got.wait_for(1)
        self.assertEqual(got.bodies, [b"yes"])
        self.assertEqual(got.messages[0].content_type, "application/json")

    async def test_fanout_exchange(self):
        bus = await self.bus()
        exchange = self.exchange_name("compute_fanout")
        queues = [self.queue_name("host1"), self.queue_name("host2")]
        await bus.declare_exchange(exchange, FANOUT, auto_delete=True)
        collectors = []
        for queue in queues:
            await bus.declare_queue(queue, [Binding(exchange, "")], expires_ms=60000)
            collectors.append(Arrivals())
            await bus.consume(queue, collectors[-1])

        await bus.publish(exchange, "ignored", b"to all")
        for got in collectors:
            await got.wait_for(1)
            self.assertEqual(got.bodies, [b"to all"])
        # x-expires was declared: the broker refuses the queue without it.
        with self.assertRaises(BrokerRefused) as caught:
            await self.on_admin_channel(lambda ch: ch.queue_declare(queue=queues[0]))
        self.assertIn("x-expires", str(caught.exception))

    async def test_unknown_exchange_kind_is_refused_without_losing_the_connection(self):
        bus = await self.bus()
        with self.assertRaises(MessagingException):
            await bus.declare_exchange(self.exchange_name("x"), "x-unknown")
        self.assertTrue(bus.connected)


class PublishTests(BrokerTestCase):

    async def test_publish_fires_on_the_broker_confirm(self):
        bus = await self.bus()
        queue = self.queue_name("q")
        await bus.declare_queue(queue)

        published = bus.publish("", queue, b"confirmed")
        self.assertFalse(published.called, "fired before the broker could confirm")
        self.assertIsNone(await published)
        self.assertEqual(await self.message_count(queue), 1)

    async def test_a_nack_fails_the_publish(self):
        bus = await self.bus()
        queue = self.queue_name("full")
        # A queue that takes nothing and says so: the broker nacks what it refuses.
        await self.on_admin_channel(lambda ch: ch.queue_declare(
            queue=queue, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}))

        with self.assertRaises(MessageDeliveryFailure) as caught:
            await bus.publish("", queue, b"refused")
        self.assertIn("basic.nack", str(caught.exception))

    async def test_publish_to_a_missing_exchange_fails_and_publishing_goes_on(self):
        bus = await self.bus()
        queue = self.queue_name("q")
        await bus.declare_queue(queue)

        with self.assertRaises(MessageDeliveryFailure) as caught:
            await bus.publish(self.exchange_name("missing"), "key", b"lost")
        self.assertIn("NOT_FOUND", str(caught.exception))
        await bus.publish("", queue, b"after")
        self.assertEqual(await self.message_count(queue), 1)

    async def test_persistent_message_on_durable_declarations(self):
        bus = await self.bus()
        exchange, queue = self.exchange_name("durable"), self.queue_name("durable")
        await bus.declare_exchange(exchange, DIRECT, durable=True)
        await bus.declare_queue(queue, [Binding(exchange, "k")], durable=True)

        await bus.publish(exchange, "k", b"kept", persistent=True)
        await bus.publish(exchange, "k", b"transient", expiration_ms=60000)
        kept, transient = await self.get(queue), await self.get(queue)
        self.assertEqual((kept.body, kept["delivery-mode"]), (b"kept", 2))
        self.assertEqual((transient.body, transient["delivery-mode"], transient["expiration"]),
                         (b"transient", 1, "60000"))

        # Declared durable: the broker refuses the same names declared otherwise, and the
        # refused declaration is not remembered for the next connection.
        with self.assertRaises(BrokerRefused) as caught:
            await bus.declare_queue(queue, durable=False)
        self.assertEqual(caught.exception.reply_code, 406)
        self.assertIn("durable", str(caught.exception))
        with self.assertRaises(BrokerRefused):
            await bus.declare_exchange(exchange, DIRECT, durable=False)
        self.assertTrue(bus._queues[queue].durable)
        self.assertTrue(bus._exchanges[exchange].durable)
        # The refusal closed the declaring channel only.
        await bus.declare_queue(queue, durable=True)

    async def test_ten_thousand_casts_none_lost(self):
        bus = await self.bus()
        exchange, queue = self.exchange_name("casts"), self.queue_name("casts")
        await bus.declare_exchange(exchange, TOPIC, auto_delete=True)
        await bus.declare_queue(queue, [Binding(exchange, "conductor")])
        got = Arrivals()
        await bus.consume(queue, got, prefetch=500)

        count = 10000
        started = time.monotonic()
        await defer.gatherResults([bus.publish(exchange, "conductor", b"%d" % i)
                                   for i in range(count)])
        await got.wait_for(count, timeout=20)
        elapsed = time.monotonic() - started
        self.assertEqual(sorted(int(body) for body in got.bodies), list(range(count)))
        self.assertLess(elapsed, 20)


class ConsumeTests(BrokerTestCase):

    async def test_prefetch_bounds_the_messages_in_flight(self):
        bus = await self.bus()
        queue = self.queue_name("q")
        await bus.declare_queue(queue)
        holder = Holder()
        await bus.consume(queue, holder, prefetch=2)
        for i in range(5):
            await bus.publish("", queue, b"%d" % i)

        await holder.wait_for(2)
        await sleep(0.3)
        self.assertEqual(holder.in_flight, 2)
        self.assertEqual(len(holder.messages), 2)
        self.assertEqual(await self.message_count(queue), 3)

        holder.release(1)
        await holder.wait_for(3)
        await sleep(0.1)
        self.assertEqual((holder.in_flight, len(holder.messages)), (2, 3))

        while len(holder.messages) < 5:
            holder.release(2)
            await holder.wait_for(len(holder.messages) + 1)
        holder.release(2)
        self.assertEqual(holder.bodies, [b"0", b"1", b"2", b"3", b"4"])

    async def test_prefetch_comes_from_the_configuration_when_not_given(self):
        bus = await self.bus(rabbit_conf(rabbit_qos_prefetch_count=1))
        queue = self.queue_name("q")
        await bus.declare_queue(queue)
        holder = Holder()
        await bus.consume(queue, holder)
        await bus.publish("", queue, b"0")
        await bus.publish("", queue, b"1")
        await holder.wait_for(1)
        await sleep(0.2)
        self.assertEqual(len(holder.messages), 1)
        holder.release(1)
        await holder.wait_for(2)
        holder.release(1)

    async def test_failing_handler_rejects_without_requeue_and_consuming_goes_on(self):
        logs = LogCapture(self, "nova_tx.bus.amqp")
        bus = await self.bus()
        queue = self.queue_name("q")
        await bus.declare_queue(queue)
        seen = Arrivals()

        async def handler(message):
            seen(message)
            if message.body == b"bad":
                raise ValueError("cannot handle this one")

        consumer = await bus.consume(queue, handler)
        for body in (b"bad", b"good1", b"good2"):
            await bus.publish("", queue, body)
        await seen.wait_for(3)
        await sleep(0.2)
        self.assertEqual(seen.bodies, [b"bad", b"good1", b"good2"])

        bad = seen.messages[0]
        errors = logs.messages(logging.ERROR)
        self.assertEqual(len(errors), 1, errors)
        self.assertIn(bad.delivery_id, errors[0])
        self.assertIn("cannot handle this one", errors[0])
        # Stopping closes the consumer's channel, which would put back anything that
        # was neither acknowledged nor rejected.
        await consumer.stop()
        self.assertEqual(await self.message_count(queue), 0)

    async def test_stop_waits_for_the_handlers_in_flight(self):
        bus = await self.bus()
        queue = self.queue_name("q")
        await bus.declare_queue(queue)
        holder = Holder()
        consumer = await bus.consume(queue, holder)
        await bus.publish("", queue, b"slow")
        await holder.wait_for(1)

        stopped = consumer.stop()
        await sleep(0.1)
        self.assertFalse(stopped.called, "stopped with a handler still running")
        holder.release(1)
        await stopped
        self.assertEqual(await self.message_count(queue), 0)  # acknowledged, not requeued

        await bus.publish("", queue, b"not consumed")
        await sleep(0.1)
        self.assertEqual(holder.bodies, [b"slow"])
        self.assertEqual(await self.message_count(queue), 1)
        self.assertEqual(bus._registered_consumers(), [])


class ReconnectionTests(BrokerTestCase):

    async def declare_and_consume(self, bus: AMQPBus) -> tuple[str, Arrivals]:
        exchange = self.exchange_name("nova")
        # Exclusive: the queue dies with the connection, so consuming after the
        # reconnection shows that it was declared again.
        queue = self.queue_name("exclusive")
        await bus.declare_exchange(exchange, TOPIC, auto_delete=True)
        await bus.declare_queue(queue, [Binding(exchange, "compute.*")], exclusive=True)
        got = Arrivals()
        await bus.consume(queue, got)
        await bus.publish(exchange, "compute.a", b"before")
        await got.wait_for(1)
        return exchange, got

    async def test_reconnects_after_the_connection_drops(self):
        logs = LogCapture(self, "nova_tx.bus.amqp")
        bus = await self.bus()
        exchange, got = await self.declare_and_consume(bus)
        first = bus._connection

        unconfirmed = bus.publish(exchange, "compute.a", b"unconfirmed")
        first.client.transport.abortConnection()
        await first.client.disconnected.wait()
        self.assertFalse(bus.connected)
        during = [bus.publish(exchange, "compute.a", b"during-%d" % i) for i in range(3)]
        self.assertFalse(any(d.called for d in during), "published while disconnected")

        await defer.gatherResults([unconfirmed, *during])
        self.assertTrue(bus.connected)
        self.assertIsNot(bus._connection, first)
        await bus.publish(exchange, "compute.b", b"after")
        await got.wait_for(6)
        self.assertCountEqual(got.bodies, [b"before", b"unconfirmed", b"during-0",
                                           b"during-1", b"during-2", b"after"])
        # (A retry may follow if the broker still held the old exclusive queue.)
        [lost] = [m for m in logs.messages(logging.ERROR) if "was lost" in m]
        self.assertIn("(Connection was aborted locally", lost)
        self.assertIn("reconnecting now", lost)

    async def test_a_queue_deleted_under_its_consumer_is_declared_again(self):
        logs = LogCapture(self, "nova_tx.bus.amqp")
        bus = await self.bus(rabbit_conf(kombu_reconnect_delay=0.1))
        queue = self.queue_name("q")
        await bus.declare_queue(queue)
        got = Arrivals()
        await bus.consume(queue, got)
        first = bus._connection

        await self.on_admin_channel(lambda ch: ch.queue_delete(queue=queue))
        await wait_until(lambda: bus.connected and bus._connection is not first)
        await bus.publish("", queue, b"after")
        await got.wait_for(1)
        self.assertEqual(got.bodies, [b"after"])
        [cancelled] = warnings_of(logs)
        self.assertIn(f"cancelled the consumer of queue {queue!r}", cancelled)
        [lost] = logs.messages(logging.ERROR)
        self.assertIn("reconnecting in 0.1 seconds", lost)

    async def test_reconnects_after_the_broker_closes_the_connection(self):
        rabbitmqctl = shutil.which("rabbitmqctl")
        if rabbitmqctl is None:
            unavailable("rabbitmqctl is not installed here")
        logs = LogCapture(self, "nova_tx.bus.amqp")
        conf = rabbit_conf(heartbeat_timeout_threshold=30, kombu_reconnect_delay=0.1)
        bus = await self.bus(conf)
        exchange, got = await self.declare_and_consume(bus)

        out, err, code = await utils.getProcessOutputAndValue(
            rabbitmqctl, ["list_connections", "-q", "--no-table-headers", "pid", "timeout",
                          "client_properties"])
        if code != 0:
            raise unittest.SkipTest(f"rabbitmqctl cannot list connections here: {err!r}")
        ours = [line.split("\t") for line in out.decode().splitlines()
                if f'{{"connection_name","{bus.connection_name}"}}' in line]
        self.assertEqual(len(ours), 1, out)
        pid, heartbeat, _properties = ours[0]
        self.assertEqual(heartbeat, "30")  # the threshold is what the broker times out on

        first = bus._connection
        closing = utils.getProcessOutputAndValue(
            rabbitmqctl, ["close_connection", pid, "nova-tx reconnection test"])
        await first.client.disconnected.wait()
        self.assertFalse(bus.connected)
        during = bus.publish(exchange, "compute.a", b"during")
        out, err, code = await closing
        self.assertEqual(code, 0, err)
        await during
        await bus.publish(exchange, "compute.a", b"after")
        await got.wait_for(3)
        self.assertEqual(got.bodies, [b"before", b"during", b"after"])
        lost = [m for m in logs.messages(logging.ERROR) if "was lost" in m]
        self.assertEqual(len(lost), 1, logs.messages(logging.ERROR))
        self.assertIn("320 CONNECTION_FORCED - nova-tx reconnection test", lost[0])


# --- without a broker ----------------------------------------------------------------


class ReconnectionPolicyTests(unittest.SynchronousTestCase):
    """Host rotation, back-off and the publish buffer, on a reactor that never connects."""

    def setUp(self):
        self.reactor = MemoryReactorClock()

    def make_bus(self, url: str = "rabbit://h1:5001,h2:5002,h3:5003/", **kwargs) -> AMQPBus:
        return AMQPBus(TransportURL.parse(url), rabbit_conf(**kwargs), reactor=self.reactor,
                       max_buffered=3)

    def refuse_last_attempt(self) -> int:
        """Refuse the newest TCP connection attempt; return the port it was to."""
        _host, port, factory, _timeout, _bind = self.reactor.tcpClients[-1]
        factory.clientConnectionFailed(None, Failure(ConnectionRefusedError()))
        return port

    def scheduled_retry(self, bus: AMQPBus) -> float:
        """The wait before the next attempt, once the failed one has been noticed (the
        endpoint gives up on its next attempt tick)."""
        for _ in range(10):
            for call in self.reactor.getDelayedCalls():
                if call.func == bus._attempt:
                    return call.getTime() - self.reactor.seconds()
            self.reactor.advance(0.1)
        self.fail("no reconnection attempt scheduled")

    def test_retry_delay_grows_exponentially_up_to_the_maximum(self):
        bus = self.make_bus()
        self.assertEqual([bus.retry_delay(n) for n in range(1, 8)], [1, 3, 7, 15, 30, 30, 30])
        steady = self.make_bus(rabbit_retry_interval=2, rabbit_retry_backoff=0)
        self.assertEqual([steady.retry_delay(n) for n in range(1, 4)], [2, 2, 2])

    def test_each_attempt_goes_to_the_next_host_after_the_back_off(self):
        logs = LogCapture(self, "nova_tx.bus.amqp")
        bus = self.make_bus()
        connecting = bus.connect()
        ports, delays = [self.refuse_last_attempt()], []
        for _ in range(3):
            delays.append(self.scheduled_retry(bus))
            self.reactor.advance(delays[-1] - 0.01)
            self.assertEqual(len(self.reactor.tcpClients), len(ports), "tried too early")
            self.reactor.advance(0.01)
            ports.append(self.refuse_last_attempt())
        self.assertEqual(ports, [5001, 5002, 5003, 5001])
        self.assertEqual([round(d, 6) for d in delays], [1, 3, 7])
        self.assertNoResult(connecting)
        self.assertEqual(logs.messages(logging.ERROR)[:2], [
            "AMQP server on h1:5001 is unreachable: Connection was refused by other side. "
            "Trying again in 1 seconds.",
            "AMQP server on h2:5002 is unreachable: Connection was refused by other side. "
            "Trying again in 3 seconds."])

        closed = bus.close()
        self.successResultOf(closed)
        self.failureResultOf(connecting, TransportNotConnected)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_publishes_wait_for_the_connection_in_a_bounded_buffer(self):
        bus = self.make_bus()
        bus.connect().addErrback(lambda f: f.trap(TransportNotConnected))
        waiting = [bus.publish("nova", "conductor", b"%d" % i) for i in range(3)]
        for d in waiting:
            self.assertNoResult(d)
        self.failureResultOf(bus.publish("nova", "conductor", b"one too many"),
                             MessageDeliveryFailure)

        self.successResultOf(bus.close())
        for d in waiting:
            self.failureResultOf(d, MessageDeliveryFailure)

    def test_an_empty_url_means_the_local_broker_as_guest(self):
        bus = AMQPBus(TransportURL.parse("rabbit://"), rabbit_conf(), reactor=self.reactor)
        self.assertEqual([str(h) for h in bus._hosts], ["localhost:5672"])
        self.assertEqual((bus._hosts[0].username, bus._hosts[0].password), ("guest", "guest"))
        self.assertEqual(bus._virtual_host, "/")

    def test_url_options_override_the_configuration(self):
        url = TransportURL.parse("rabbit://h/?heartbeat_timeout_threshold=10")
        bus = AMQPBus(url, rabbit_conf(), reactor=self.reactor)
        self.assertEqual(bus._heartbeat_timeout, 10)


class HeartbeatTests(unittest.SynchronousTestCase):
    """oslo.messaging's meaning: the threshold is negotiated, the rate divides it."""

    def setUp(self):
        self.clock = MemoryReactorClock()
        bus = AMQPBus(TransportURL.parse("rabbit://h/"), rabbit_conf(heartbeat_rate=3),
                      reactor=self.clock)
        self.spec = amqp.load_spec()
        self.client = bus._make_client(bus._hosts[0])
        self.transport = StringTransport()
        self.client.makeConnection(self.transport)
        self.transport.clear()  # the protocol header

    def receive(self, method: str, *args) -> None:
        klass, name = method.split(".")
        spec_method = self.spec.classes.byname[klass].methods.byname[name]
        frame = txconnection.Frame(0, txconnection.Method(spec_method, *args))
        self.client.dataReceived(self.client._pack_frame(frame))

    def sent(self) -> list:
        data, frames = self.transport.value(), []
        self.transport.clear()
        while data:
            length = int.from_bytes(data[3:7], "big") + 8
            frames.append(self.client._unpack_frame(data[:length]))
            data = data[length:]
        return frames

    def test_tune_ok_carries_the_threshold_and_heartbeats_follow_the_rate(self):
        self.receive("connection.tune", 2047, 131072, 60)
        [tune_ok] = self.sent()
        self.assertEqual(tune_ok.payload.method.name, "tune-ok")
        self.assertEqual(tune_ok.payload.args, (2047, 131072, 60))

        self.clock.advance(20)  # 60 / 3: one heartbeat per third of the threshold
        [heartbeat] = self.sent()
        self.assertIsInstance(heartbeat.payload, txconnection.Heartbeat)
        self.assertFalse(self.transport.disconnecting)

        self.clock.advance(40)  # a threshold's worth of silence from the broker
        self.assertTrue(self.transport.disconnecting)
        self.client.connectionLost(Failure(ConnectionRefusedError()))


class FieldTableTests(unittest.SynchronousTestCase):
    """What RabbitMQ puts in field tables survives txamqp's codec."""

    def round_trip(self, table: dict) -> dict:
        buffer = io.BytesIO()
        txcodec.Codec(buffer).encode_table(table)
        return txcodec.Codec(io.BytesIO(buffer.getvalue())).decode_table()

    def test_values_of_every_kind_round_trip(self):
        table = {"bool": True, "int": -5, "long": 2 ** 40, "float": 0.5, "text": "ünïcode",
                 "nested": {"capabilities": {"publisher_confirms": True}},
                 "array": [1, "two", {"three": False}], "void": None}
        self.assertEqual(self.round_trip(table), table)

    def test_a_body_frame_stays_bytes_even_when_it_is_text(self):
        buffer = io.BytesIO()
        txconnection.Body(b'{"json": "text"}').encode(txcodec.Codec(buffer))
        decoded = txconnection.Body.decode(None, txcodec.Codec(io.BytesIO(buffer.getvalue())))
        self.assertEqual(decoded.content, b'{"json": "text"}')


class AMQPRPCTest(RPCBehaviour, BrokerTestCase):
    """The RPC behaviour tests of the memory bus, on the machine's RabbitMQ.

    Each test has its own control exchange (deleted afterwards) and its queues
    auto-delete, so nothing is left on the shared broker.
    """

    timeout = 60

    def setUp(self):
        started = BrokerTestCase.setUp(self)
        RPCBehaviour.setUp(self)
        self.conf = make_conf(control_exchange=self.exchange_name("control"),
                              oslo_messaging_rabbit__amqp_auto_delete=True,
                              oslo_messaging_rabbit__rabbit_transient_queues_ttl=10)
        return started

    async def make_transports(self, count: int) -> list[AMQPBus]:
        return [await self.bus() for _ in range(count)]
