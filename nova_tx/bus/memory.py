"""The in-process bus: AMQP 0-9-1's model (exchanges, queues, bindings, consumers with
prefetch, ack and reject) in memory, for the all-in-one and for tests.

A ``MemoryBroker`` is the broker; each ``MemoryBus`` on it is one connection, what a
process would hold, so a test can run a client and a server as two "processes" on one
broker and see the same routing, exclusivity and auto-deletion as with RabbitMQ.
``memory://`` (and ``memory:///name`` for another virtual host) uses a module-level
broker per virtual host.

Deliveries always go through ``reactor.callLater(0, ...)``: a publish returns before any
handler runs, so a handler never runs inside the code that published (as with a real
broker), and a test drives delivery with a ``Clock`` if it wants to.

Expiry (``expires_ms`` of a queue, ``expiration_ms`` of a message) is applied lazily:
an expired queue disappears at the next operation on the broker and an expired message
is skipped when it reaches the head of its queue, so the broker never leaves timers
behind on the reactor.
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import inspect
import itertools
import logging
import uuid

from twisted.internet import defer
from twisted.python.failure import Failure
from zope.interface import implementer

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
    Handler,
    IConsumer,
    IncomingMessage,
    ITransport,
)

LOG = logging.getLogger(__name__)



@functools.lru_cache(maxsize=4096)
def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: dot-separated words, ``*`` is exactly one word, ``#`` is zero
    or more words."""
    words = routing_key.split(".") if routing_key else []
    parts = pattern.split(".") if pattern else []

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(parts):
            return j == len(words)
        if parts[i] == "#":
            return match(i + 1, j) or (j < len(words) and match(i, j + 1))
        if j == len(words):
            return False
        return parts[i] in ("*", words[j]) and match(i + 1, j + 1)

    return match(0, 0)


@dataclasses.dataclass
class _Message:
    body: bytes
    exchange: str
    routing_key: str
    content_type: str | None
    deadline: float | None
    redelivered: bool = False


@dataclasses.dataclass
class _Exchange:
    name: str
    kind: str
    durable: bool
    auto_delete: bool
    bindings: set[tuple[str, str]] = dataclasses.field(default_factory=set)


@dataclasses.dataclass(eq=False)
class _Queue:
    name: str
    durable: bool
    auto_delete: bool
    owner: MemoryBus | None
    expires_ms: int | None
    last_used: float
    messages: collections.deque = dataclasses.field(default_factory=collections.deque)
    consumers: list[MemoryConsumer] = dataclasses.field(default_factory=list)
    next_consumer: int = 0
    had_consumer: bool = False
    pump_scheduled: bool = False


