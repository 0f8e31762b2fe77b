"""The calling side of RPC: ``RPCClient`` and the process's reply queue.

It exists apart from the server because a process that only calls (nova-api, a
compute talking to the conductor) needs none of the server's dispatch, and the reply
queue's bookkeeping (one queue per process, calls matched to replies, timeouts and
call-monitor heartbeats) is the client's alone. What a process shares per transport,
the exchanges already declared, is here too, and the server uses it.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import uuid
import weakref
from collections.abc import Iterable
from typing import Any

from oslo_config import cfg
from twisted.internet import defer

from nova_tx.bus import exception
from nova_tx.bus.interfaces import (
    FANOUT,
    TOPIC,
    IncomingMessage,
    ITransport,
)
from nova_tx.bus.rpc_wire import (
    ISerializer,
    MalformedMessage,
    RequestContextSerializer,
    Target,
    _version_parts,
    deserialize_msg,
    deserialize_remote_exception,
    pack_context,
    serialize_msg,
    version_is_compatible,
)

#: The RPC layer logs under one name, whichever of its modules speaks.
LOG = logging.getLogger("nova_tx.bus.rpc")

#: Modules whose exceptions cross the bus as themselves, besides Python's builtins.
DEFAULT_ALLOWED_EXMODS = ("nova_tx.exception", "nova_tx.bus.exception")

_UNSET: Any = object()


# --- per-transport state: exchanges declared, the process's reply queue -------------------

class _TransportState:
    def __init__(self) -> None:
        self.declared: set[str] = set()
        self.reply: _ReplyQueue | None = None
        self.reply_lock = defer.DeferredLock()


_states: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _state(transport: ITransport) -> _TransportState:
    state = _states.get(transport)
    if state is None:
        state = _states[transport] = _TransportState()
    return state


async def _declare_exchange(transport: ITransport, name: str, kind: str, durable: bool,
                            auto_delete: bool) -> None:
    state = _state(transport)
    if name not in state.declared:
        await transport.declare_exchange(name, kind, durable=durable, auto_delete=auto_delete)
        state.declared.add(name)


def _conf(conf: cfg.ConfigOpts | None) -> cfg.ConfigOpts:
    if conf is not None:
        return conf
    from nova_tx.conf import CONF

    return CONF


class _PendingCall:
    """One call waiting for its reply, with its timeout and call-monitor timers."""

    def __init__(self, owner: _ReplyQueue, msg_id: str, description: str,
                 allowed_modules: tuple[str, ...], reactor, timeout: float | None,
                 monitor_timeout: float | None):
        self.owner = owner
        self.msg_id = msg_id
        self.description = description
        self.allowed_modules = allowed_modules
        self.deferred: defer.Deferred = defer.Deferred(canceller=lambda _d: self._cancel())
        self._result: Any = None
        self._monitor_timeout = monitor_timeout
        self._timer = (reactor.callLater(timeout, self._timed_out, timeout)
                       if timeout and timeout > 0 else None)
        self._monitor = (reactor.callLater(monitor_timeout, self._timed_out, monitor_timeout)
                         if monitor_timeout and monitor_timeout > 0 else None)

    def on_reply(self, data: dict[str, Any]) -> None:
        if data.get("failure"):
            self._result = deserialize_remote_exception(data["failure"], self.allowed_modules)
        elif data.get("result") is not None:
            self._result = data["result"]
        elif not data.get("ending") and self._monitor is not None:
            LOG.debug("Call-monitor heartbeat for %s", self.description)
            self._monitor.reset(self._monitor_timeout)
        if data.get("ending"):
            self._finish()
            if isinstance(self._result, BaseException):
                self.deferred.errback(self._result)
            else:
                self.deferred.callback(self._result)

    def _timed_out(self, after: float) -> None:
        self._finish()
        self.deferred.errback(exception.MessagingTimeout(
            f"Timed out after {after:g}s waiting for a reply to {self.description} "
            f"(msg_id {self.msg_id})", self.msg_id))

    def _cancel(self) -> None:
        self._finish()

    def _finish(self) -> None:
        self.owner.forget(self.msg_id)
        for timer in (self._timer, self._monitor):
            if timer is not None and timer.active():
                timer.cancel()


class _ReplyQueue:
    """The process's reply queue: one consumer, replies matched to calls by ``_msg_id``."""

    def __init__(self, transport: ITransport, name: str):
        self.transport = transport
        self.name = name
        self._pending: dict[str, _PendingCall] = {}

    async def start(self, ttl_seconds: int) -> None:
        await self.transport.declare_queue(self.name, durable=False, auto_delete=False,
                                           expires_ms=ttl_seconds * 1000)
        await self.transport.consume(self.name, self._on_reply)

    def expect(self, msg_id: str, description: str, allowed_modules: tuple[str, ...],
               reactor, timeout: float | None, monitor_timeout: float | None) -> _PendingCall:
        pending = _PendingCall(self, msg_id, description, allowed_modules, reactor,
                               timeout, monitor_timeout)
        self._pending[msg_id] = pending
        return pending

    def forget(self, msg_id: str) -> None:
        self._pending.pop(msg_id, None)

    def _on_reply(self, incoming: IncomingMessage) -> None:
        try:
            data = deserialize_msg(incoming.body)
        except MalformedMessage as e:
            LOG.error("Reply queue %s: dropping malformed message %s: %s", self.name,
                      incoming.delivery_id, e)
            raise
        msg_id = data.pop("_msg_id", None)
        pending = self._pending.get(msg_id) if isinstance(msg_id, str) else None
        if pending is None:
            LOG.info("Reply queue %s: no call waits for msg_id %s (message %s); it may "
                     "have timed out", self.name, msg_id, incoming.delivery_id)
            return
        pending.on_reply(data)


