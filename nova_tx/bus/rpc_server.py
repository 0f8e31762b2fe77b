"""The serving side of RPC: ``RPCServer``, which dispatches requests to endpoints.

It exists apart from the client because serving is a policy of its own (which
endpoint and version serve a request, how many methods run at once, what is rejected,
what a reply says), and the daemons that serve read it without the calling side.
"""
from __future__ import annotations

import collections
import dataclasses
import inspect
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from oslo_config import cfg
from twisted.application import service
from twisted.internet import defer, task
from twisted.python.failure import Failure

from nova_tx.bus import exception
from nova_tx.bus.interfaces import (
    DEFAULT_EXCHANGE,
    FANOUT,
    TOPIC,
    Binding,
    IncomingMessage,
    ITransport,
)
from nova_tx.bus.rpc_client import _conf, _declare_exchange
from nova_tx.bus.rpc_wire import (
    _VERSION_RE,
    ISerializer,
    MalformedMessage,
    RequestContextSerializer,
    Target,
    deserialize_msg,
    serialize_msg,
    serialize_remote_exception,
    unpack_context,
    version_is_compatible,
)

#: The RPC layer logs under one name, whichever of its modules speaks.
LOG = logging.getLogger("nova_tx.bus.rpc")

#: How many request ids a server remembers to drop a redelivered duplicate (as oslo).
_DUPLICATE_WINDOW = 16


def expected_exceptions(*classes: type[BaseException]) -> Callable:
    """Mark an endpoint method whose listed exceptions are part of its contract: they go
    back to the caller as usual but are logged at debug level, not as errors (Nova's
    ``messaging.expected_exceptions``)."""

    def mark(func: Callable) -> Callable:
        func._rpc_expected_exceptions = classes
        return func

    return mark


# --- the server ---------------------------------------------------------------------------

@dataclasses.dataclass
class _Request:
    delivery_id: str
    method: str
    args: dict[str, Any]
    namespace: str | None
    version: str
    ctxt: Any
    msg_id: str | None
    reply_q: str | None
    client_timeout: float | None
    unique_id: str | None

    def describe(self) -> str:
        what = f"message {self.delivery_id}"
        if self.msg_id:
            what += f" (msg_id {self.msg_id})"
        return what


class _Rejected(MalformedMessage):
    """A request we will not run; ``reply_to`` says where the caller waits, if it does."""

    def __init__(self, reason: str, error: Exception | None = None,
                 reply_to: tuple[str, str] | None = None):
        super().__init__(reason)
        self.error = error or exception.MessagingException(reason)
        self.reply_to = reply_to


