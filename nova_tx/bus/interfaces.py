"""What a transport is: the AMQP 0-9-1 model (exchanges, queues, bindings) that both
``MemoryBus`` (in-process) and ``AMQPBus`` (RabbitMQ over txamqp) implement.

RPC (``nova_tx/bus/rpc.py``) and notifications (``nova_tx/bus/notifier.py``) are
written once against this interface, the way oslo.messaging's RPC layer sits on a
driver. A transport remembers what was declared and who consumes, so that after a
reconnection it declares and consumes again by itself; callers declare once.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable

from twisted.internet import defer
from zope.interface import Attribute, Interface

#: Exchange kinds, as AMQP names them.
DIRECT, TOPIC, FANOUT = "direct", "topic", "fanout"

#: AMQP's default exchange: never declared, every queue is reachable through it with its
#: own name as the routing key. RPC replies travel this way (``reply_<uuid>`` queues).
DEFAULT_EXCHANGE = ""


@dataclasses.dataclass(frozen=True)
class Binding:
    exchange: str
    routing_key: str


@dataclasses.dataclass(frozen=True)
class IncomingMessage:
    """One delivery to a consumer. It is acknowledged once the handler's result fires
    (or rejected, without requeue, if the handler fails): a malformed message is dropped
    and logged, never redelivered forever."""

    body: bytes
    exchange: str
    routing_key: str
    #: Broker-side identity for logs (AMQP delivery tag or the memory bus's counter).
    delivery_id: str
    redelivered: bool = False
    content_type: str | None = None
    #: Whether the delivery can still be acknowledged. False once the channel it came
    #: on is gone: the broker has put the message back and will deliver it again, so a
    #: handler that has not started its work yet should leave it to that delivery.
    acknowledgeable: Callable[[], bool] = dataclasses.field(
        default=lambda: True, compare=False, repr=False)


Handler = Callable[[IncomingMessage], "defer.Deferred | None"]


class IConsumer(Interface):
    queue = Attribute("The queue consumed from.")

    def stop() -> defer.Deferred:
        """Stop receiving; fires once in-flight handlers have finished."""


class ITransport(Interface):
    """A connection to a message bus, kept open (and re-opened) until ``close``."""

    connected = Attribute("Whether the transport is connected right now.")

    def connect() -> defer.Deferred:
        """Connect; fires once connected (the first time). Reconnects by itself after."""

    def close() -> defer.Deferred:
        """Stop consumers, close the connection, stop reconnecting."""

    def declare_exchange(name: str, kind: str, durable: bool = False,
                         auto_delete: bool = False) -> defer.Deferred:
        """Declare an exchange (idempotent; re-declared after a reconnection)."""

    def declare_queue(name: str, bindings: list[Binding] = (), durable: bool = False,
                      auto_delete: bool = False, exclusive: bool = False,
                      expires_ms: int | None = None) -> defer.Deferred:
        """Declare a queue and bind it (idempotent; re-declared after a reconnection)."""

    def consume(queue: str, handler: Handler, prefetch: int = 0) -> defer.Deferred:
        """Deliver the queue's messages to ``handler``; fires with an ``IConsumer``.

        At most ``prefetch`` messages are unacknowledged at once (0: no limit).
        """

    def publish(exchange: str, routing_key: str, body: bytes, *, persistent: bool = False,
                content_type: str = "application/json",
                expiration_ms: int | None = None) -> defer.Deferred:
        """Send a message; fires once the broker has it (publisher confirm for AMQP,
        routing done for the memory bus). Fails with ``MessageDeliveryFailure`` when
        the message could not be handed over.

        ``exchange`` may be ``DEFAULT_EXCHANGE`` (the queue named ``routing_key`` gets
        it). A message that no binding routes is dropped, as AMQP does without the
        mandatory flag; an exchange that does not exist is a ``MessageDeliveryFailure``.
        """
