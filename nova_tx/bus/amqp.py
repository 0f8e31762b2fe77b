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

One channel publishes (in confirm mode), one declares (one declaration at a time, so a
refusal, which closes the channel, is known to be that declaration's), and each consumer
has its own, so that its ``basic.qos`` prefetch is its own.
"""
from __future__ import annotations

import collections
import dataclasses
import inspect
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
from txamqp import spec as txspec
from txamqp.client import ChannelClosed, Closed, ConnectionClosed, TwistedDelegate
from txamqp.protocol import AMQClient
from txamqp.queue import Closed as QueueClosed
from txamqp.queue import TimeoutDeferredQueue
from zope.interface import implementer

from nova_tx import log, version
from nova_tx.bus import amqp_codec, amqp_frames, amqp_tls
from nova_tx.bus.amqp_codec import load_spec
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
    IConsumer,
    IncomingMessage,
    ITransport,
)
from nova_tx.bus.url import TransportURL

LOG = log.getLogger(__name__)

amqp_codec.install()

DEFAULT_PORT = 5672
DEFAULT_FRAME_MAX = 131072
#: Seconds for the TCP connection and the AMQP handshake; after that, heartbeats watch.
CONNECT_TIMEOUT = 30.0
#: Seconds ``close()`` waits for outstanding confirms, and then for the broker's close-ok.
CLOSE_TIMEOUT = 10.0
#: Publishes kept while disconnected; one more fails at once with MessageDeliveryFailure.
MAX_BUFFERED = 1000
#: The reply code of a connection closed by an operator or a broker shutting down, as
#: opposed to a protocol error caused by one of our commands.
CONNECTION_FORCED = 320
#: An exclusive queue still owned by a connection: after an abrupt drop, for a moment,
#: the broker may not have removed the previous connection's queues yet.
RESOURCE_LOCKED = 405
#: Prefix of the names generated for queues declared without one: the broker would name
#: them itself, but a broker-given name would change at every reconnection.
GENERATED_QUEUE_PREFIX = "nova-tx.gen-"
EXCHANGE_KINDS = (DIRECT, TOPIC, FANOUT)
LOGIN_METHODS = ("AMQPLAIN", "PLAIN", "EXTERNAL")


# --- the protocol --------------------------------------------------------------------


class _Client(AMQClient):
    """txamqp's protocol with oslo.messaging's heartbeat semantics, hooks for a lost
    connection and for a channel the broker closed, and the message frames read and
    written directly (:mod:`nova_tx.bus.amqp_frames`).

    Heartbeats: a heartbeat goes out when nothing else has for half an interval
    (``heartbeat_timeout_threshold / heartbeat_rate``), and the connection is given up
    after ``MAX_UNSEEN_HEARTBEAT`` intervals with nothing received. Both are checked by
    a timer against the time of the last frame, rather than by re-arming timers for
    every frame as txamqp does; the delegate negotiates the threshold with the broker.
    """

    def __init__(self, delegate: _Delegate, vhost: str, spec: txspec.Spec, *,
                 heartbeat_timeout: int, heartbeat_rate: int, clock):
        rate = max(1, heartbeat_rate)
        self.MAX_UNSEEN_HEARTBEAT = rate
        interval = heartbeat_timeout / rate if heartbeat_timeout > 0 else 0
        super().__init__(delegate, vhost, spec, heartbeat=interval, clock=clock)
        self.bus_connection: _Connection | None = None
        #: The broker's connection.close, when it was the broker that closed.
        self.close_reason: Any = None
        self._frames = amqp_frames.MessageFrames(self._delivered, self._confirmed)
        self._received = bytearray()
        self._last_received = self._last_sent = clock.seconds()

    # --- reading --------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        self._last_received = self.clock.seconds()
        buffer = self._received
        buffer += data
        pos, end = 0, len(buffer)
        try:
            while end - pos > amqp_frames.FRAME_HEADER_FORMAT.size:
                kind, channel, size = amqp_frames.FRAME_HEADER_FORMAT.unpack_from(buffer, pos)
                stop = pos + amqp_frames.FRAME_HEADER_FORMAT.size + size
                if stop >= end:
                    break
                if buffer[stop] != amqp_frames.FRAME_END:
                    raise amqp_frames.FrameError(
                        f"frame end {buffer[stop]:#x} instead of {amqp_frames.FRAME_END:#x}")
                start, pos = pos, stop + 1
                payload = bytes(buffer[start + amqp_frames.FRAME_HEADER_FORMAT.size:stop])
                if not self._frames.take(kind, channel, payload):
                    self.frame_received(self._unpack_frame(bytes(buffer[start:pos])))
                if self.transport is None or self.transport.disconnecting:
                    break
        except amqp_frames.FrameError as e:
            LOG.error("AMQP protocol error from the server: %s; dropping the connection", e)
            self.transport.abortConnection()
        finally:
            del buffer[:pos]

    def _delivered(self, channel: int, delivery: amqp_frames.Delivery) -> None:
        # Where txamqp's delegate puts a delivery: the consumer tag's queue.
        queue = self.queues.get(delivery.consumer_tag)
        if queue is None:
            queue = self.queues[delivery.consumer_tag] = TimeoutDeferredQueue(clock=self.clock)
        queue.put(delivery)

    def _confirmed(self, channel_id: int, tag: int, multiple: bool, refused: bool) -> None:
        channel = self.channels.get(channel_id)
        if channel is not None and self.bus_connection is not None:
            self.bus_connection.confirmed(channel, tag, multiple, refused)

    # --- writing --------------------------------------------------------------------

    def send_frame(self, frame) -> None:
        self._last_sent = self.clock.seconds()
        self.transport.write(self._pack_frame(frame))

    def write_frames(self, data: bytes) -> None:
        """Frames packed by :mod:`~nova_tx.bus.amqp_frames`, straight to the socket."""
        self._last_sent = self.clock.seconds()
        self.transport.write(data)

    # --- heartbeats -----------------------------------------------------------------

    def reschedule_send_heartbeat(self) -> None:
        # txamqp calls this once the connection is open: start the sender.
        if self.heartbeatInterval > 0 and not self.sendHB.running:
            self.sendHB.start(self.heartbeatInterval, now=False)

    def send_heartbeat(self) -> None:
        if self.clock.seconds() - self._last_sent >= self.heartbeatInterval / 2:
            super().send_heartbeat()

    def reschedule_check_heartbeat(self) -> None:
        # txamqp calls this for each frame; check_heartbeat looks at the time instead.
        pass

    def check_heartbeat(self) -> None:
        limit = self.heartbeatInterval * self.MAX_UNSEEN_HEARTBEAT
        silent = self.clock.seconds() - self._last_received
        if silent < limit:
            self.checkHB = self.clock.callLater(limit - silent, self.check_heartbeat)
            return
        LOG.warning("No frame from the AMQP server for %.0f seconds; dropping the "
                    "connection", silent)
        super().check_heartbeat()

    # --- the end --------------------------------------------------------------------

    def connectionLost(self, reason: Failure) -> None:
        super().connectionLost(reason)
        if self.bus_connection is not None:
            self.bus_connection.connection_lost(reason)

    def channel_failed(self, channel, reason: Failure) -> None:
        self._frames.channel_closed(channel.id)
        if self.bus_connection is not None:
            self.bus_connection.channel_failed(channel, reason.value)

    def discard(self) -> None:
        """Give up on a connection that never became usable, timers included."""
        if self.heartbeatInterval > 0:
            if self.sendHB.running:
                self.sendHB.stop()
            if self.checkHB.active():
                self.checkHB.cancel()
        if self.transport is not None and self.connected:
            self.transport.abortConnection()


class _Delegate(TwistedDelegate):
    """Answers the broker: login with our client properties, tune with the heartbeat
    threshold, and the methods txamqp's delegate lacks (confirms, consumer cancel)."""

    def __init__(self, client_properties: dict, heartbeat: int):
        super().__init__()
        self.client_properties = client_properties
        self.heartbeat = heartbeat

    def connection_start(self, ch, msg) -> None:
        ch.connection_start_ok(client_properties=self.client_properties,
                               mechanism=self.client.mechanism,
                               response=self.client.response, locale=self.client.locale)

    def connection_tune(self, ch, msg) -> None:
        # 0 means no limit, but txamqp splits bodies by it: take RabbitMQ's default.
        frame_max = msg.frame_max or DEFAULT_FRAME_MAX
        self.client.MAX_LENGTH = frame_max
        self.client.channel_max = msg.channel_max
        ch.connection_tune_ok(channel_max=msg.channel_max, frame_max=frame_max,
                              heartbeat=self.heartbeat)
        self.client.started.fire()

    def connection_close(self, ch, msg) -> None:
        self.client.close_reason = msg
        super().connection_close(ch, msg)

    def basic_ack(self, ch, msg) -> None:
        self._connection().confirmed(ch, msg.delivery_tag, msg.multiple, refused=False)

    def basic_nack(self, ch, msg) -> None:
        self._connection().confirmed(ch, msg.delivery_tag, msg.multiple, refused=True)

    def basic_cancel(self, ch, msg) -> None:
        self._connection().consumer_cancelled(ch, msg.consumer_tag)

    def _connection(self) -> _Connection:
        # Acks and cancels only come after the handshake, once the connection exists.
        return self.client.bus_connection


def _describe(reason: Any) -> str:
    """One line for a close, a Failure or an exception, for logs and error messages."""
    if isinstance(reason, Failure):
        reason = reason.value
    if isinstance(reason, Closed) and reason.args:
        reason = reason.args[0]
    if isinstance(reason, Failure):
        reason = reason.value
    reply_code = getattr(reason, "reply_code", None) if hasattr(reason, "method") else None
    if reply_code is not None:
        return f"{reply_code} {reason.reply_text}"
    text = str(reason) or type(reason).__name__
    # Twisted's messages end with a full stop, and so do the sentences they go into.
    return " ".join(text.split()).rstrip(".")


class _ConnectionGone(Exception):
    """The connection went away under an operation, which is to be tried on the next."""


class BrokerRefused(MessagingException):
    """The AMQP server refused a declaration or a consume; the message is the broker's
    own (\"404 NOT_FOUND - no queue 'x' in vhost '/'\"), as the memory bus words its
    refusals, and ``reply_code`` is the AMQP code."""

    def __init__(self, message: str, reply_code: int | None = None):
        super().__init__(message, reply_code)
        self.reply_code = reply_code

    def __str__(self) -> str:
        return self.args[0]

    @classmethod
    def from_close(cls, error: Closed) -> BrokerRefused:
        reason = error.args[0] if error.args else None
        return cls(_describe(error), getattr(reason, "reply_code", None))


# --- what is remembered --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Host:
    hostname: str
    port: int
    username: str
    password: str

    def __str__(self) -> str:
        return f"{self.hostname}:{self.port}"


@dataclasses.dataclass(frozen=True)
class _ExchangeDeclaration:
    name: str
    kind: str
    durable: bool
    auto_delete: bool

    async def apply(self, channel) -> None:
        await channel.exchange_declare(exchange=self.name, type=self.kind,
                                       durable=self.durable, auto_delete=self.auto_delete)

    def __str__(self) -> str:
        return f"exchange {self.name!r}"


@dataclasses.dataclass(frozen=True)
class _QueueDeclaration:
    name: str
    bindings: tuple[Binding, ...]
    durable: bool
    auto_delete: bool
    exclusive: bool
    expires_ms: int | None

    async def apply(self, channel) -> None:
        arguments = {} if self.expires_ms is None else {"x-expires": int(self.expires_ms)}
        await channel.queue_declare(queue=self.name, durable=self.durable,
                                    exclusive=self.exclusive, auto_delete=self.auto_delete,
                                    arguments=arguments)
        for binding in self.bindings:
            await channel.queue_bind(queue=self.name, exchange=binding.exchange,
                                     routing_key=binding.routing_key)

    def merged_with(self, previous: _QueueDeclaration | None) -> _QueueDeclaration:
        """Bindings add up on the broker, so the replay must repeat the earlier ones."""
        if previous is None:
            return self
        bindings = tuple(dict.fromkeys(previous.bindings + self.bindings))
        return dataclasses.replace(self, bindings=bindings)

    def __str__(self) -> str:
        return f"queue {self.name!r}"


_Declaration = _ExchangeDeclaration | _QueueDeclaration


@dataclasses.dataclass
class _Outgoing:
    exchange: str
    routing_key: str
    body: bytes
    properties: dict
    deferred: defer.Deferred


# --- one connection ------------------------------------------------------------------


class _Publisher:
    """The channel in confirm mode, and the messages it still owes a confirm for.

    Confirms are numbered per channel from 1 in publish order, so the delivery tag of
    a ``basic.ack`` names the message (and, with ``multiple``, all before it).
    """

    def __init__(self, channel):
        self.channel = channel
        self._next_tag = 1
        self._unconfirmed: collections.OrderedDict[int, _Outgoing] = collections.OrderedDict()
        self._drain_waiters: list[defer.Deferred] = []

    @classmethod
    async def open(cls, connection: _Connection) -> _Publisher:
        channel = await connection.open_channel()
        await connection.call(channel.confirm_select())
        return cls(channel)

    @property
    def usable(self) -> bool:
        return not self.channel.closed

    def send(self, out: _Outgoing) -> None:
        tag = self._next_tag
        self._next_tag += 1
        self._unconfirmed[tag] = out
        if self.channel.closed:
            return  # the channel's failure settles the message
        client = self.channel.client
        client.write_frames(amqp_frames.publish(self.channel.id, out.exchange, out.routing_key,
                                                out.body, out.properties, client.MAX_LENGTH))

    def settle(self, tag: int, multiple: bool, refused: bool) -> None:
        if multiple:
            settled = []
            while self._unconfirmed:
                first = next(iter(self._unconfirmed))
                if first > tag:
                    break
                settled.append(self._unconfirmed.popitem(last=False)[1])
        else:
            out = self._unconfirmed.pop(tag, None)
            settled = [] if out is None else [out]
        self._wake_drained()
        for out in settled:
            if refused:
                out.deferred.errback(MessageDeliveryFailure(
                    f"The AMQP server refused the message for exchange {out.exchange!r} "
                    f"with routing key {out.routing_key!r} (basic.nack)"))
            else:
                out.deferred.callback(None)

    def take_unconfirmed(self) -> list[_Outgoing]:
        taken = list(self._unconfirmed.values())
        self._unconfirmed.clear()
        self._wake_drained()
        return taken

    def drained(self) -> defer.Deferred:
        """Fires once no confirm is owed."""
        if not self._unconfirmed:
            return defer.succeed(None)
        waiter = defer.Deferred()
        self._drain_waiters.append(waiter)
        return waiter

    def _wake_drained(self) -> None:
        if not self._unconfirmed:
            waiters, self._drain_waiters = self._drain_waiters, []
            for waiter in waiters:
                if not waiter.called:  # close() stops waiting after CLOSE_TIMEOUT
                    waiter.callback(None)


class _Connection:
    """One AMQP connection with its channels; the bus makes a new one after each loss."""

    def __init__(self, bus: AMQPBus, client: _Client, host: _Host):
        self.bus = bus
        self.client = client
        self.host = host
        self.publisher: _Publisher | None = None
        #: Consumers by the id of their channel, once attached.
        self.consumers: dict[int, _Consumer] = {}
        self._declarer = None
        self._declaring = defer.DeferredLock()
        self._next_channel_id = 1
        self._free_channel_ids: list[int] = []
        client.bus_connection = self

    @property
    def alive(self) -> bool:
        return not self.client.closed

    def __str__(self) -> str:
        return str(self.host)

    async def setup(self) -> None:
        """Open the publishing channel and replay what the bus remembers."""
        self.publisher = await _Publisher.open(self)
        bus = self.bus
        for declaration in [*bus._exchange_declarations(), *bus._queue_declarations()]:
            try:
                await self.declare(declaration)
            except BrokerRefused as e:
                if e.reply_code == RESOURCE_LOCKED:
                    raise _ConnectionGone(f"{declaration} is still locked: {e}") from None
                if not self.alive:
                    # A protocol error the broker closes the whole connection for:
                    # replaying it would close every following connection too.
                    bus._forget(declaration)
                    LOG.error("The AMQP server on %s closed the connection when %s was "
                              "declared again (%s); it is no longer declared", self,
                              declaration, e)
                    raise _ConnectionGone(str(e)) from None
                LOG.error("Could not declare %s again on %s: %s", declaration, self, e)
        for consumer in bus._registered_consumers():
            try:
                await consumer.attach(self)
            except BrokerRefused as e:
                if e.reply_code == RESOURCE_LOCKED:
                    raise _ConnectionGone(f"queue {consumer.queue!r} is still locked: "
                                          f"{e}") from None
                LOG.error("Could not consume from queue %r again on %s: %s; the "
                          "consumer is stopped", consumer.queue, self, e)
                consumer.failed(e)

    # --- channels -----------------------------------------------------------------

    def check_alive(self) -> None:
        if not self.alive:
            raise _ConnectionGone(_describe(self.client.close_reason or "connection closed"))

    async def call(self, operation: Awaitable) -> Any:
        """Await a txamqp operation, telling a refusal from a connection that went away.

        A refusal closes the channel (``ChannelClosed``) or, for a protocol error, the
        connection with a code other than CONNECTION_FORCED; either way it is the
        caller's, and fails with ``BrokerRefused``.
        """
        try:
            return await operation
        except ChannelClosed as e:
            raise BrokerRefused.from_close(e) from None
        except ConnectionClosed as e:
            reason = e.args[0] if e.args else None
            if getattr(reason, "reply_code", None) == CONNECTION_FORCED:
                raise _ConnectionGone(_describe(e)) from None
            raise BrokerRefused.from_close(e) from None
        except (Closed, QueueClosed) as e:
            raise _ConnectionGone(_describe(e)) from None

    async def open_channel(self):
        self.check_alive()
        if self._free_channel_ids:
            channel_id = self._free_channel_ids.pop()
        else:
            channel_id = self._next_channel_id
            channel_max = getattr(self.client, "channel_max", 0)
            if channel_max and channel_id > channel_max:
                raise MessagingException(f"no AMQP channel left on {self} "
                                         f"(channel_max {channel_max})")
            self._next_channel_id += 1
        channel = await self.client.channel(channel_id)
        # A channel made after txamqp closed the connection would never be closed, and
        # an operation on it would wait forever.
        self.check_alive()
        await self.call(channel.channel_open())
        return channel

    async def close_channel(self, channel) -> None:
        if not channel.closed and self.alive:
            try:
                await channel.channel_close(reply_code=200, reply_text="closed by nova-tx")
            except (Closed, QueueClosed):
                pass
        if not channel.closed:
            channel.close("closed by nova-tx")
            self._release(channel)

    def _release(self, channel) -> None:
        if self.client.channels.get(channel.id) is channel:
            del self.client.channels[channel.id]
            self._free_channel_ids.append(channel.id)

    def channel_failed(self, channel, reason: Any) -> None:
        """The broker closed a channel: what it means depends on whose it was."""
        self._release(channel)
        if self.publisher is not None and channel is self.publisher.channel:
            self._publisher_failed(reason)
        elif channel is self._declarer:
            # The declaration in progress fails with the reason; the next one opens a
            # new channel.
            self._declarer = None
        elif channel.id in self.consumers:
            consumer = self.consumers.pop(channel.id)
            self._restart(f"the AMQP server closed the channel of the consumer of queue "
                          f"{consumer.queue!r}: {_describe(reason)}")

    def consumer_cancelled(self, channel, consumer_tag: str) -> None:
        consumer = self.consumers.get(channel.id)
        if consumer is None:
            return
        # The queue was deleted or its node went away. Reconnecting re-declares the
        # queues we declared and re-attaches every consumer, as oslo.messaging does.
        self._restart(f"the AMQP server cancelled the consumer of queue "
                      f"{consumer.queue!r} (queue deleted or moved)")

    def _restart(self, why: str) -> None:
        LOG.warning("%s; reconnecting to the AMQP server on %s", why, self)
        self.bus._broker_reported_error = True
        self.abort()

    def abort(self) -> None:
        if self.client.transport is not None:
            self.client.transport.abortConnection()

    # --- declarations -------------------------------------------------------------

    async def declare(self, declaration: _Declaration) -> None:
        await self._declaring.acquire()
        try:
            if self._declarer is None or self._declarer.closed:
                self._declarer = await self.open_channel()
            await self.call(declaration.apply(self._declarer))
        finally:
            self._declaring.release()

    # --- publishing ---------------------------------------------------------------

    def confirmed(self, channel, tag: int, multiple: bool, refused: bool) -> None:
        if self.publisher is not None and channel is self.publisher.channel:
            self.publisher.settle(tag, multiple, refused)

    def _publisher_failed(self, reason: Any) -> None:
        """The broker closed the publishing channel (most often: no such exchange).

        Which of the unconfirmed messages caused it is not known, and the others may
        have been routed already: all of them fail rather than risk sending one twice.
        A new publishing channel is opened for what comes next.
        """
        publisher, self.publisher = self.publisher, None
        for out in publisher.take_unconfirmed():
            out.deferred.errback(MessageDeliveryFailure(
                f"The AMQP server closed the publishing channel ({_describe(reason)}); "
                f"the message for exchange {out.exchange!r} with routing key "
                f"{out.routing_key!r} may not have been delivered"))
        reopening = defer.Deferred.fromCoroutine(self._reopen_publisher())
        reopening.addErrback(self._reopen_failed)

    async def _reopen_publisher(self) -> None:
        publisher = await _Publisher.open(self)
        if self.alive:
            self.publisher = publisher
            self.bus._flush()

    def _reopen_failed(self, failure: Failure) -> None:
        if self.alive:
            LOG.error("Could not open a new publishing channel on %s: %s; reconnecting",
                      self, _describe(failure))
            self.abort()

    # --- the end ------------------------------------------------------------------

    def connection_lost(self, reason: Failure) -> None:
        publisher, self.publisher = self.publisher, None
        unconfirmed = publisher.take_unconfirmed() if publisher is not None else []
        self.bus._connection_lost(self, unconfirmed, self.client.close_reason or reason)

    async def close(self, reactor) -> None:
        """Wait for the confirms still owed, then close the connection politely."""
        publisher = self.publisher
        if publisher is not None:
            draining = publisher.drained()
            draining.addTimeout(CLOSE_TIMEOUT, reactor)
            try:
                await draining
            except defer.TimeoutError:
                LOG.warning("Closing the AMQP connection to %s with publishes still "
                            "unconfirmed after %s seconds", self, CLOSE_TIMEOUT)
            if self.alive and publisher.usable:
                await self.close_channel(publisher.channel)
        if self.alive:
            channel0 = await self.client.channel(0)
            closing = channel0.connection_close(reply_code=200, reply_text="nova-tx closing",
                                                class_id=0, method_id=0)
            closing.addTimeout(CLOSE_TIMEOUT, reactor)
            try:
                await closing
            except defer.TimeoutError:
                # A broker that does not answer may not read either: do not wait on it.
                self.abort()
            except (Closed, QueueClosed):
                pass
            if self.client.transport is not None:
                self.client.transport.loseConnection()
        await self.client.disconnected.wait()


# --- consumers -----------------------------------------------------------------------


@dataclasses.dataclass
class _Attachment:
    """A consumer on one connection: its channel, consumer tag and delivery queue."""

    connection: _Connection
    channel: Any
    tag: str
    deliveries: Any


@implementer(IConsumer)
class _Consumer:
    """One consumer of one queue, re-attached on each new connection until stopped."""

    def __init__(self, bus: AMQPBus, queue: str, handler: Handler, prefetch: int):
        self.queue = queue
        self._bus = bus
        self._handler = handler
        self._prefetch = prefetch
        self._attachment: _Attachment | None = None
        self._in_flight: set[defer.Deferred] = set()
        self._stopped: defer.Deferred | None = None
        #: Why the consumer stopped by itself (its queue could not be consumed again).
        self.failure: Exception | None = None

    async def attach(self, connection: _Connection) -> None:
        if self._stopped is not None or self.failure is not None:
            return
        if self._attachment is not None and self._attachment.connection is connection:
            return
        channel = await connection.open_channel()
        try:
            await connection.call(channel.basic_qos(prefetch_count=self._prefetch))
            reply = await connection.call(channel.basic_consume(queue=self.queue))
            deliveries = await connection.client.queue(reply.consumer_tag)
        except BaseException:
            if not channel.closed:
                await connection.close_channel(channel)
            raise
        attachment = _Attachment(connection, channel, reply.consumer_tag, deliveries)
        self._attachment = attachment
        connection.consumers[channel.id] = self
        self._read(attachment)
        if self._stopped is not None:
            # stop() ran while this attachment was being made.
            await self._cancel(attachment)

    def failed(self, error: Exception) -> None:
        self.failure = error
        self._bus._unregister(self)

    # --- deliveries -----------------------------------------------------------------

    def _read(self, attachment: _Attachment) -> None:
        # A loop rather than a callback chain: deliveries already waiting in the queue
        # come back as fired Deferreds, and chaining them would recurse once each.
        while True:
            waiting = attachment.deliveries.get()
            if not waiting.called:
                waiting.addCallbacks(self._delivered, self._reading_stopped,
                                     callbackArgs=(attachment,))
                return
            outcome: list = []
            waiting.addBoth(outcome.append)
            if isinstance(outcome[0], Failure):
                self._reading_stopped(outcome[0])
                return
            self._handle(outcome[0], attachment)

    def _delivered(self, message, attachment: _Attachment) -> None:
        self._handle(message, attachment)
        self._read(attachment)

    @staticmethod
    def _reading_stopped(failure: Failure) -> None:
        # The delivery queue closes with the channel or the connection.
        failure.trap(QueueClosed)

    def _handle(self, message, attachment: _Attachment) -> None:
        content = message.content
        body = content.body
        if isinstance(body, str):  # txamqp gives an empty body as ""
            body = body.encode()
        incoming = IncomingMessage(
            body=body, exchange=message.exchange, routing_key=message.routing_key,
            delivery_id=f"{attachment.tag}:{message.delivery_tag}",
            redelivered=bool(message.redelivered),
            content_type=content.properties.get("content-type"),
            acknowledgeable=lambda: not (attachment.channel.closed
                                         or not attachment.connection.alive))
        handled = defer.maybeDeferred(self._handler, incoming)
        handled.addCallback(_await_coroutine)
        self._in_flight.add(handled)
        handled.addBoth(self._settle, handled, attachment, message.delivery_tag, incoming)

    def _settle(self, result, handled: defer.Deferred, attachment: _Attachment,
                delivery_tag: int, incoming: IncomingMessage) -> None:
        self._in_flight.discard(handled)
        channel = attachment.channel
        if channel.closed or not attachment.connection.alive:
            # The broker has put it back in the queue already and delivers it again.
            LOG.debug("Delivery %s from queue %s not acknowledged: its channel is gone",
                      incoming.delivery_id, self.queue)
            return None
        if isinstance(result, Failure):
            LOG.error("The handler of queue %s failed on delivery %s (exchange %r, routing "
                      "key %r); the message is rejected and dropped: %s", self.queue,
                      incoming.delivery_id, incoming.exchange, incoming.routing_key,
                      result.getErrorMessage(),
                      exc_info=(result.type, result.value, result.getTracebackObject()))
            frames = amqp_frames.reject(channel.id, delivery_tag, requeue=False)
        else:
            frames = amqp_frames.ack(channel.id, delivery_tag)
        attachment.connection.client.write_frames(frames)
        return None

    # --- stopping -------------------------------------------------------------------

    def stop(self) -> defer.Deferred:
        if self._stopped is None:
            self._bus._unregister(self)
            self._stopped = defer.Deferred.fromCoroutine(self._stop())
        return _observe(self._stopped)

    async def _stop(self) -> None:
        attachment = self._attachment
        if attachment is not None:
            await self._cancel(attachment)
        await self._finish_in_flight()

    async def _cancel(self, attachment: _Attachment) -> None:
        connection, channel = attachment.connection, attachment.channel
        if connection.alive and not channel.closed:
            try:
                await channel.basic_cancel(consumer_tag=attachment.tag)
            except (Closed, QueueClosed):
                pass
        # Handlers of messages delivered before cancel-ok finish and their acks go out
        # before the channel closes; closing first would requeue them.
        await self._finish_in_flight()
        attachment.deliveries.close()
        connection.client.queues.pop(attachment.tag, None)
        connection.consumers.pop(channel.id, None)
        await connection.close_channel(channel)

    async def _finish_in_flight(self) -> None:
        while self._in_flight:
            await defer.DeferredList(list(self._in_flight), consumeErrors=True)


def _await_coroutine(result):
    """Handlers may be ``async def``, as with the memory bus."""
    if inspect.iscoroutine(result):
        return defer.Deferred.fromCoroutine(result)
    return result


def _observe(d: defer.Deferred) -> defer.Deferred:
    """A Deferred of its own for each caller of an operation that runs once (stopping,
    closing), so that one caller's callbacks do not change what the next one gets."""
    observer: defer.Deferred = defer.Deferred()

    def relay(result):
        if isinstance(result, Failure):
            observer.errback(result)
            return None
        observer.callback(result)
        return result

    d.addBoth(relay)
    return observer


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
