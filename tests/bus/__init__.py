"""Tests of the bus: transports, RPC and notifications.

The RPC and notification behaviour tests are mixins over a transport factory
(``make_transports``), so that the same tests run on the memory bus here and on the
AMQP bus wherever a RabbitMQ is at hand. What the mixins share lives here: a
configuration with the messaging options, waiting helpers, a log capture, and the
stand-ins that let the real oslo.messaging code read and write our messages without a
broker.
"""
from __future__ import annotations

import json
import logging
import warnings
from typing import Any

from oslo_config import cfg
from twisted.internet import task

from nova_tx.conf import default, messaging

# Several tests make the bus log errors on purpose; keep them out of the test output
# (a logger without any handler up its chain falls back to stderr). Tests that check
# logs attach their own handler.
logging.getLogger("nova_tx.bus").addHandler(logging.NullHandler())


def make_conf(**overrides: Any) -> cfg.ConfigOpts:
    """A private configuration with the bus options; ``group__name=value`` overrides."""
    conf = cfg.ConfigOpts()
    default.register_opts(conf)
    messaging.register_opts(conf)
    for key, value in overrides.items():
        group, _, name = key.rpartition("__")
        conf.set_override(name, value, group=group or None)
    return conf


async def wait_until(predicate, timeout: float = 5.0, reactor=None) -> None:
    """Let the real reactor run until ``predicate()`` holds (deliveries are
    asynchronous even on the memory bus)."""
    if reactor is None:
        from twisted.internet import reactor
    deadline = reactor.seconds() + timeout
    while not predicate():
        if reactor.seconds() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await task.deferLater(reactor, 0.002, lambda: None)


async def settle(reactor=None) -> None:
    """Let already scheduled deliveries (and what they schedule in turn) run."""
    if reactor is None:
        from twisted.internet import reactor
    for _ in range(5):
        await task.deferLater(reactor, 0, lambda: None)


class LogCapture(logging.Handler):
    """Records of one logger, for tests that check what was logged."""

    def __init__(self, testcase, logger: str, level: int = logging.DEBUG):
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        target = logging.getLogger(logger)
        previous = target.level
        target.addHandler(self)
        target.setLevel(level)

        def remove() -> None:
            target.removeHandler(self)
            target.setLevel(previous)

        testcase.addCleanup(remove)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


class Collector:
    """A consumer's handler that keeps what it receives."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.messages: list = []

    def __call__(self, incoming) -> None:
        self.bodies.append(incoming.body)
        self.messages.append(incoming)

    def decoded(self) -> list[dict]:
        return [json.loads(body) for body in self.bodies]


def import_oslo_messaging():
    """oslo.messaging (a test-only dependency), imported without its eventlet
    deprecation noise; skipped (failed under CI=true) when it is not installed."""
    from tests.helpers import unavailable

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import oslo_messaging
            from oslo_messaging._drivers import amqp as oslo_amqp
            from oslo_messaging._drivers import amqpdriver, impl_rabbit
            from oslo_messaging._drivers import common as oslo_common
        except ImportError as e:
            unavailable(f"oslo.messaging is not installed: {e}")
    return oslo_messaging, oslo_common, oslo_amqp, amqpdriver, impl_rabbit


class FakeKombuMessage:
    """What oslo's rabbit driver wraps in ``RabbitMessage``: a decoded JSON payload."""

    def __init__(self, body: bytes):
        self.payload = json.loads(body)
        self.acked = False

    def ack(self) -> None:
        self.acked = True

    def requeue(self) -> None:
        raise AssertionError("requeue not expected")


class FakeOsloConnection:
    """The rabbit connection oslo's AMQP driver sends with; it records what the driver
    would hand to kombu: (kind, exchange, routing key, envelope dict)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, dict]] = []

    def topic_send(self, exchange_name, topic, msg, timeout=None, retry=None,
                   transport_options=None) -> None:
        self.sent.append(("topic", exchange_name, topic, msg))

    def fanout_send(self, topic, msg, retry=None) -> None:
        self.sent.append(("fanout", f"{topic}_fanout", topic, msg))

    def notify_send(self, exchange_name, topic, msg, retry=None, **kwargs) -> None:
        self.sent.append(("notify", exchange_name, topic, msg))

    def direct_send(self, msg_id, msg) -> None:
        self.sent.append(("direct", "", msg_id, msg))

    def reset(self) -> None:
        """Nothing to reset: the pool hands out this one connection."""

    def close(self) -> None:
        """Nothing to close: no socket behind it."""


class FakeOsloPool:
    """oslo's connection pool, handing out one recording connection."""

    def __init__(self) -> None:
        self.connection = FakeOsloConnection()

    def get(self, retry=None) -> FakeOsloConnection:
        return self.connection

    def put(self, connection) -> None:
        """The one connection stays ours."""

    def create(self, purpose=None) -> FakeOsloConnection:
        return self.connection

    def empty(self) -> None:
        """Nothing pooled to drop."""


def oslo_amqp_driver(exchange: str = "nova"):
    """oslo.messaging's real AMQP driver over a recording connection, and that
    connection: oslo's own code builds the messages, no broker needed."""
    oslo_messaging, _common, _amqp, amqpdriver, _rabbit = import_oslo_messaging()
    from oslo_messaging._metrics import client as metrics
    from oslo_messaging._tracing import client as tracing

    conf = cfg.ConfigOpts()
    # oslo registers these on the global CONF at import; its client reads them from the
    # transport's configuration, which here is private.
    conf.register_opts(tracing.oslo_messaging_tracing, group="oslo_messaging_tracing")
    conf.register_opts(metrics.oslo_messaging_metrics, group="oslo_messaging_metrics")
    url = oslo_messaging.TransportURL.parse(conf, "rabbit://guest:guest@localhost:5672/")
    pool = FakeOsloPool()
    driver = amqpdriver.AMQPDriverBase(conf, url, pool, default_exchange=exchange)
    driver.prefetch_size = 0
    return driver, pool.connection


def envelope_bytes(envelope: dict) -> bytes:
    """The AMQP body kombu would publish for oslo's envelope dict (JSON)."""
    return json.dumps(envelope).encode("utf-8")


def assert_same_envelope(test, theirs: dict, ours: dict, same_values: tuple[str, ...]
                         ) -> tuple[dict, dict]:
    """Check that our oslo.messaging envelope has the keys of theirs (context keys may
    be a superset) and equal ``same_values``; return the two unpacked messages."""
    test.assertEqual(set(theirs), set(ours))
    test.assertEqual(theirs["oslo.version"], ours["oslo.version"])
    their_message = json.loads(theirs["oslo.message"])
    our_message = json.loads(ours["oslo.message"])

    def plain(message: dict) -> set[str]:
        return {k for k in message if not k.startswith("_context_")}

    test.assertEqual(plain(their_message), plain(our_message))
    test.assertLessEqual(set(their_message) - plain(their_message), set(our_message))
    for key in same_values:
        test.assertEqual(their_message[key], our_message[key], key)
    return their_message, our_message


def memory_transports(testcase, count: int) -> list:
    """``count`` connected MemoryBus "processes" sharing a fresh broker, which becomes
    ``testcase.broker``; closed at cleanup."""
    from nova_tx.bus.memory import MemoryBroker, MemoryBus

    testcase.broker = MemoryBroker()
    transports = [MemoryBus(testcase.broker) for _ in range(count)]
    for transport in transports:
        transport.connect()
        testcase.addCleanup(transport.close)
    return transports