class RPCServer(service.Service):
    """Serves ``endpoints`` on a topic, its ``topic.server`` queue and its fanout.

    An endpoint is any object; its public methods take ``(ctxt, **args)`` and may be
    ``async def`` or return a Deferred. Its ``target`` attribute (a ``Target``) gives its
    namespace and version (default: no namespace, version 1.0). At most
    ``[DEFAULT] executor_thread_pool_size`` methods run at once; ``stop()`` waits up to
    ``stop_timeout`` seconds for those running.
    """

    def __init__(self, transport: ITransport, target: Target, endpoints: Sequence[Any], *,
                 conf: cfg.ConfigOpts | None = None, serializer: ISerializer | None = None,
                 reactor=None, stop_timeout: float = 60.0):
        if not target.topic or not target.server:
            raise exception.InvalidTarget(f"a server needs a topic and a server: {target}")
        for endpoint in endpoints:
            endpoint_target = getattr(endpoint, "target", None)
            if endpoint_target is not None and not isinstance(endpoint_target, Target):
                raise TypeError(f"'target' of endpoint {endpoint!r} must be a Target")
        if reactor is None:
            from twisted.internet import reactor
        self.transport = transport
        self.target = target
        self.endpoints = list(endpoints)
        self.conf = _conf(conf)
        self.serializer = serializer or RequestContextSerializer()
        self.reactor = reactor
        self.stop_timeout = stop_timeout
        self.fanout_queue = f"{target.topic}_fanout_{uuid.uuid4().hex}"
        self._slots = defer.DeferredSemaphore(max(1, self.conf.executor_thread_pool_size))
        self._consumers: list = []
        self._running: set[defer.Deferred] = set()
        self._recent_ids: collections.deque = collections.deque(maxlen=_DUPLICATE_WINDOW)
        self.setName(f"rpc-{target.topic}.{target.server}")

    @property
    def queues(self) -> tuple[str, str, str]:
        return (self.target.topic, f"{self.target.topic}.{self.target.server}",
                self.fanout_queue)

    def start(self) -> defer.Deferred:
        """Declare the exchanges and queues and consume; fires once consuming."""
        return defer.Deferred.fromCoroutine(self._start())

    def stop(self) -> defer.Deferred:
        """Stop consuming; fires once the running methods finished, or after
        ``stop_timeout`` seconds with those still running left to themselves."""
        return defer.Deferred.fromCoroutine(self._stop())

    def startService(self) -> None:
        service.Service.startService(self)
        self.start().addErrback(
            lambda f: LOG.error("RPC server %s could not start: %s", self.name,
                                f.getErrorMessage()))

    def stopService(self) -> defer.Deferred:
        service.Service.stopService(self)
        return self.stop()

    async def _start(self) -> None:
        rabbit = self.conf.oslo_messaging_rabbit
        topic, server_queue, fanout_queue = self.queues
        exchange = self.target.exchange or self.conf.control_exchange
        fanout_exchange = f"{topic}_fanout"
        await _declare_exchange(self.transport, exchange, TOPIC,
                                durable=rabbit.amqp_durable_queues,
                                auto_delete=rabbit.amqp_auto_delete)
        await _declare_exchange(self.transport, fanout_exchange, FANOUT, durable=False,
                                auto_delete=True)
        for name in (topic, server_queue):
            await self.transport.declare_queue(
                name, [Binding(exchange, name)], durable=rabbit.amqp_durable_queues,
                auto_delete=rabbit.amqp_auto_delete)
        await self.transport.declare_queue(
            fanout_queue, [Binding(fanout_exchange, topic)], durable=False, auto_delete=False,
            expires_ms=rabbit.rabbit_transient_queues_ttl * 1000)
        for name in self.queues:
            self._consumers.append(await self.transport.consume(
                name, self._on_message, prefetch=rabbit.rabbit_qos_prefetch_count))
        LOG.info("RPC server %s consuming from %s", self.name, ", ".join(self.queues))

    async def _stop(self) -> None:
        consumers, self._consumers = self._consumers, []
        done: defer.Deferred = defer.Deferred()
        timer = self.reactor.callLater(self.stop_timeout, self._give_up, done)

        async def drain() -> None:
            await defer.gatherResults([c.stop() for c in consumers], consumeErrors=True)
            while self._running:
                await defer.DeferredList(list(self._running))

        def drained(result) -> None:
            if isinstance(result, Failure):
                LOG.warning("RPC server %s: stopping its consumers failed: %s", self.name,
                            result.getErrorMessage())
            if timer.active():
                timer.cancel()
            if not done.called:
                done.callback(None)

        defer.Deferred.fromCoroutine(drain()).addBoth(drained)
        await done

    def _give_up(self, done: defer.Deferred) -> None:
        LOG.warning("RPC server %s stopped with %d method(s) still running after %gs",
                    self.name, len(self._running), self.stop_timeout)
        if not done.called:
            done.callback(None)

    # --- one message -------------------------------------------------------------------

    def _on_message(self, incoming: IncomingMessage) -> defer.Deferred | None:
        try:
            request = self._parse(incoming)
            func = self._find_method(request)
        except _Rejected as e:
            return self._reject(incoming, e)
        if self._is_duplicate(request):
            return None
        return self._slots.acquire().addCallback(self._run, incoming, request, func)

    def _is_duplicate(self, request: _Request) -> bool:
        if request.unique_id is not None and request.unique_id in self._recent_ids:
            LOG.warning("RPC server %s: dropping duplicate %s (_unique_id %s)",
                        self.name, request.describe(), request.unique_id)
            return True
        return False

    def _reject(self, incoming: IncomingMessage, rejected: _Rejected) -> defer.Deferred:
        """Log, tell the caller if it waits, and fail so that the transport drops it."""
        LOG.error("RPC server %s: rejecting message %s from %s: %s", self.name,
                  incoming.delivery_id, incoming.routing_key, rejected)
        if rejected.reply_to is None:
            return defer.fail(rejected)
        msg_id, reply_q = rejected.reply_to
        replied = defer.Deferred.fromCoroutine(
            self._reply(msg_id, reply_q, None, rejected.error))
        return replied.addCallback(lambda _: Failure(rejected))

    def _parse(self, incoming: IncomingMessage) -> _Request:
        try:
            message = deserialize_msg(incoming.body)
        except MalformedMessage as e:
            raise _Rejected(str(e)) from None
        context = unpack_context(message)
        msg_id = message.pop("_msg_id", None)
        reply_q = message.pop("_reply_q", None)
        client_timeout = message.pop("_timeout", None)
        unique_id = message.pop("_unique_id", None)
        reply_to = None
        if msg_id is not None or reply_q is not None:
            if not (isinstance(msg_id, str) and isinstance(reply_q, str) and msg_id
                    and reply_q):
                raise _Rejected("_msg_id and _reply_q must both be non-empty strings")
            reply_to = (msg_id, reply_q)
        method = message.get("method")
        if not isinstance(method, str) or not method:
            raise _Rejected("no method", reply_to=reply_to)
        args = message.get("args", {})
        if not isinstance(args, dict):
            raise _Rejected(f"args of {method} is not an object", reply_to=reply_to)
        namespace = message.get("namespace")
        version = message.get("version", "1.0")
        if namespace is not None and not isinstance(namespace, str):
            raise _Rejected(f"namespace {namespace!r} is not a string", reply_to=reply_to)
        if not isinstance(version, str) or not _VERSION_RE.match(version):
            raise _Rejected(f"version {version!r} of {method} is not a version",
                            exception.UnsupportedVersion(str(version), method), reply_to)
        if client_timeout is not None and not isinstance(client_timeout, (int, float)):
            client_timeout = None
        try:
            ctxt = self.serializer.deserialize_context(context)
        except Exception as e:
            raise _Rejected(f"unreadable context ({e})", reply_to=reply_to) from None
        return _Request(incoming.delivery_id, method, args, namespace, version, ctxt,
                        msg_id, reply_q, client_timeout, unique_id)

    def _find_method(self, request: _Request) -> Callable:
        compatible = False
        for endpoint in self.endpoints:
            target = getattr(endpoint, "target", None) or Target()
            if request.namespace not in target.namespaces:
                continue
            if not version_is_compatible(target.version or "1.0", request.version):
                continue
            compatible = True
            if request.method.startswith("_"):
                continue
            func = getattr(endpoint, request.method, None)
            if callable(func):
                return func
        reply_to = (request.msg_id, request.reply_q) if request.msg_id else None
        if compatible:
            error: Exception = exception.NoSuchMethod(request.method)
        else:
            error = exception.UnsupportedVersion(request.version, request.method)
        raise _Rejected(f"{error} ({request.describe()})", error, reply_to)

    def _release_later(self) -> None:
        # Not synchronously: a release hands the slot to the next waiter at once, so a
        # backlog of requests that finish (or are skipped) without waiting, hundreds of
        # stale deliveries after a reconnection say, would each release in one ever
        # deeper call chain, past Python's recursion limit, and lose the slot.
        self.reactor.callLater(0, self._slots.release)

    def _run(self, _slot, incoming: IncomingMessage, request: _Request,
             func: Callable) -> None:
        """Start the method and return, so that the message is acknowledged now.

        A request that waited for a slot while its connection dropped is left to the
        broker's redelivery (the id is only remembered once dispatched, so that copy
        is not taken for a duplicate): otherwise it would run twice.
        """
        if not incoming.acknowledgeable():
            self._release_later()
            LOG.debug("RPC server %s: %s lost its connection before it started; the broker "
                      "delivers it again", self.name, request.describe())
            return
        if self._is_duplicate(request):
            self._release_later()
            return
        if request.unique_id is not None:
            self._recent_ids.append(request.unique_id)
        running = defer.Deferred.fromCoroutine(self._dispatch(request, func))
        self._running.add(running)

        def finished(result):
            self._running.discard(running)
            self._release_later()
            if isinstance(result, Failure):
                LOG.error("RPC server %s: handling %s failed: %s", self.name,
                          request.describe(), result.getTraceback())

        running.addBoth(finished)

    async def _dispatch(self, request: _Request, func: Callable) -> None:
        heartbeat = None
        if request.msg_id and request.client_timeout and request.client_timeout >= 2:
            # oslo's call monitor: tell a caller that waits with a call-monitor timeout
            # that we are still at it, twice per timeout.
            heartbeat = task.LoopingCall(self._heartbeat, request)
            heartbeat.clock = self.reactor
            heartbeat.start(request.client_timeout / 2.0, now=False)
        result, error = None, None
        try:
            args = {name: self.serializer.deserialize_entity(request.ctxt, value)
                    for name, value in request.args.items()}
            value = func(request.ctxt, **args)
            if inspect.isawaitable(value):
                value = await value
            result = self.serializer.serialize_entity(request.ctxt, value)
        except Exception as e:
            error = e
            expected = getattr(func, "_rpc_expected_exceptions", ())
            if isinstance(e, expected):
                LOG.debug("RPC %s of %s raised %s: %s", request.method, request.describe(),
                          type(e).__name__, e)
            else:
                LOG.exception("RPC %s of %s raised %s", request.method,
                              request.describe(), type(e).__name__)
        finally:
            if heartbeat is not None and heartbeat.running:
                heartbeat.stop()
        if request.msg_id and request.reply_q:
            await self._reply(request.msg_id, request.reply_q, result, error)

    def _heartbeat(self, request: _Request) -> defer.Deferred:
        reply = {"result": None, "failure": None, "ending": False, "_msg_id": request.msg_id,
                 "_unique_id": uuid.uuid4().hex}
        return self._publish_reply(request.reply_q, request.msg_id, serialize_msg(reply))

    async def _reply(self, msg_id: str, reply_q: str, result: Any,
                     error: BaseException | None) -> None:
        reply = {"result": None if error is not None else result,
                 "failure": None if error is None else serialize_remote_exception(error),
                 "ending": True, "_msg_id": msg_id, "_unique_id": uuid.uuid4().hex}
        try:
            body = serialize_msg(reply)
        except (TypeError, ValueError) as e:
            LOG.error("RPC server %s: the result for msg_id %s cannot be sent: %s",
                      self.name, msg_id, e)
            reply.update(result=None, failure=serialize_remote_exception(e))
            body = serialize_msg(reply)
        await self._publish_reply(reply_q, msg_id, body)

    def _publish_reply(self, reply_q: str, msg_id: str, body: bytes) -> defer.Deferred:
        d = self.transport.publish(DEFAULT_EXCHANGE, reply_q, body)

        def failed(failure: Failure) -> None:
            LOG.warning("RPC server %s: reply to msg_id %s on %s not delivered: %s",
                        self.name, msg_id, reply_q, failure.getErrorMessage())

        return d.addErrback(failed)