class MemoryBroker:
    """The broker that several ``MemoryBus`` connections share."""

    def __init__(self, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self._exchanges: dict[str, _Exchange] = {}
        self._queues: dict[str, _Queue] = {}
        self._delivery_ids = itertools.count(1)

    # --- what tests look at ---------------------------------------------------------

    def queue_names(self) -> set[str]:
        self._expire_queues()
        return set(self._queues)

    def exchange_names(self) -> set[str]:
        self._expire_queues()
        return set(self._exchanges)

    def message_count(self, queue: str) -> int:
        """Messages ready in ``queue`` (not those delivered and awaiting their ack)."""
        q = self._queue(queue)
        self._drop_expired_messages(q)
        return len(q.messages)

    def consumer_count(self, queue: str) -> int:
        return len(self._queue(queue).consumers)

    def bindings(self, queue: str) -> set[Binding]:
        self._queue(queue)
        return {Binding(exchange.name, key) for exchange in self._exchanges.values()
                for name, key in exchange.bindings if name == queue}

    # --- what connections do --------------------------------------------------------

    def declare_exchange(self, name: str, kind: str, durable: bool, auto_delete: bool) -> None:
        self._expire_queues()
        if name == DEFAULT_EXCHANGE:
            raise MessagingException("ACCESS_REFUSED - the default exchange cannot be "
                                     "declared")
        if kind not in (DIRECT, TOPIC, FANOUT):
            raise MessagingException(f"COMMAND_INVALID - unknown exchange type {kind!r}")
        existing = self._exchanges.get(name)
        if existing is None:
            self._exchanges[name] = _Exchange(name, kind, durable, auto_delete)
        elif (existing.kind, existing.durable, existing.auto_delete) != (
                kind, durable, auto_delete):
            raise MessagingException(
                f"PRECONDITION_FAILED - exchange {name!r} exists as {existing.kind} "
                f"durable={existing.durable} auto_delete={existing.auto_delete}, not "
                f"{kind} durable={durable} auto_delete={auto_delete}")

    def declare_queue(self, owner: MemoryBus, name: str, bindings, durable: bool,
                      auto_delete: bool, exclusive: bool, expires_ms: int | None) -> str:
        self._expire_queues()
        name = name or "amq.gen-" + uuid.uuid4().hex
        for binding in bindings:
            if binding.exchange == DEFAULT_EXCHANGE:
                raise MessagingException("ACCESS_REFUSED - queues cannot be bound to the "
                                         "default exchange")
            if binding.exchange not in self._exchanges:
                raise MessagingException(f"NOT_FOUND - no exchange {binding.exchange!r}")
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue(
                name, durable, auto_delete, owner if exclusive else None, expires_ms,
                last_used=self.reactor.seconds())
        else:
            if queue.owner is not None and queue.owner is not owner:
                raise MessagingException(f"RESOURCE_LOCKED - queue {name!r} is exclusive "
                                         "to another connection")
            existing = (queue.durable, queue.auto_delete, queue.owner is not None,
                        queue.expires_ms)
            if existing != (durable, auto_delete, exclusive, expires_ms):
                raise MessagingException(
                    f"PRECONDITION_FAILED - queue {name!r} exists with durable, "
                    f"auto_delete, exclusive, expires_ms = {existing}, not "
                    f"{(durable, auto_delete, exclusive, expires_ms)}")
            queue.last_used = self.reactor.seconds()
        for binding in bindings:
            self._exchanges[binding.exchange].bindings.add((name, binding.routing_key))
        return name

    def publish(self, exchange: str, routing_key: str, body: bytes, content_type: str | None,
                expiration_ms: int | None) -> None:
        self._expire_queues()
        now = self.reactor.seconds()
        deadline = None if expiration_ms is None else now + expiration_ms / 1000.0
        for name in self._route(exchange, routing_key):
            queue = self._queues[name]
            queue.messages.append(_Message(body, exchange, routing_key, content_type,
                                           deadline))
            self._schedule(queue)

    def add_consumer(self, consumer: MemoryConsumer) -> None:
        self._expire_queues()
        queue = self._queue(consumer.queue)
        if queue.owner is not None and queue.owner is not consumer.bus:
            raise MessagingException(f"RESOURCE_LOCKED - queue {queue.name!r} is exclusive "
                                     "to another connection")
        queue.consumers.append(consumer)
        queue.had_consumer = True
        self._schedule(queue)

    def remove_consumer(self, consumer: MemoryConsumer) -> None:
        queue = self._queues.get(consumer.queue)
        if queue is None or consumer not in queue.consumers:
            return
        queue.consumers.remove(consumer)
        queue.last_used = self.reactor.seconds()
        if queue.auto_delete and queue.had_consumer and not queue.consumers:
            self._delete_queue(queue)

    def connection_closed(self, owner: MemoryBus) -> None:
        """Exclusive queues go with the connection that declared them."""
        for queue in [q for q in self._queues.values() if q.owner is owner]:
            self._delete_queue(queue)

    def next_delivery_id(self) -> str:
        return f"memory-{next(self._delivery_ids)}"

    def schedule(self, queue_name: str) -> None:
        queue = self._queues.get(queue_name)
        if queue is not None:
            self._schedule(queue)

    # --- internals ------------------------------------------------------------------

    def _queue(self, name: str) -> _Queue:
        self._expire_queues()
        try:
            return self._queues[name]
        except KeyError:
            raise MessagingException(f"NOT_FOUND - no queue {name!r}") from None

    def _route(self, exchange: str, routing_key: str) -> list[str]:
        if exchange == DEFAULT_EXCHANGE:
            return [routing_key] if routing_key in self._queues else []
        target = self._exchanges.get(exchange)
        if target is None:
            raise MessageDeliveryFailure(f"NOT_FOUND - no exchange {exchange!r}")
        if target.kind == FANOUT:
            matched = {name for name, _key in target.bindings}
        elif target.kind == DIRECT:
            matched = {name for name, key in target.bindings if key == routing_key}
        else:
            matched = {name for name, key in target.bindings if topic_matches(key, routing_key)}
        # Sorted so that a message routed to several queues lands in them in a stable order.
        return sorted(matched)

    def _delete_queue(self, queue: _Queue) -> None:
        self._queues.pop(queue.name, None)
        for exchange in list(self._exchanges.values()):
            bound = {b for b in exchange.bindings if b[0] == queue.name}
            if not bound:
                continue
            exchange.bindings -= bound
            if exchange.auto_delete and not exchange.bindings:
                del self._exchanges[exchange.name]

    def _expire_queues(self) -> None:
        now = self.reactor.seconds()
        for queue in list(self._queues.values()):
            if (queue.expires_ms is not None and not queue.consumers
                    and now - queue.last_used >= queue.expires_ms / 1000.0):
                LOG.debug("Memory bus: queue %s expired", queue.name)
                self._delete_queue(queue)

    def _drop_expired_messages(self, queue: _Queue) -> None:
        now = self.reactor.seconds()
        live = [m for m in queue.messages if m.deadline is None or m.deadline > now]
        if len(live) != len(queue.messages):
            queue.messages = collections.deque(live)

    def _schedule(self, queue: _Queue) -> None:
        if queue.pump_scheduled or not queue.messages or not queue.consumers:
            return
        queue.pump_scheduled = True
        self.reactor.callLater(0, self._pump, queue)

    def _pump(self, queue: _Queue) -> None:
        queue.pump_scheduled = False
        if self._queues.get(queue.name) is not queue:
            return
        now = self.reactor.seconds()
        while queue.messages:
            consumer = self._next_consumer(queue)
            if consumer is None:
                return
            message = queue.messages.popleft()
            if message.deadline is not None and message.deadline <= now:
                continue
            consumer.deliver(message)

    @staticmethod
    def _next_consumer(queue: _Queue) -> MemoryConsumer | None:
        count = len(queue.consumers)
        for offset in range(count):
            index = (queue.next_consumer + offset) % count
            consumer = queue.consumers[index]
            if consumer.has_capacity():
                queue.next_consumer = (index + 1) % count
                return consumer
        return None


@implementer(IConsumer)
class MemoryConsumer:
    """One consumer on one queue; acknowledges when the handler's result fires."""

    def __init__(self, bus: MemoryBus, queue: str, handler: Handler, prefetch: int):
        self.bus = bus
        self.queue = queue
        self._handler = handler
        self._prefetch = prefetch
        self._in_flight = 0
        self._active = True
        self._idle_waiters: list[defer.Deferred] = []

    def has_capacity(self) -> bool:
        return self._active and (self._prefetch <= 0 or self._in_flight < self._prefetch)

    def deliver(self, message: _Message) -> None:
        incoming = IncomingMessage(
            body=message.body, exchange=message.exchange, routing_key=message.routing_key,
            delivery_id=self.bus.broker.next_delivery_id(), redelivered=message.redelivered,
            content_type=message.content_type)
        self._in_flight += 1
        d = defer.maybeDeferred(self._handler, incoming)
        d.addCallback(_await_coroutine)
        d.addErrback(self._rejected, incoming)
        d.addBoth(self._settled)

    def _rejected(self, failure: Failure, incoming: IncomingMessage) -> None:
        LOG.warning("Memory bus: message %s from queue %s rejected and dropped: %s",
                    incoming.delivery_id, self.queue, failure.getErrorMessage())

    def _settled(self, _result) -> None:
        self._in_flight -= 1
        if self._active:
            self.bus.broker.schedule(self.queue)
        elif self._in_flight == 0:
            waiters, self._idle_waiters = self._idle_waiters, []
            for waiter in waiters:
                waiter.callback(None)

    def stop(self) -> defer.Deferred:
        if self._active:
            self._active = False
            self.bus.broker.remove_consumer(self)
            self.bus.forget(self)
        if self._in_flight == 0:
            return defer.succeed(None)
        waiter = defer.Deferred()
        self._idle_waiters.append(waiter)
        return waiter


def _await_coroutine(result):
    """Handlers may be ``async def``: their coroutine is run to completion before the ack."""
    if inspect.iscoroutine(result):
        return defer.Deferred.fromCoroutine(result)
    return result


@implementer(ITransport)
class MemoryBus:
    """One connection to a ``MemoryBroker`` (the module's default broker if none given)."""

    def __init__(self, broker: MemoryBroker | None = None):
        self.broker = broker if broker is not None else default_broker()
        self.connected = False
        self._closed = False
        self._consumers: list[MemoryConsumer] = []

    def connect(self) -> defer.Deferred:
        if self._closed:
            return defer.fail(TransportNotConnected("memory bus: connection closed"))
        self.connected = True
        return defer.succeed(None)

    def close(self) -> defer.Deferred:
        if self._closed:
            return defer.succeed(None)
        self._closed = True
        self.connected = False
        stopping = [consumer.stop() for consumer in list(self._consumers)]
        self.broker.connection_closed(self)
        return defer.gatherResults(stopping).addCallback(lambda _: None)

    def declare_exchange(self, name: str, kind: str, durable: bool = False,
                         auto_delete: bool = False) -> defer.Deferred:
        return self._do(self.broker.declare_exchange, name, kind, durable, auto_delete)

    def declare_queue(self, name: str, bindings: list[Binding] = (), durable: bool = False,
                      auto_delete: bool = False, exclusive: bool = False,
                      expires_ms: int | None = None) -> defer.Deferred:
        """Fires with the queue's name (generated when ``name`` is empty, as AMQP does)."""
        return self._do(self.broker.declare_queue, self, name, list(bindings), durable,
                        auto_delete, exclusive, expires_ms)

    def consume(self, queue: str, handler: Handler, prefetch: int = 0) -> defer.Deferred:
        def start() -> MemoryConsumer:
            consumer = MemoryConsumer(self, queue, handler, prefetch)
            self.broker.add_consumer(consumer)
            self._consumers.append(consumer)
            return consumer

        return self._do(start)

    def publish(self, exchange: str, routing_key: str, body: bytes, *, persistent: bool = False,
                content_type: str = "application/json",
                expiration_ms: int | None = None) -> defer.Deferred:
        if not self.connected:
            return defer.fail(MessageDeliveryFailure("memory bus: not connected"))
        return defer.maybeDeferred(self.broker.publish, exchange, routing_key, body,
                                   content_type, expiration_ms)

    def forget(self, consumer: MemoryConsumer) -> None:
        if consumer in self._consumers:
            self._consumers.remove(consumer)

    def _do(self, operation, *args) -> defer.Deferred:
        if not self.connected:
            return defer.fail(TransportNotConnected("memory bus: not connected"))
        return defer.maybeDeferred(operation, *args)


_default_brokers: dict[str, MemoryBroker] = {}


def default_broker(virtual_host: str = "/") -> MemoryBroker:
    """The process's broker for ``memory://`` (one per virtual host), on the global
    reactor."""
    broker = _default_brokers.get(virtual_host)
    if broker is None:
        broker = _default_brokers[virtual_host] = MemoryBroker()
    return broker