# --- the client ---------------------------------------------------------------------------

class RPCClient:
    """Calls and casts to one target; ``prepare`` derives a client for another server,
    version, timeout or fanout.

    ``timeout`` None means ``[DEFAULT] rpc_response_timeout`` at the time of the call;
    ``conf`` None means the process's ``CONF``. ``allowed_remote_exmods`` adds modules
    whose exceptions are rebuilt as themselves (``nova_tx.exception`` always is).
    """

    def __init__(self, transport: ITransport, target: Target, version_cap: str | None = None,
                 timeout: float | None = None, *, conf: cfg.ConfigOpts | None = None,
                 serializer: ISerializer | None = None, reactor=None,
                 allowed_remote_exmods: Iterable[str] = (),
                 call_monitor_timeout: float | None = None):
        if not target.topic:
            raise exception.InvalidTarget(f"a client needs a topic: {target}")
        if version_cap is not None:
            _version_parts(version_cap)
        if reactor is None:
            from twisted.internet import reactor
        self.transport = transport
        self.target = target
        self.version_cap = version_cap
        self.timeout = timeout
        self.call_monitor_timeout = call_monitor_timeout
        self.conf = _conf(conf)
        self.serializer = serializer or RequestContextSerializer()
        self.reactor = reactor
        self.allowed_remote_exmods = tuple(dict.fromkeys(
            (*DEFAULT_ALLOWED_EXMODS, *allowed_remote_exmods)))

    def prepare(self, *, exchange: str | None = _UNSET, topic: str = _UNSET,
                namespace: str | None = _UNSET, version: str | None = _UNSET,
                server: str | None = _UNSET, fanout: bool = _UNSET,
                timeout: float | None = _UNSET, version_cap: str | None = _UNSET,
                call_monitor_timeout: float | None = _UNSET) -> RPCClient:
        changes = {name: value for name, value in (
            ("exchange", exchange), ("topic", topic), ("namespace", namespace),
            ("version", version), ("server", server), ("fanout", fanout))
            if value is not _UNSET}
        prepared = copy.copy(self)
        prepared.target = dataclasses.replace(self.target, **changes)
        if not prepared.target.topic:
            raise exception.InvalidTarget(f"a client needs a topic: {prepared.target}")
        if version is not _UNSET and version is not None:
            _version_parts(version)
        if timeout is not _UNSET:
            prepared.timeout = timeout
        if version_cap is not _UNSET:
            prepared.version_cap = version_cap
        if call_monitor_timeout is not _UNSET:
            prepared.call_monitor_timeout = call_monitor_timeout
        return prepared

    def can_send_version(self, version: str | None = _UNSET) -> bool:
        """Whether ``version`` (default: the target's) is within the version cap."""
        version = self.target.version if version is _UNSET else version
        return version_is_compatible(self.version_cap, version)

    def cast(self, ctxt: Any, method: str, **kwargs: Any) -> defer.Deferred:
        """Send and forget; fires once the bus has the message."""
        return defer.Deferred.fromCoroutine(self._cast(ctxt, method, kwargs))

    def call(self, ctxt: Any, method: str, **kwargs: Any) -> defer.Deferred:
        """Send and wait for the result, the remote exception, or ``MessagingTimeout``."""
        return defer.Deferred.fromCoroutine(self._call(ctxt, method, kwargs))

    async def _cast(self, ctxt: Any, method: str, kwargs: dict[str, Any]) -> None:
        message = self._make_message(ctxt, method, kwargs)
        LOG.debug("RPC cast %s to %s", method, self._destination())
        await self._send(ctxt, message)

    async def _call(self, ctxt: Any, method: str, kwargs: dict[str, Any]) -> Any:
        if self.target.fanout:
            raise exception.InvalidTarget(f"a call cannot be a fanout: {self.target}")
        message = self._make_message(ctxt, method, kwargs)
        reply = await self._reply_queue()
        timeout = self.timeout if self.timeout is not None else self.conf.rpc_response_timeout
        msg_id = uuid.uuid4().hex
        message.update(_msg_id=msg_id, _reply_q=reply.name, _timeout=self.call_monitor_timeout)
        description = f"{method} on {self._destination()}"
        pending = reply.expect(msg_id, description, self.allowed_remote_exmods, self.reactor,
                               timeout, self.call_monitor_timeout)
        LOG.debug("RPC call %s (msg_id %s)", description, msg_id)
        try:
            await self._send(ctxt, message,
                             expiration_ms=int(timeout * 1000) if timeout and timeout > 0
                             else None)
        except BaseException:
            pending.deferred.cancel()
            pending.deferred.addErrback(lambda _failure: None)  # the send error wins
            raise
        return self.serializer.deserialize_entity(ctxt, await pending.deferred)

    def _make_message(self, ctxt: Any, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "method": method,
            "args": {name: self.serializer.serialize_entity(ctxt, value)
                     for name, value in kwargs.items()},
        }
        if self.target.namespace is not None:
            message["namespace"] = self.target.namespace
        if self.target.version is not None:
            message["version"] = self.target.version
        if not version_is_compatible(self.version_cap, message.get("version")):
            raise exception.RPCVersionCapError(message.get("version"), self.version_cap)
        return message

    def _destination(self) -> str:
        if self.target.fanout:
            return f"{self.target.topic}_fanout"
        if self.target.server:
            return f"{self.target.topic}.{self.target.server}"
        return self.target.topic

    async def _reply_queue(self) -> _ReplyQueue:
        state = _state(self.transport)
        async with state.reply_lock:
            if state.reply is None:
                reply = _ReplyQueue(self.transport, "reply_" + uuid.uuid4().hex)
                await reply.start(self.conf.oslo_messaging_rabbit.rabbit_transient_queues_ttl)
                state.reply = reply
        return state.reply

    async def _send(self, ctxt: Any, message: dict[str, Any],
                    expiration_ms: int | None = None) -> None:
        message["_unique_id"] = uuid.uuid4().hex
        pack_context(message, self.serializer.serialize_context(ctxt))
        body = serialize_msg(message)
        rabbit = self.conf.oslo_messaging_rabbit
        if self.target.fanout:
            exchange, kind, durable, auto_delete = (
                f"{self.target.topic}_fanout", FANOUT, False, True)
            routing_key = self.target.topic
        else:
            exchange, kind, durable, auto_delete = (
                self.target.exchange or self.conf.control_exchange, TOPIC,
                rabbit.amqp_durable_queues, rabbit.amqp_auto_delete)
            routing_key = self._destination()
        for attempt in (1, 2):
            await _declare_exchange(self.transport, exchange, kind, durable, auto_delete)
            try:
                await self.transport.publish(exchange, routing_key, body,
                                             persistent=rabbit.amqp_durable_queues,
                                             expiration_ms=expiration_ms)
                return
            except exception.MessageDeliveryFailure:
                if attempt == 2:
                    raise
                # An auto-delete exchange (a fanout one, say) goes when its last queue
                # does; declare it again once before giving up.
                _state(self.transport).declared.discard(exchange)
