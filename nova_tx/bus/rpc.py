"""RPC over any ``ITransport``, in oslo.messaging's model and wire format.

The model (what a RabbitMQ operator sees):

- a topic exchange, ``[DEFAULT] control_exchange`` (``nova``), with one queue per topic
  (``conductor``, ``scheduler``, ``compute``) shared by the servers of that topic and
  one per server (``compute.<host>``), each bound by its own name;
- a fanout exchange ``<topic>_fanout`` per topic, and behind it one queue per server,
  ``<topic>_fanout_<uuid>``, that expires when unused;
- one reply queue per process, ``reply_<uuid>``, reached through AMQP's default
  exchange, created on the first call.

The wire format (what a message body holds):

- every body is oslo.messaging's 2.0 envelope, ``{"oslo.version": "2.0",
  "oslo.message": "<the message as a JSON string>"}``;
- a request is ``{"method", "args", ["namespace"], ["version"], "_unique_id",
  "_context_<key>"...}`` plus, for a call, ``"_msg_id"``, ``"_reply_q"`` and
  ``"_timeout"`` (the call-monitor timeout or null);
- a reply is ``{"result", "failure", "ending": true, "_msg_id", "_unique_id"}``, where
  ``failure`` is null or a JSON string ``{"class", "module", "message", "tb", "args",
  "kwargs"}``; a call-monitor heartbeat is a reply with both null and ``ending`` false.

Where we differ from oslo.messaging, on purpose:

- An exception rebuilt from a reply is an instance of its own class (not of a generated
  ``<Class>_Remote`` subclass); the remote traceback is in its ``remote_traceback``
  attribute instead of its message.
- A server acknowledges a request once its method has started (oslo acknowledges just
  before), so that ``executor_thread_pool_size`` bounds the methods running at once and
  the requests beyond it wait on the bus.
- A malformed request (not JSON, no method, bad version string, unreadable context) or
  one no endpoint can serve is logged with its delivery id and rejected; a caller still
  gets the error when the request said where to reply.
"""
from __future__ import annotations

import collections
import copy
import dataclasses
import datetime
import inspect
import json
import logging
import re
import sys
import traceback as traceback_module
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from oslo_config import cfg
from twisted.application import service
from twisted.internet import defer, task
from twisted.python.failure import Failure
from zope.interface import Interface, implementer

from nova_tx.bus import exception
from nova_tx.bus.interfaces import (
    DEFAULT_EXCHANGE,
    FANOUT,
    TOPIC,
    Binding,
    IncomingMessage,
    ITransport,
)
from nova_tx.context import RequestContext

LOG = logging.getLogger(__name__)

ENVELOPE_VERSION = "2.0"
VERSION_KEY = "oslo.version"
MESSAGE_KEY = "oslo.message"
CONTEXT_PREFIX = "_context_"
#: Modules whose exceptions cross the bus as themselves, besides Python's builtins.
DEFAULT_ALLOWED_EXMODS = ("nova_tx.exception", "nova_tx.bus.exception")
#: oslo.messaging renames rebuilt exceptions with this suffix; it is dropped on resend.
_REMOTE_POSTFIX = "_Remote"
_BUILTIN_MODULES = ("builtins", "exceptions")
_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?$")
#: How many request ids a server remembers to drop a redelivered duplicate (as oslo).
_DUPLICATE_WINDOW = 16

_UNSET: Any = object()


# --- versions -------------------------------------------------------------------------

def _version_parts(version: str) -> tuple[int, int, int]:
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise ValueError(f"not a version: {version!r}")
    parts = [int(p) for p in version.split(".")]
    return parts[0], parts[1], parts[2] if len(parts) > 2 else 0


def version_is_compatible(implemented: str | None, requested: str | None) -> bool:
    """oslo.messaging's rule: same major, and a minor (then revision) no higher than the
    implemented one. ``implemented`` None accepts anything; ``requested`` None nothing."""
    if implemented is None:
        return True
    if requested is None:
        return False
    have = _version_parts(implemented)
    want = _version_parts(requested)
    return want[0] == have[0] and want[1:] <= have[1:]


