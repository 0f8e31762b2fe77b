"""``AMQPBus``: the transport on RabbitMQ, txamqp over AMQP 0-9-1.

It gives the RPC layer what oslo.messaging's rabbit driver gives Nova, on the reactor:

- A publish fires once the broker has confirmed it (publisher confirms), so a cast that
  returned has reached the broker; a nack, or an error that closes the publishing
  channel, fails it with ``MessageDeliveryFailure``.
- Declarations and consumers are remembered and replayed on each new connection, so
  callers declare once and a dropped connection or a restarted broker is repaired
  behind them.
- While disconnected, publishes wait in a bounded buffer rather than being lost, and
  messages that were unconfirmed when a connection dropped are sent again on the next
  one. That is at least once: the broker may have routed some of them before the drop.
- Reconnection tries the URL's hosts in turn and backs off exponentially:
  ``rabbit_retry_interval``, then ``rabbit_retry_backoff`` seconds more, doubled after
  each failure, capped at ``rabbit_interval_max``. (kombu grows the wait linearly; a
  thousand computes retrying against a broker that is down are better spread out.)
- Heartbeats mean what they mean in oslo.messaging: ``heartbeat_timeout_threshold`` is
  the timeout negotiated with the broker, and the client sends and checks
  ``heartbeat_rate`` times within it.

One connection's channels, publisher and consumers are in
:mod:`~nova_tx.bus.amqp_connection`; the protocol (txamqp's, with these heartbeats and
the message frames read and written directly) is in :mod:`~nova_tx.bus.amqp_protocol`.
"""
from __future__ import annotations

import collections
import os
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from oslo_config import cfg
from twisted.copyright import version as twisted_version
from twisted.internet import defer
from twisted.internet import error as net_error
from twisted.internet.endpoints import HostnameEndpoint, connectProtocol, wrapClientTLS
from twisted.python.failure import Failure
from txamqp.client import Closed
from txamqp.queue import Closed as QueueClosed
from zope.interface import implementer

from nova_tx import log, version
from nova_tx.bus import amqp_tls
from nova_tx.bus.amqp_codec import load_spec
from nova_tx.bus.amqp_connection import (
    CLOSE_TIMEOUT,
    CONNECTION_FORCED,
    RESOURCE_LOCKED,
    BrokerRefused,
    _Connection,
    _ConnectionGone,
    _Consumer,
    _Declaration,
    _describe,
    _ExchangeDeclaration,
    _Host,
    _observe,
    _Outgoing,
    _Publisher,
    _QueueDeclaration,
)
from nova_tx.bus.amqp_protocol import DEFAULT_FRAME_MAX, _Client, _Delegate
from nova_tx.bus.exception import (
    MessageDeliveryFailure,
    MessagingException,
    TransportNotConnected,
)
from nova_tx.bus.interfaces import (
    DIRECT,
    FANOUT,
    TOPIC,
    Binding,
    Handler,
    ITransport,
)
from nova_tx.bus.url import TransportURL

__all__ = [
    # The transport and what its callers use.
    "AMQPBus", "BrokerRefused", "default_connection_name", "load_spec",
    "CONNECT_TIMEOUT", "DEFAULT_PORT", "EXCHANGE_KINDS", "GENERATED_QUEUE_PREFIX",
    "LOGIN_METHODS", "MAX_BUFFERED",
    # Defined with the connection and the protocol; importable from here as before.
    "CLOSE_TIMEOUT", "CONNECTION_FORCED", "DEFAULT_FRAME_MAX", "RESOURCE_LOCKED",
]

LOG = log.getLogger(__name__)

DEFAULT_PORT = 5672
#: Seconds for the TCP connection and the AMQP handshake; after that, heartbeats watch.
CONNECT_TIMEOUT = 30.0
#: Publishes kept while disconnected; one more fails at once with MessageDeliveryFailure.
MAX_BUFFERED = 1000
#: Prefix of the names generated for queues declared without one: the broker would name
#: them itself, but a broker-given name would change at every reconnection.
GENERATED_QUEUE_PREFIX = "nova-tx.gen-"
EXCHANGE_KINDS = (DIRECT, TOPIC, FANOUT)
LOGIN_METHODS = ("AMQPLAIN", "PLAIN", "EXTERNAL")


