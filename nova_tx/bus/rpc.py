"""RPC over any ``ITransport``, in oslo.messaging's model and wire format.

The model (what a RabbitMQ operator sees):

- a topic exchange, ``[DEFAULT] control_exchange`` (``nova``), with one queue per topic
  (``conductor``, ``scheduler``, ``compute``) shared by the servers of that topic and
  one per server (``compute.<host>``), each bound by its own name;
- a fanout exchange ``<topic>_fanout`` per topic, and behind it one queue per server,
  ``<topic>_fanout_<uuid>``, that expires when unused;
- one reply queue per process, ``reply_<uuid>``, reached through AMQP's default
  exchange, created on the first call.

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

The code is in three modules, re-exported here: :mod:`~nova_tx.bus.rpc_wire` (the
message format, versions, targets, serializers), :mod:`~nova_tx.bus.rpc_client`
(``RPCClient`` and the reply queue) and :mod:`~nova_tx.bus.rpc_server` (``RPCServer``).
"""
from nova_tx.bus.rpc_client import DEFAULT_ALLOWED_EXMODS, RPCClient
from nova_tx.bus.rpc_server import RPCServer, expected_exceptions
from nova_tx.bus.rpc_wire import (
    CONTEXT_PREFIX,
    ENVELOPE_VERSION,
    MESSAGE_KEY,
    VERSION_KEY,
    ISerializer,
    MalformedMessage,
    RequestContextSerializer,
    Target,
    deserialize_msg,
    deserialize_remote_exception,
    pack_context,
    serialize_msg,
    serialize_remote_exception,
    to_primitive,
    unpack_context,
    version_cap_from_upgrade_level,
    version_is_compatible,
)

__all__ = [
    "CONTEXT_PREFIX", "DEFAULT_ALLOWED_EXMODS", "ENVELOPE_VERSION", "MESSAGE_KEY",
    "VERSION_KEY", "ISerializer", "MalformedMessage", "RPCClient", "RPCServer",
    "RequestContextSerializer", "Target", "deserialize_msg", "deserialize_remote_exception",
    "expected_exceptions", "pack_context", "serialize_msg", "serialize_remote_exception",
    "to_primitive", "unpack_context", "version_cap_from_upgrade_level",
    "version_is_compatible",
]
