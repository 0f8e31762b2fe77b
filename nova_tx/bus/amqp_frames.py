"""The frames that carry messages, packed and unpacked directly with ``struct``.

txamqp turns each frame into objects and passes it through several Deferred queues and
``inlineCallbacks`` generators before anything sees it: on this machine that was about
40 % of the CPU time of an RPC round trip on each side, for the eight or so frames a
call and its reply cost. The frames that carry messages have a fixed shape, so
:class:`MessageFrames` reads them in one pass:

- ``basic.deliver`` with its content header and body frames, handed over as a
  :class:`Delivery` in the consumer's delivery queue, where txamqp would put its own
  message;
- ``basic.ack`` / ``basic.nack`` that the broker sends as publisher confirms;

and :func:`publish` / :func:`ack` / :func:`reject` write ``basic.publish`` with its
content and a consumer's ``basic.ack`` / ``basic.reject`` as bytes ready for the socket.
Every other frame (the handshake, declarations, ``basic.consume``, cancels, closes) still
goes through txamqp, which is fine: they are rare.

Frame layout (AMQP 0-9-1 §4.2.3): type (octet), channel (short), payload size (long),
payload, ``0xCE``. The property list of the basic class (§4.2.6.1, with RabbitMQ's
field-table errata for ``headers``) is in :data:`PROPERTIES`.
"""
from __future__ import annotations

import dataclasses
import io
import struct
from collections.abc import Callable
from typing import Any

from txamqp import codec as txcodec

from nova_tx.bus import amqp_codec

FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT = 1, 2, 3, 8
FRAME_END = 0xCE
#: type, channel, payload size.
FRAME_HEADER_FORMAT = struct.Struct("!BHI")
FRAME_OVERHEAD = FRAME_HEADER_FORMAT.size + 1

BASIC = 60
PUBLISH, DELIVER, ACK, REJECT, NACK = 40, 60, 80, 90, 120

#: The basic class's properties in flag order (bit 15 first), with their wire types.
PROPERTIES = (
    ("content-type", "shortstr"), ("content-encoding", "shortstr"), ("headers", "table"),
    ("delivery-mode", "octet"), ("priority", "octet"), ("correlation-id", "shortstr"),
    ("reply-to", "shortstr"), ("expiration", "shortstr"), ("message-id", "shortstr"),
    ("timestamp", "longlong"), ("type", "shortstr"), ("user-id", "shortstr"),
    ("app-id", "shortstr"), ("cluster-id", "shortstr"),
)
_FLAG = {name: 1 << (15 - index) for index, (name, _kind) in enumerate(PROPERTIES)}

_METHOD_ID = struct.Struct("!HH")
_DELIVERY_TAG = struct.Struct("!QB")
_CONTENT_HEADER = struct.Struct("!HHQH")
_OCTET = struct.Struct("!B")
_LONGLONG = struct.Struct("!Q")


class FrameError(Exception):
    """A frame that does not follow the protocol: the connection cannot go on."""


# --- writing ------------------------------------------------------------------------------


def frame(kind: int, channel: int, payload: bytes) -> bytes:
    return FRAME_HEADER_FORMAT.pack(kind, channel, len(payload)) + payload + b"\xce"