# --- the transport -------------------------------------------------------------------


def default_connection_name() -> str:
    """How RabbitMQ's connection list names us: host, process id and program, as
    oslo.messaging does."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return f"{socket.gethostname()}:{os.getpid()}:{program}"


@implementer(ITransport)
class AMQPBus:
    """The ``ITransport`` on an AMQP 0-9-1 broker (RabbitMQ).

    ``url`` is a parsed ``TransportURL`` (its hosts are tried in turn); the
    ``[oslo_messaging_rabbit]`` options of ``conf`` are read through it, so the URL's
    query may override them as oslo.messaging allows.

    Operations before ``connect()`` fail with ``TransportNotConnected`` (as the memory
    bus's do); after it, they wait for a connection, and after ``close()`` they fail
    again.
    """

    def __init__(self, url: TransportURL, conf: cfg.ConfigOpts, reactor=None, *,
                 connection_name: str | None = None,
                 max_buffered: int = MAX_BUFFERED):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.url = url
        self.connection_name = connection_name or default_connection_name()
        self.max_buffered = max_buffered

        def option(name: str) -> Any:
            return url.option(conf, "oslo_messaging_rabbit", name)

        self._retry_interval = float(option("rabbit_retry_interval"))
        self._retry_backoff = float(option("rabbit_retry_backoff"))
        self._interval_max = float(option("rabbit_interval_max"))
        self._reconnect_delay = float(option("kombu_reconnect_delay"))
        self._heartbeat_timeout = int(option("heartbeat_timeout_threshold"))
        self._heartbeat_rate = int(option("heartbeat_rate"))
        self._default_prefetch = int(option("rabbit_qos_prefetch_count"))
        self._login_method = option("rabbit_login_method")
        if self._login_method not in LOGIN_METHODS:
            raise MessagingException(f"rabbit_login_method {self._login_method!r} is not "
                                     f"supported (supported: {', '.join(LOGIN_METHODS)})")
        self._tls = amqp_tls.client_tls(option)
        if self._login_method == "EXTERNAL" and not (
                self._tls and option("ssl_cert_file")):
            raise MessagingException("rabbit_login_method EXTERNAL logs in with the TLS "
                                     "client certificate: set ssl, ssl_cert_file and "
                                     "ssl_key_file")
        self._hosts = [_host(h) for h in url.hosts] or [
            _Host("localhost", DEFAULT_PORT, "guest", "guest")]
        self._virtual_host = url.virtual_host or "/"

        self._started = False
        self._closing = False
        self._closed: defer.Deferred | None = None
        self._connection: _Connection | None = None
        self._opening: defer.Deferred | None = None
        self._opening_client: _Client | None = None
        self._retry_call = None
        self._next_host = 0
        self._failures = 0
        #: Set when the broker closed a connection or cancelled a consumer: the next
        #: attempt waits kombu_reconnect_delay rather than going at once.
        self._broker_reported_error = False
        self._waiters: list[defer.Deferred] = []
        self._outbox: collections.deque[_Outgoing] = collections.deque()
        self._exchanges: dict[str, _ExchangeDeclaration] = {}
        self._queues: dict[str, _QueueDeclaration] = {}
        self._consumers: dict[_Consumer, None] = {}

    # --- ITransport -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connection is not None and self._connection.alive

    def connect(self) -> defer.Deferred:
        if self._closing:
            return defer.fail(TransportNotConnected("AMQP transport: closed"))
        self._started = True
        ready = self._ready()
        if self._opening is None and self._retry_call is None and self._connection is None:
            self._attempt()
        return ready.addCallback(lambda _connection: None)

    def close(self) -> defer.Deferred:
        if self._closed is None:
            self._closed = defer.Deferred.fromCoroutine(self._close())
        return _observe(self._closed)

    def declare_exchange(self, name: str, kind: str, durable: bool = False,
                         auto_delete: bool = False) -> defer.Deferred:
        if kind not in EXCHANGE_KINDS:
            # RabbitMQ answers an unknown type by closing the whole connection.
            return defer.fail(MessagingException(
                f"COMMAND_INVALID - unknown exchange type {kind!r}"))
        declaration = _ExchangeDeclaration(name, kind, bool(durable), bool(auto_delete))
        return defer.Deferred.fromCoroutine(self._declare(self._exchanges, declaration))

    def declare_queue(self, name: str, bindings: Iterable[Binding] = (), durable: bool = False,
                      auto_delete: bool = False, exclusive: bool = False,
                      expires_ms: int | None = None) -> defer.Deferred:
        """Fires with the queue's name, generated here when ``name`` is empty so that it
        stays the same after a reconnection."""
        name = name or GENERATED_QUEUE_PREFIX + uuid.uuid4().hex
        declaration = _QueueDeclaration(
            name, tuple(bindings), bool(durable), bool(auto_delete), bool(exclusive),
            None if expires_ms is None else int(expires_ms))
        declared = defer.Deferred.fromCoroutine(self._declare(self._queues, declaration))
        return declared.addCallback(lambda _: name)

    def consume(self, queue: str, handler: Handler, prefetch: int = 0) -> defer.Deferred:
        """``prefetch`` 0 takes ``rabbit_qos_prefetch_count`` (itself 0, no limit, by
        default)."""
        prefetch = prefetch or self._default_prefetch
        if not 0 <= prefetch <= 0xFFFF:
            return defer.fail(ValueError(f"prefetch {prefetch} is not in 0..65535"))
        return defer.Deferred.fromCoroutine(self._consume(queue, handler, prefetch))

    def publish(self, exchange: str, routing_key: str, body: bytes, *, persistent: bool = False,
                content_type: str = "application/json",
                expiration_ms: int | None = None) -> defer.Deferred:
        if not isinstance(body, bytes):
            # txamqp sizes a frame by len(body): text would be framed wrongly.
            raise TypeError(f"body must be bytes, not {type(body).__name__}")
        if self._closing or not self._started:
            state = "closed" if self._closing else "not connected"
            return defer.fail(MessageDeliveryFailure(f"AMQP transport: {state}"))
        for name in (exchange, routing_key):
            if len(name.encode()) > 255:
                return defer.fail(MessageDeliveryFailure(
                    f"AMQP names are at most 255 bytes: {name[:40]!r}... is longer"))
        properties: dict[str, Any] = {"content-type": content_type,
                                      "delivery-mode": 2 if persistent else 1}
        if expiration_ms is not None:
            properties["expiration"] = str(int(expiration_ms))
        out = _Outgoing(exchange, routing_key, body, properties, defer.Deferred())
        publisher = self._publisher()
        if publisher is not None and not self._outbox:
            publisher.send(out)
        elif len(self._outbox) >= self.max_buffered:
            out.deferred.errback(MessageDeliveryFailure(
                f"Not connected to the AMQP server and {len(self._outbox)} messages "
                f"already wait for the connection; message for exchange {exchange!r} with "
                f"routing key {routing_key!r} dropped"))
        else:
            self._outbox.append(out)
        return out.deferred

    # --- what connections ask -----------------------------------------------------------

    def _exchange_declarations(self) -> list[_ExchangeDeclaration]:
        return list(self._exchanges.values())

    def _queue_declarations(self) -> list[_QueueDeclaration]:
        return list(self._queues.values())

    def _registered_consumers(self) -> list[_Consumer]:
        return list(self._consumers)

    def _forget(self, declaration: _Declaration) -> None:
        registry = self._exchanges if isinstance(declaration, _ExchangeDeclaration) else self._queues
        if registry.get(declaration.name) == declaration:
            del registry[declaration.name]

    def _unregister(self, consumer: _Consumer) -> None:
        self._consumers.pop(consumer, None)

    def _flush(self) -> None:
        """Send what waited for a connection, in the order it was published."""
        publisher = self._publisher()
        while publisher is not None and self._outbox:
            publisher.send(self._outbox.popleft())

    def _connection_lost(self, connection: _Connection, unconfirmed: list[_Outgoing],
                        reason: Any) -> None:
        if connection is not self._connection:
            # Lost while being set up: the attempt fails and is retried.
            return
        self._connection = None
        if self._closing:
            for out in unconfirmed:
                out.deferred.errback(MessageDeliveryFailure(
                    "The AMQP connection closed before the broker confirmed the message"))
            return
        self._outbox.extendleft(reversed(unconfirmed))
        reported = self._broker_reported_error or (
            getattr(connection.client.close_reason, "reply_code", None) is not None)
        self._broker_reported_error = False
        delay = self._reconnect_delay if reported else 0
        LOG.error("The connection to the AMQP server on %s was lost (%s); reconnecting "
                  "%s, %d publishes waiting", connection, _describe(reason),
                  f"in {delay:g} seconds" if delay else "now", len(self._outbox))
        self._failures = 0
        self._retry_call = self.reactor.callLater(delay, self._attempt)

    # --- connecting -------------------------------------------------------------------

    def retry_delay(self, failures: int) -> float:
        """Seconds before the next attempt after ``failures`` failed ones in a row."""
        growth = 2 ** min(max(failures - 1, 0), 32) - 1
        return min(self._interval_max, self._retry_interval + self._retry_backoff * growth)

    def _attempt(self) -> None:
        self._retry_call = None
        host = self._hosts[self._next_host % len(self._hosts)]
        self._next_host += 1
        self._opening = defer.Deferred.fromCoroutine(self._open(host))
        self._opening.addCallbacks(self._opened, self._open_failed, errbackArgs=(host,))

    async def _open(self, host: _Host) -> _Connection:
        client = self._opening_client = self._make_client(host)
        try:
            handshake = defer.Deferred.fromCoroutine(self._handshake(client, host))
            handshake.addTimeout(CONNECT_TIMEOUT, self.reactor)
            await handshake
            connection = _Connection(self, client, host)
            await connection.setup()
        except BaseException:
            client.discard()
            raise
        return connection

    async def _handshake(self, client: _Client, host: _Host) -> None:
        endpoint = HostnameEndpoint(self.reactor, host.hostname, host.port,
                                    timeout=CONNECT_TIMEOUT)
        if self._tls is not None:
            endpoint = wrapClientTLS(self._tls(host.hostname), endpoint)
        await connectProtocol(endpoint, client)
        await client.start(client.response, client.mechanism, client.locale)

    def _make_client(self, host: _Host) -> _Client:
        properties = {
            "product": "nova-tx",
            "version": version.version_string,
            "platform": f"Python {sys.version.split()[0]} / Twisted {twisted_version}",
            "connection_name": self.connection_name,
            "capabilities": {
                "publisher_confirms": True,
                "basic.nack": True,
                "consumer_cancel_notify": True,
                "authentication_failure_close": True,
            },
        }
        delegate = _Delegate(properties, self._heartbeat_timeout)
        client = _Client(delegate, self._virtual_host, load_spec(),
                         heartbeat_timeout=self._heartbeat_timeout,
                         heartbeat_rate=self._heartbeat_rate, clock=self.reactor)
        # Set before the broker's connection.start can arrive; start() sets them again.
        client.mechanism = self._login_method
        client.response = _login_response(self._login_method, host)
        client.locale = "en_US"
        return client

    def _opened(self, connection: _Connection) -> None:
        self._opening = None
        if self._closing:
            connection.abort()
            return
        self._connection = connection
        self._failures = 0
        transport = connection.client.transport
        LOG.info("Connected to AMQP server on %s (virtual host %r) as %r from port %s",
                 connection, self._virtual_host, self.connection_name,
                 transport.getHost().port)
        self._flush()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(connection)

    def _open_failed(self, failure: Failure, host: _Host) -> None:
        self._opening = None
        if self._closing:
            return None
        self._failures += 1
        delay = self.retry_delay(self._failures)
        expected = failure.check(net_error.ConnectError, net_error.ConnectionLost,
                                 net_error.ConnectionDone, Closed, QueueClosed,
                                 _ConnectionGone, MessagingException, defer.TimeoutError,
                                 defer.CancelledError, OSError)
        LOG.error("AMQP server on %s is unreachable: %s. Trying again in %g seconds.",
                  host, _describe(failure), delay,
                  exc_info=None if expected else (failure.type, failure.value,
                                                  failure.getTracebackObject()))
        self._retry_call = self.reactor.callLater(delay, self._attempt)
        return None

    def _ready(self) -> defer.Deferred:
        """Fires with the live connection, now or once there is one."""
        if self._closing:
            return defer.fail(TransportNotConnected("AMQP transport: closed"))
        if not self._started:
            return defer.fail(TransportNotConnected("AMQP transport: not connected "
                                                    "(connect() was not called)"))
        if self.connected:
            return defer.succeed(self._connection)
        waiter = defer.Deferred(self._forget_waiter)
        self._waiters.append(waiter)
        return waiter

    def _forget_waiter(self, waiter: defer.Deferred) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)

    def _publisher(self) -> _Publisher | None:
        connection = self._connection
        if connection is None or not connection.alive:
            return None
        publisher = connection.publisher
        return publisher if publisher is not None and publisher.usable else None

    async def _on_connection(self, operation: Callable[[_Connection], Awaitable[Any]]) -> Any:
        """Run ``operation`` on the live connection, again on the next if it drops."""
        while True:
            connection = await self._ready()
            try:
                return await operation(connection)
            except _ConnectionGone:
                continue

    # --- declaring and consuming -----------------------------------------------------------

    async def _declare(self, registry: dict, declaration: _Declaration) -> None:
        previous = registry.get(declaration.name)
        if isinstance(declaration, _QueueDeclaration):
            declaration = declaration.merged_with(previous)
        # Remembered first: a connection set up while this waits replays it too.
        registry[declaration.name] = declaration
        try:
            await self._on_connection(lambda connection: connection.declare(declaration))
        except BaseException:
            if registry.get(declaration.name) is declaration:
                if previous is None:
                    del registry[declaration.name]
                else:
                    registry[declaration.name] = previous
            raise

    async def _consume(self, queue: str, handler: Handler, prefetch: int) -> _Consumer:
        consumer = _Consumer(self, queue, handler, prefetch)
        self._consumers[consumer] = None
        try:
            await self._on_connection(consumer.attach)
        except BaseException:
            self._unregister(consumer)
            raise
        if consumer.failure is not None:
            raise consumer.failure
        return consumer

    # --- closing ----------------------------------------------------------------------

    async def _close(self) -> None:
        self._closing = True
        if self._retry_call is not None and self._retry_call.active():
            self._retry_call.cancel()
        self._retry_call = None
        if self._opening is not None:
            self._opening.cancel()
            client = self._opening_client
            if client is not None and client.transport is not None:
                # Cancelling aborted its TCP connection; closed means gone.
                await client.disconnected.wait()
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(TransportNotConnected("AMQP transport: closed"))
        while self._outbox:
            self._outbox.popleft().deferred.errback(MessageDeliveryFailure(
                "The AMQP transport was closed before the message could be sent"))
        consumers = [consumer.stop() for consumer in list(self._consumers)]
        await defer.DeferredList(consumers, consumeErrors=True)
        connection = self._connection
        if connection is not None:
            try:
                await connection.close(self.reactor)
            except Exception as e:  # closing must end, whatever the broker does
                LOG.warning("Closing the AMQP connection to %s: %s", connection, _describe(e))
                connection.abort()
        self._connection = None


def _host(host) -> _Host:
    """A URL host with RabbitMQ's defaults for what it leaves out (as kombu fills them)."""
    return _Host(host.hostname, host.port or DEFAULT_PORT,
                 "guest" if host.username is None else host.username,
                 "guest" if host.password is None else host.password)


def _login_response(method: str, host: _Host) -> Any:
    if method == "EXTERNAL":
        return b""  # the broker takes the identity from the client certificate
    if method == "PLAIN":
        return f"\0{host.username}\0{host.password}".encode()
    return {"LOGIN": host.username, "PASSWORD": host.password}
