"""What an RPC message is on the bus, apart from who sends it: oslo.messaging's format.

It exists because the format is the contract with every other process on the bus,
Nova's own included, and the client, the server and the notifier all write or read it:
one module says what a body holds, whoever writes it.

The wire format (what a message body holds):

- every body is oslo.messaging's 2.0 envelope, ``{"oslo.version": "2.0",
  "oslo.message": "<the message as a JSON string>"}``;
- a request is ``{"method", "args", ["namespace"], ["version"], "_unique_id",
  "_context_<key>"...}`` plus, for a call, ``"_msg_id"``, ``"_reply_q"`` and
  ``"_timeout"`` (the call-monitor timeout or null);
- a reply is ``{"result", "failure", "ending": true, "_msg_id", "_unique_id"}``, where
  ``failure`` is null or a JSON string ``{"class", "module", "message", "tb", "args",
  "kwargs"}``; a call-monitor heartbeat is a reply with both null and ``ending`` false.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import re
import sys
import traceback as traceback_module
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from zope.interface import Interface, implementer

from nova_tx.bus import exception
from nova_tx.context import RequestContext

#: The RPC layer logs under one name, whichever of its modules speaks.
LOG = logging.getLogger("nova_tx.bus.rpc")

ENVELOPE_VERSION = "2.0"
VERSION_KEY = "oslo.version"
MESSAGE_KEY = "oslo.message"
CONTEXT_PREFIX = "_context_"
#: oslo.messaging renames rebuilt exceptions with this suffix; it is dropped on resend.
_REMOTE_POSTFIX = "_Remote"
_BUILTIN_MODULES = ("builtins", "exceptions")
_VERSION_RE = re.compile(r"^\d+\.\d+(\.\d+)?$")


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