def shortstr(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    if len(data) > 255:
        raise ValueError(f"{value!r} is longer than the 255 bytes of an AMQP short string")
    return _OCTET.pack(len(data)) + data


def encode_properties(properties: dict[str, Any]) -> bytes:
    flags = 0
    values = []
    for name, kind in PROPERTIES:
        value = properties.get(name)
        if value is None:
            continue
        flags |= _FLAG[name]
        if kind == "shortstr":
            values.append(shortstr(value))
        elif kind == "octet":
            values.append(_OCTET.pack(value))
        elif kind == "longlong":
            values.append(_LONGLONG.pack(value))
        else:
            values.append(_table(value))
    unknown = set(properties) - set(_FLAG)
    if unknown:
        raise ValueError(f"not basic-class properties: {', '.join(sorted(unknown))}")
    return struct.pack("!H", flags) + b"".join(values)


def _table(table: dict) -> bytes:
    buffer = io.BytesIO()
    codec = txcodec.Codec(buffer)
    amqp_codec.encode_table(codec, table)
    codec.flush()
    return buffer.getvalue()


def publish(channel: int, exchange: str, routing_key: str, body: bytes,
            properties: dict[str, Any], frame_max: int) -> bytes:
    """``basic.publish`` (not mandatory, not immediate), its content header and its body,
    split into frames of at most ``frame_max`` bytes."""
    method = (_METHOD_ID.pack(BASIC, PUBLISH) + b"\x00\x00" + shortstr(exchange)
              + shortstr(routing_key) + b"\x00")
    header = (_CONTENT_HEADER.pack(BASIC, 0, len(body), 0)[:-2]
              + encode_properties(properties))
    parts = [frame(FRAME_METHOD, channel, method), frame(FRAME_HEADER, channel, header)]
    chunk = frame_max - FRAME_OVERHEAD
    for start in range(0, len(body), chunk):
        parts.append(frame(FRAME_BODY, channel, body[start:start + chunk]))
    return b"".join(parts)


def ack(channel: int, delivery_tag: int, multiple: bool = False) -> bytes:
    return frame(FRAME_METHOD, channel, _METHOD_ID.pack(BASIC, ACK)
                 + _DELIVERY_TAG.pack(delivery_tag, int(multiple)))


def reject(channel: int, delivery_tag: int, requeue: bool) -> bytes:
    return frame(FRAME_METHOD, channel, _METHOD_ID.pack(BASIC, REJECT)
                 + _DELIVERY_TAG.pack(delivery_tag, int(requeue)))


# --- reading ------------------------------------------------------------------------------


class _Reader:
    """A cursor over one frame's payload."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def octet(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def shortstr(self) -> str:
        size = self.data[self.pos]
        start = self.pos + 1
        self.pos = start + size
        return self.data[start:self.pos].decode()

    def longlong(self) -> int:
        value, = _LONGLONG.unpack_from(self.data, self.pos)
        self.pos += 8
        return value

    def table(self) -> dict:
        codec = txcodec.Codec(io.BytesIO(self.data[self.pos:]))
        value = amqp_codec.decode_table(codec)
        self.pos += codec.nread
        return value


def decode_properties(data: bytes, pos: int) -> dict[str, Any]:
    flags, = struct.unpack_from("!H", data, pos)
    if flags & 1:
        raise FrameError("content header with continued property flags")
    reader = _Reader(data, pos + 2)
    properties: dict[str, Any] = {}
    for name, kind in PROPERTIES:
        if flags & _FLAG[name]:
            properties[name] = getattr(reader, kind)()
    return properties


@dataclasses.dataclass
class Content:
    """What txamqp's ``Content`` offers a consumer: the body and the properties."""

    body: bytes
    properties: dict[str, Any]


@dataclasses.dataclass
class Delivery:
    """One ``basic.deliver`` and its content, shaped like txamqp's message."""

    consumer_tag: str
    delivery_tag: int
    redelivered: bool
    exchange: str
    routing_key: str
    content: Content | None = None
    body_size: int = 0
    chunks: list[bytes] = dataclasses.field(default_factory=list)
    received: int = 0


class MessageFrames:
    """Reads the message-carrying frames of one connection as they arrive.

    ``deliver(delivery)`` gets each complete delivery; ``confirm(channel, tag, multiple,
    refused)`` each publisher confirm. :meth:`take` answers whether it consumed a frame;
    the caller gives the others to txamqp.
    """

    def __init__(self, deliver: Callable[[int, Delivery], None],
                 confirm: Callable[[int, int, bool, bool], None]):
        self._deliver = deliver
        self._confirm = confirm
        #: Deliveries whose content is still arriving, by channel.
        self._assembling: dict[int, Delivery] = {}

    def take(self, kind: int, channel: int, payload: bytes) -> bool:
        if kind == FRAME_METHOD:
            return self._method(channel, payload)
        delivery = self._assembling.get(channel)
        if delivery is None:
            return False
        if kind == FRAME_HEADER:
            self._header(channel, delivery, payload)
            return True
        if kind == FRAME_BODY:
            self._body(channel, delivery, payload)
            return True
        return False

    def _method(self, channel: int, payload: bytes) -> bool:
        class_id, method_id = _METHOD_ID.unpack_from(payload)
        if class_id != BASIC:
            return False
        if method_id == DELIVER:
            if channel in self._assembling:
                raise FrameError(f"basic.deliver on channel {channel} before the content "
                                 "of the previous one")
            reader = _Reader(payload, 4)
            consumer_tag = reader.shortstr()
            delivery_tag = reader.longlong()
            redelivered = bool(reader.octet() & 1)
            self._assembling[channel] = Delivery(consumer_tag, delivery_tag, redelivered,
                                                 reader.shortstr(), reader.shortstr())
            return True
        if method_id in (ACK, NACK):
            tag, bits = _DELIVERY_TAG.unpack_from(payload, 4)
            self._confirm(channel, tag, bool(bits & 1), method_id == NACK)
            return True
        return False

    def _header(self, channel: int, delivery: Delivery, payload: bytes) -> None:
        if delivery.content is not None:
            raise FrameError(f"a second content header on channel {channel}")
        _class_id, _weight, size, _flags = _CONTENT_HEADER.unpack_from(payload)
        delivery.body_size = size
        delivery.content = Content(b"", decode_properties(payload, 12))
        if size == 0:
            self._complete(channel, delivery)

    def _body(self, channel: int, delivery: Delivery, payload: bytes) -> None:
        if delivery.content is None:
            raise FrameError(f"a body frame before the content header on channel {channel}")
        delivery.chunks.append(payload)
        delivery.received += len(payload)
        if delivery.received > delivery.body_size:
            raise FrameError(f"more body than the {delivery.body_size} bytes announced on "
                             f"channel {channel}")
        if delivery.received == delivery.body_size:
            self._complete(channel, delivery)

    def _complete(self, channel: int, delivery: Delivery) -> None:
        del self._assembling[channel]
        chunks, delivery.chunks = delivery.chunks, []
        delivery.content.body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._deliver(channel, delivery)

    def channel_closed(self, channel: int) -> None:
        """A delivery cut short by its channel closing is the broker's to deliver again."""
        self._assembling.pop(channel, None)
