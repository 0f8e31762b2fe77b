# The AMQP protocol definition this transport loads, specs/amqp0-9-1.stripped.extended.xml,
# is RabbitMQ's extended AMQP 0-9-1 specification (0-9-1 plus confirm.select, basic.nack
# and the server-sent basic.ack, basic.nack and basic.cancel); txamqp ships no spec of its
# own. It is copied unchanged from Debian's amqp-specs package (version 1-0r0-3.1,
# /usr/share/amqp/specs/0-9-1-rabbit/amqp0-9-1.stripped.extended.xml).
# Copyright (c) 2009 AMQP Working Group; modifications (c) 2010-2013 VMware, Inc.
# License: BSD-3-clause, as stated in the file's own header and in the package's
# /usr/share/doc/amqp-specs/copyright.
"""txamqp, completed: the AMQP 0-9-1 spec nova-tx ships, and codec corrections.

txamqp ships no protocol definition; ``load_spec`` loads the one in ``specs/``.
"""
from __future__ import annotations

import decimal
import functools
import importlib.resources
import io
from collections.abc import Callable
from typing import Any

from txamqp import codec as txcodec
from txamqp import connection as txconnection
from txamqp import spec as txspec

SPEC_FILE = "amqp0-9-1.stripped.extended.xml"


@functools.cache
def load_spec() -> txspec.Spec:
    """The protocol definition shipped in ``nova_tx/bus/specs`` (parsed once)."""
    resource = importlib.resources.files("nova_tx.bus") / "specs" / SPEC_FILE
    with importlib.resources.as_file(resource) as path:
        return txspec.load(str(path))


# --- txamqp, completed -------------------------------------------------------------
#
# txamqp 0.8.2 encodes field tables with strings and unsigned 32-bit integers only and
# decodes four value types; RabbitMQ needs booleans and nested tables in the client
# properties (capabilities), and a message whose headers carry any other type (x-death
# from dead-lettering has arrays and timestamps) would make the frame undecodable: the
# connection would drop and the message come back forever. It also decodes a body frame
# as text when it happens to be UTF-8, which breaks a multi-frame body whose frames
# differ, and it sizes a string by its characters rather than its UTF-8 bytes. These are
# corrected here, once, in txamqp's own classes (Method and Header frames build their
# codecs internally, so there is no narrower place to put it).


def _encode_field_value(c: txcodec.Codec, value: Any) -> None:
    if isinstance(value, bool):
        c.write(b"t")
        c.encode_octet(int(value))
    elif isinstance(value, int):
        if -2 ** 31 <= value < 2 ** 31:
            c.write(b"I")
            c.pack("!i", value)
        else:
            c.write(b"l")
            c.pack("!q", value)
    elif isinstance(value, float):
        c.write(b"d")
        c.pack("!d", value)
    elif isinstance(value, str | bytes):
        c.write(b"S")
        _enc_str(c, "!L", value)
    elif isinstance(value, dict):
        c.write(b"F")
        encode_table(c, value)
    elif isinstance(value, list | tuple):
        c.write(b"A")
        buffer = io.BytesIO()
        inner = txcodec.Codec(buffer)
        for item in value:
            _encode_field_value(inner, item)
        inner.flush()
        c.encode_long(len(buffer.getvalue()))
        c.write(buffer.getvalue())
    elif value is None:
        c.write(b"V")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} in an AMQP field table")


def encode_table(c: txcodec.Codec, table: dict) -> None:
    buffer = io.BytesIO()
    inner = txcodec.Codec(buffer)
    for key, value in table.items():
        inner.encode_shortstr(key)
        _encode_field_value(inner, value)
    inner.flush()
    c.encode_long(len(buffer.getvalue()))
    c.write(buffer.getvalue())


def _enc_str(c: txcodec.Codec, fmt: str, value: str | bytes) -> None:
    if isinstance(value, str):
        value = value.encode()
    c.pack(fmt, len(value))
    c.write(value)


def _decode_decimal(c: txcodec.Codec) -> decimal.Decimal:
    scale = c.decode_octet()
    return decimal.Decimal(c.unpack("!I")).scaleb(-scale)


def _decode_array(c: txcodec.Codec) -> list:
    size = c.decode_long()
    start = c.nread
    items = []
    while c.nread - start < size:
        items.append(_decode_field_value(c))
    return items


def decode_table(c: txcodec.Codec) -> dict:
    size = c.decode_long()
    start = c.nread
    table = {}
    while c.nread - start < size:
        key = c.decode_shortstr()
        table[key] = _decode_field_value(c)
    return table


# RabbitMQ's field types (its errata to the 0-9-1 table, which is what brokers send).
_FIELD_DECODERS: dict[bytes, Callable[[txcodec.Codec], Any]] = {
    b"t": lambda c: c.decode_octet() != 0,
    b"b": lambda c: c.unpack("!b"),
    b"B": lambda c: c.unpack("!B"),
    b"s": lambda c: c.unpack("!h"),
    b"u": lambda c: c.unpack("!H"),
    b"I": lambda c: c.unpack("!i"),
    b"i": lambda c: c.unpack("!I"),
    b"l": lambda c: c.unpack("!q"),
    b"f": lambda c: c.unpack("!f"),
    b"d": lambda c: c.unpack("!d"),
    b"D": _decode_decimal,
    b"S": lambda c: c.decode_longstr(),
    b"x": lambda c: c.decode_longbytes(),
    b"A": _decode_array,
    b"T": lambda c: c.decode_timestamp(),
    b"F": decode_table,
    b"V": lambda c: None,
}


def _decode_field_value(c: txcodec.Codec) -> Any:
    kind = c.read(1)
    try:
        decoder = _FIELD_DECODERS[kind]
    except KeyError:
        raise ValueError(f"unknown AMQP field type {kind!r}") from None
    return decoder(c)


def _decode_body(spec: txspec.Spec, dec: txcodec.Codec) -> txconnection.Body:
    return txconnection.Body(dec.decode_longbytes())


def install() -> None:
    """Put the corrections into txamqp's classes (idempotent)."""
    txcodec.Codec.enc_str = _enc_str
    txcodec.Codec.encode_table = encode_table
    txcodec.Codec.decode_table = decode_table
    txconnection.Body.decode = staticmethod(_decode_body)
