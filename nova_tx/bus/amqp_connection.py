"""One AMQP connection's machinery: its channels, what it publishes, what it consumes.

It exists so that the transport (:mod:`nova_tx.bus.amqp`) can be read as a policy
(when to connect, what to remember, what to replay) without the detail of one
connection, which lives and dies here: the bus makes a new ``_Connection`` after each
loss and hands it what it remembers.

One channel publishes (in confirm mode), one declares (one declaration at a time, so a
refusal, which closes the channel, is known to be that declaration's), and each consumer
has its own, so that its ``basic.qos`` prefetch is its own.
"""
from __future__ import annotations

import collections
import dataclasses
import inspect
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.python.failure import Failure
from txamqp.client import ChannelClosed, Closed, ConnectionClosed
from txamqp.queue import Closed as QueueClosed
from zope.interface import implementer

from nova_tx import log
from nova_tx.bus import amqp_frames
from nova_tx.bus.exception import MessageDeliveryFailure, MessagingException
from nova_tx.bus.interfaces import Binding, Handler, IConsumer, IncomingMessage

if TYPE_CHECKING:
    from nova_tx.bus.amqp import AMQPBus
    from nova_tx.bus.amqp_protocol import _Client

#: The AMQP transport logs under one name, whichever of its modules speaks.
LOG = log.getLogger("nova_tx.bus.amqp")

#: Seconds ``close()`` waits for outstanding confirms, and then for the broker's close-ok.
CLOSE_TIMEOUT = 10.0
#: The reply code of a connection closed by an operator or a broker shutting down, as
#: opposed to a protocol error caused by one of our commands.
CONNECTION_FORCED = 320
#: An exclusive queue still owned by a connection: after an abrupt drop, for a moment,
#: the broker may not have removed the previous connection's queues yet.
RESOURCE_LOCKED = 405


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