def version_cap_from_upgrade_level(service_name: str, level: str | None,
                                   aliases: Mapping[str, str],
                                   auto: str | None = None) -> str | None:
    """The version cap an ``[upgrade_levels]`` value means for one service's RPC API.

    ``aliases`` maps release names to that API's versions (Nova's ``VERSION_ALIASES``);
    ``auto`` is the cap the caller worked out from the running services' versions, used
    when the level is ``auto`` (None: no cap).
    """
    if not level:
        return None
    if level == "auto":
        return auto
    if level.lower() in aliases:
        return aliases[level.lower()]
    if _VERSION_RE.match(level):
        return level
    raise exception.InvalidUpgradeLevel(service_name, level)


# --- targets ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Target:
    """Where a message goes (client) or what a server or endpoint is (server), with
    oslo.messaging's fields and meaning."""

    exchange: str | None = None
    topic: str | None = None
    namespace: str | None = None
    version: str | None = None
    server: str | None = None
    fanout: bool = False
    #: Further namespaces an endpoint serves besides ``namespace``.
    accepted_namespaces: tuple[str | None, ...] = ()

    @property
    def namespaces(self) -> tuple[str | None, ...]:
        return (self.namespace, *self.accepted_namespaces)


# --- JSON and the envelope ----------------------------------------------------------------

def to_primitive(value: Any) -> Any:
    """``json.dumps`` fallback for the few non-JSON types that travel as text in Nova's
    messages (oslo.serialization's choices); anything else is the caller's bug."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be sent on the bus: {value!r}")


def _lenient_primitive(value: Any) -> Any:
    try:
        return to_primitive(value)
    except TypeError:
        return str(value)


def serialize_msg(message: Mapping[str, Any]) -> bytes:
    """The body of a message: oslo.messaging's 2.0 envelope around ``message``."""
    inner = json.dumps(message, default=to_primitive)
    return json.dumps({VERSION_KEY: ENVELOPE_VERSION, MESSAGE_KEY: inner}).encode("utf-8")


class MalformedMessage(exception.MessagingException):
    """A body that is not a message we can read."""


def deserialize_msg(body: bytes) -> dict[str, Any]:
    """The message in a body; an un-enveloped dict (oslo's 1.0 format) is accepted."""
    try:
        outer = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise MalformedMessage(f"not JSON ({e})") from None
    if not isinstance(outer, dict):
        raise MalformedMessage(f"a JSON {type(outer).__name__}, not an object")
    if VERSION_KEY not in outer or MESSAGE_KEY not in outer:
        return outer
    envelope = outer[VERSION_KEY]
    try:
        compatible = version_is_compatible(ENVELOPE_VERSION, envelope)
    except ValueError:
        compatible = False
    if not compatible:
        raise MalformedMessage(f"envelope version {envelope!r} is not supported")
    if not isinstance(outer[MESSAGE_KEY], str):
        raise MalformedMessage(f"{MESSAGE_KEY} is not a JSON string")
    try:
        message = json.loads(outer[MESSAGE_KEY])
    except ValueError as e:
        raise MalformedMessage(f"{MESSAGE_KEY} is not JSON ({e})") from None
    if not isinstance(message, dict):
        raise MalformedMessage(f"{MESSAGE_KEY} holds a {type(message).__name__}, not an "
                               "object")
    return message


def pack_context(message: dict[str, Any], context: Mapping[str, Any]) -> None:
    message.update((CONTEXT_PREFIX + key, value) for key, value in context.items())


def unpack_context(message: dict[str, Any]) -> dict[str, Any]:
    """Remove the ``_context_`` keys from ``message`` and return them unprefixed."""
    return {key[len(CONTEXT_PREFIX):]: message.pop(key)
            for key in list(message) if key.startswith(CONTEXT_PREFIX)}


# --- exceptions across the bus ------------------------------------------------------------

