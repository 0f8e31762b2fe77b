"""The AMQP protocol as nova-tx speaks it: txamqp's ``AMQClient`` and delegate, adjusted.

It exists because txamqp's protocol is close to what we need but not quite: it has no
publisher confirms or consumer-cancel notifications, its heartbeats re-arm two timers
per frame, and reading and writing message frames through it halved the RPC round
trips per second. These classes change only what a connection on the wire needs; what a connection
does with its channels is :mod:`nova_tx.bus.amqp_connection`'s, and when to connect
is :mod:`nova_tx.bus.amqp`'s.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.python.failure import Failure
from txamqp import spec as txspec
from txamqp.client import TwistedDelegate
from txamqp.protocol import AMQClient
from txamqp.queue import TimeoutDeferredQueue

from nova_tx import log
from nova_tx.bus import amqp_codec, amqp_frames

if TYPE_CHECKING:
    from nova_tx.bus.amqp_connection import _Connection

#: The AMQP transport logs under one name, whichever of its modules speaks.
LOG = log.getLogger("nova_tx.bus.amqp")

amqp_codec.install()

DEFAULT_FRAME_MAX = 131072


# --- the protocol --------------------------------------------------------------------


class _Client(AMQClient):
    """txamqp's protocol with oslo.messaging's heartbeat semantics, hooks for a lost
    connection and for a channel the broker closed, and the message frames read and
    written directly (:mod:`nova_tx.bus.amqp_frames`).

    Heartbeats: a heartbeat goes out when nothing else has for half an interval
    (``heartbeat_timeout_threshold / heartbeat_rate``), and the connection is given up
    after ``MAX_UNSEEN_HEARTBEAT`` intervals with nothing received. Both are checked by
    a timer against the time of the last frame, rather than by re-arming timers for
    every frame as txamqp does; the delegate negotiates the threshold with the broker.
    """

    def __init__(self, delegate: _Delegate, vhost: str, spec: txspec.Spec, *,
                 heartbeat_timeout: int, heartbeat_rate: int, clock):
        rate = max(1, heartbeat_rate)
        self.MAX_UNSEEN_HEARTBEAT = rate
        interval = heartbeat_timeout / rate if heartbeat_timeout > 0 else 0
        super().__init__(delegate, vhost, spec, heartbeat=interval, clock=clock)
        self.bus_connection: _Connection | None = None
        #: The broker's connection.close, when it was the broker that closed.
        self.close_reason: Any = None
        self._frames = amqp_frames.MessageFrames(self._delivered, self._confirmed)
        self._received = bytearray()
        self._last_received = self._last_sent = clock.seconds()

    # --- reading --------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        self._last_received = self.clock.seconds()
        buffer = self._received
        buffer += data
        pos, end = 0, len(buffer)
        try:
            while end - pos > amqp_frames.FRAME_HEADER_FORMAT.size:
                kind, channel, size = amqp_frames.FRAME_HEADER_FORMAT.unpack_from(buffer, pos)
                stop = pos + amqp_frames.FRAME_HEADER_FORMAT.size + size
                if stop >= end:
                    break
                if buffer[stop] != amqp_frames.FRAME_END:
                    raise amqp_frames.FrameError(
                        f"frame end {buffer[stop]:#x} instead of {amqp_frames.FRAME_END:#x}")
                start, pos = pos, stop + 1
                payload = bytes(buffer[start + amqp_frames.FRAME_HEADER_FORMAT.size:stop])
                if not self._frames.take(kind, channel, payload):
                    self.frame_received(self._unpack_frame(bytes(buffer[start:pos])))
                if self.transport is None or self.transport.disconnecting:
                    break
        except amqp_frames.FrameError as e:
            LOG.error("AMQP protocol error from the server: %s; dropping the connection", e)
            self.transport.abortConnection()
        finally:
            del buffer[:pos]

    def _delivered(self, channel: int, delivery: amqp_frames.Delivery) -> None:
        # Where txamqp's delegate puts a delivery: the consumer tag's queue.
        queue = self.queues.get(delivery.consumer_tag)
        if queue is None:
            queue = self.queues[delivery.consumer_tag] = TimeoutDeferredQueue(clock=self.clock)
        queue.put(delivery)

    def _confirmed(self, channel_id: int, tag: int, multiple: bool, refused: bool) -> None:
        channel = self.channels.get(channel_id)
        if channel is not None and self.bus_connection is not None:
            self.bus_connection.confirmed(channel, tag, multiple, refused)

    # --- writing --------------------------------------------------------------------

    def send_frame(self, frame) -> None:
        self._last_sent = self.clock.seconds()
        self.transport.write(self._pack_frame(frame))

    def write_frames(self, data: bytes) -> None:
        """Frames packed by :mod:`~nova_tx.bus.amqp_frames`, straight to the socket."""
        self._last_sent = self.clock.seconds()
        self.transport.write(data)

    # --- heartbeats -----------------------------------------------------------------

    def reschedule_send_heartbeat(self) -> None:
        # txamqp calls this once the connection is open: start the sender.
        if self.heartbeatInterval > 0 and not self.sendHB.running:
            self.sendHB.start(self.heartbeatInterval, now=False)

    def send_heartbeat(self) -> None:
        if self.clock.seconds() - self._last_sent >= self.heartbeatInterval / 2:
            super().send_heartbeat()

    def reschedule_check_heartbeat(self) -> None:
        # txamqp calls this for each frame; check_heartbeat looks at the time instead.
        pass

    def check_heartbeat(self) -> None:
        limit = self.heartbeatInterval * self.MAX_UNSEEN_HEARTBEAT
        silent = self.clock.seconds() - self._last_received
        if silent < limit:
            self.checkHB = self.clock.callLater(limit - silent, self.check_heartbeat)
            return
        LOG.warning("No frame from the AMQP server for %.0f seconds; dropping the "
                    "connection", silent)
        super().check_heartbeat()

    # --- the end --------------------------------------------------------------------

    def connectionLost(self, reason: Failure) -> None:
        super().connectionLost(reason)
        if self.bus_connection is not None:
            self.bus_connection.connection_lost(reason)

    def channel_failed(self, channel, reason: Failure) -> None:
        self._frames.channel_closed(channel.id)
        if self.bus_connection is not None:
            self.bus_connection.channel_failed(channel, reason.value)

    def discard(self) -> None:
        """Give up on a connection that never became usable, timers included."""
        if self.heartbeatInterval > 0:
            if self.sendHB.running:
                self.sendHB.stop()
            if self.checkHB.active():
                self.checkHB.cancel()
        if self.transport is not None and self.connected:
            self.transport.abortConnection()


class _Delegate(TwistedDelegate):
    """Answers the broker: login with our client properties, tune with the heartbeat
    threshold, and the consumer cancel txamqp's delegate lacks (confirms arrive through amqp_frames)."""

    def __init__(self, client_properties: dict, heartbeat: int):
        super().__init__()
        self.client_properties = client_properties
        self.heartbeat = heartbeat

    def connection_start(self, ch, msg) -> None:
        ch.connection_start_ok(client_properties=self.client_properties,
                               mechanism=self.client.mechanism,
                               response=self.client.response, locale=self.client.locale)

    def connection_tune(self, ch, msg) -> None:
        # 0 means no limit, but txamqp splits bodies by it: take RabbitMQ's default.
        frame_max = msg.frame_max or DEFAULT_FRAME_MAX
        self.client.MAX_LENGTH = frame_max
        self.client.channel_max = msg.channel_max
        ch.connection_tune_ok(channel_max=msg.channel_max, frame_max=frame_max,
                              heartbeat=self.heartbeat)
        self.client.started.fire()

    def connection_close(self, ch, msg) -> None:
        self.client.close_reason = msg
        super().connection_close(ch, msg)

    def basic_cancel(self, ch, msg) -> None:
        self._connection().consumer_cancelled(ch, msg.consumer_tag)

    def _connection(self) -> _Connection:
        # Acks and cancels only come after the handshake, once the connection exists.
        return self.client.bus_connection