def serialize_remote_exception(error: BaseException,
                               tb_lines: Sequence[str] | None = None) -> str:
    """The ``failure`` of a reply, as oslo.messaging writes it."""
    if tb_lines is None:
        tb_lines = traceback_module.format_exception(type(error), error, error.__traceback__)
    cls_name = type(error).__name__
    module = type(error).__module__
    if cls_name.endswith(_REMOTE_POSTFIX) and module.endswith(_REMOTE_POSTFIX):
        cls_name = cls_name[:-len(_REMOTE_POSTFIX)]
        module = module[:-len(_REMOTE_POSTFIX)]
    kwargs = getattr(error, "kwargs", None)
    data = {
        "class": cls_name,
        "module": module,
        "message": str(error),
        "tb": list(tb_lines),
        "args": list(error.args),
        "kwargs": kwargs if isinstance(kwargs, dict) else {},
    }
    return json.dumps(data, default=_lenient_primitive)


def deserialize_remote_exception(data: str, allowed_modules: Iterable[str]) -> Exception:
    """The exception a ``failure`` describes: of its own class when its module is
    allowed (or builtins) and the class rebuilds from its args, else ``RemoteError``."""
    try:
        failure = json.loads(data)
        if not isinstance(failure, dict):
            raise ValueError("not an object")
    except (TypeError, ValueError) as e:
        return exception.RemoteError("MalformedFailure", f"unreadable failure ({e})")
    name = str(failure.get("class"))
    module = str(failure.get("module"))
    message = str(failure.get("message", ""))
    trace = failure.get("tb") or []
    if module in _BUILTIN_MODULES:
        module = "builtins"
    elif module not in allowed_modules:
        return exception.RemoteError(name, message, trace)
    try:
        __import__(module)
        cls = getattr(sys.modules[module], name)
        if not (isinstance(cls, type) and issubclass(cls, Exception)):
            raise TypeError(f"{module}.{name} is not an exception class")
        error = cls(*failure.get("args", []), **failure.get("kwargs", {}))
    except (AttributeError, TypeError, ImportError, ValueError) as e:
        LOG.warning("Could not rebuild remote exception %s.%s (%s); raising RemoteError",
                    module, name, e)
        return exception.RemoteError(name, message, trace)
    error.remote_traceback = trace
    return error


# --- serializers --------------------------------------------------------------------------

class ISerializer(Interface):
    """Turns arguments, results and contexts into JSON-able values and back; Nova's
    object serializer plugs in here."""

    def serialize_entity(ctxt: Any, entity: Any) -> Any:
        """An argument or result as JSON-able values."""

    def deserialize_entity(ctxt: Any, entity: Any) -> Any:
        """An argument or result back from its JSON-able form."""

    def serialize_context(ctxt: Any) -> dict[str, Any]:
        """The context as the dict whose keys travel as ``_context_<key>``."""

    def deserialize_context(ctxt: dict[str, Any]) -> Any:
        """The context an endpoint receives, from that dict."""


@implementer(ISerializer)
class RequestContextSerializer:
    """Contexts as ``RequestContext`` (a plain dict is sent as is); entities through
    ``base`` when given, unchanged otherwise."""

    def __init__(self, base: ISerializer | None = None):
        self._base = base

    def serialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity if self._base is None else self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt: Any, entity: Any) -> Any:
        return entity if self._base is None else self._base.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt: Any) -> dict[str, Any]:
        if ctxt is None:
            return {}
        if isinstance(ctxt, Mapping):
            return dict(ctxt)
        return ctxt.to_dict()

    def deserialize_context(self, ctxt: dict[str, Any]) -> RequestContext:
        return RequestContext.from_dict(ctxt)


def expected_exceptions(*classes: type[BaseException]) -> Callable:
    """Mark an endpoint method whose listed exceptions are part of its contract: they go
    back to the caller as usual but are logged at debug level, not as errors (Nova's
    ``messaging.expected_exceptions``)."""

    def mark(func: Callable) -> Callable:
        func._rpc_expected_exceptions = classes
        return func

    return mark


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
