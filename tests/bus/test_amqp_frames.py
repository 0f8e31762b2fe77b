"""The message frames read and written without txamqp, checked against txamqp's codec
(an independent implementation of the same frames) and through the protocol."""
from __future__ import annotations

from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial import unittest
from txamqp import connection as txconnection

from nova_tx.bus import amqp, amqp_frames
from nova_tx.bus.amqp import AMQPBus
from nova_tx.bus.url import TransportURL
from tests.bus.test_amqp import rabbit_conf

SPEC = amqp.load_spec()
BASIC = SPEC.classes.byname["basic"]


class Codec:
    """txamqp's own packing and unpacking, through a protocol instance."""

    def __init__(self):
        bus = AMQPBus(TransportURL.parse("rabbit://h/"), rabbit_conf(),
                      reactor=MemoryReactorClock())
        self.client = bus._make_client(bus._hosts[0])

    def pack(self, channel: int, payload) -> bytes:
        return self.client._pack_frame(txconnection.Frame(channel, payload))

    def method(self, channel: int, name: str, *args) -> bytes:
        return self.pack(channel, txconnection.Method(BASIC.methods.byname[name], *args))

    def content(self, channel: int, body: bytes, properties: dict, frame_max: int) -> bytes:
        header = txconnection.Header(BASIC, 0, len(body), **properties)
        frames = [self.pack(channel, header)]
        for start in range(0, len(body), frame_max - 8):
            frames.append(self.pack(channel, txconnection.Body(body[start:start + frame_max - 8])))
        return b"".join(frames)

    def unpack_all(self, data: bytes) -> list:
        frames = []
        while data:
            length = int.from_bytes(data[3:7], "big") + 8
            frames.append(self.client._unpack_frame(data[:length]))
            data = data[length:]
        return frames


PROPERTIES = {"content-type": "application/json", "delivery-mode": 2, "priority": 0,
              "expiration": "60000", "message-id": "m1", "timestamp": 1_700_000_000,
              "headers": {"x-death": [{"count": 1, "queue": "q"}], "flag": True}}


class WritingTests(unittest.SynchronousTestCase):

    def setUp(self):
        self.codec = Codec()

    def test_publish_is_what_txamqp_reads(self):
        body = b"x" * 300
        data = amqp_frames.publish(7, "nova", "compute.host1", body, PROPERTIES, 128)
        method, header, *bodies = self.codec.unpack_all(data)
        self.assertEqual((method.channel, method.payload.method.name), (7, "publish"))
        self.assertEqual(method.payload.args, (0, "nova", "compute.host1", False, False))
        self.assertEqual(header.payload.size, 300)
        self.assertEqual(header.payload.properties, PROPERTIES)
        self.assertEqual([len(b.payload.content) for b in bodies], [120, 120, 60])
        self.assertEqual(b"".join(b.payload.content for b in bodies), body)

    def test_an_empty_body_has_no_body_frame(self):
        frames = self.codec.unpack_all(amqp_frames.publish(1, "", "q", b"", {}, 4096))
        self.assertEqual(len(frames), 2)
        self.assertEqual(frames[1].payload.size, 0)

    def test_ack_and_reject(self):
        [ack] = self.codec.unpack_all(amqp_frames.ack(3, 2 ** 40))
        self.assertEqual((ack.payload.method.name, ack.payload.args), ("ack", (2 ** 40, False)))
        [reject] = self.codec.unpack_all(amqp_frames.reject(3, 9, requeue=False))
        self.assertEqual((reject.payload.method.name, reject.payload.args), ("reject", (9, False)))

    def test_names_and_properties_are_checked(self):
        self.assertRaises(ValueError, amqp_frames.shortstr, "n" * 256)
        self.assertRaises(ValueError, amqp_frames.encode_properties, {"content_type": "x"})


class ReadingTests(unittest.SynchronousTestCase):

    def setUp(self):
        self.codec = Codec()
        self.deliveries: list = []
        self.confirms: list = []
        self.frames = amqp_frames.MessageFrames(
            lambda channel, delivery: self.deliveries.append((channel, delivery)),
            lambda *confirm: self.confirms.append(confirm))

    def feed(self, data: bytes) -> list[bool]:
        taken = []
        while data:
            kind, channel, size = amqp_frames.FRAME_HEADER_FORMAT.unpack_from(data)
            payload = data[7:7 + size]
            taken.append(self.frames.take(kind, channel, payload))
            data = data[8 + size:]
        return taken

    def deliver(self, channel: int, body: bytes, frame_max: int = 4096, tag: int = 1) -> bytes:
        return (self.codec.method(channel, "deliver", "ctag", tag, True, "nova", "rk")
                + self.codec.content(channel, body, PROPERTIES, frame_max))

    def test_a_delivery_in_several_body_frames(self):
        body = bytes(range(256)) * 3
        self.assertEqual(self.feed(self.deliver(5, body, frame_max=100)), [True] * 11)  # 768 bytes in 92-byte frames: 9
        [(channel, delivery)] = self.deliveries
        self.assertEqual(channel, 5)
        self.assertEqual((delivery.consumer_tag, delivery.delivery_tag, delivery.redelivered,
                          delivery.exchange, delivery.routing_key),
                         ("ctag", 1, True, "nova", "rk"))
        self.assertEqual(delivery.content.body, body)
        self.assertEqual(delivery.content.properties, PROPERTIES)

    def test_deliveries_on_two_channels_interleave(self):
        first = self.codec.unpack_all(self.deliver(1, b"one" * 50, frame_max=64, tag=1))
        second = self.codec.unpack_all(self.deliver(2, b"two" * 50, frame_max=64, tag=2))
        packed = [self.codec.pack(f.channel, f.payload) for pair in zip(first, second, strict=True)
                  for f in pair]
        self.feed(b"".join(packed))
        self.assertEqual([(c, d.content.body) for c, d in self.deliveries],
                         [(1, b"one" * 50), (2, b"two" * 50)])

    def test_an_empty_body_is_complete_with_its_header(self):
        self.feed(self.deliver(1, b""))
        self.assertEqual(self.deliveries[0][1].content.body, b"")

    def test_publisher_confirms(self):
        taken = self.feed(self.codec.method(1, "ack", 12, True)
                          + self.codec.method(1, "nack", 13, False, True))
        self.assertEqual(taken, [True, True])
        self.assertEqual(self.confirms, [(1, 12, True, False), (1, 13, False, True)])

    def test_other_frames_are_left_to_txamqp(self):
        consume_ok = self.codec.method(1, "consume-ok", "ctag")
        header = self.codec.content(1, b"abc", {}, 4096)
        self.assertEqual(self.feed(consume_ok + header), [False, False, False])
        self.assertEqual(self.deliveries, [])

    def test_content_out_of_order_is_a_protocol_error(self):
        deliver = self.codec.method(1, "deliver", "ctag", 1, False, "", "rk")
        self.feed(deliver)
        self.assertRaises(amqp_frames.FrameError, self.feed, deliver)
        body = self.codec.pack(2, txconnection.Body(b"x"))
        self.feed(self.codec.method(2, "deliver", "ctag", 2, False, "", "rk"))
        self.assertRaises(amqp_frames.FrameError, self.feed, body)

    def test_a_closed_channel_drops_its_partial_delivery(self):
        self.feed(self.codec.method(1, "deliver", "ctag", 1, False, "", "rk"))
        self.frames.channel_closed(1)
        self.feed(self.deliver(1, b"after"))
        self.assertEqual([d.content.body for _c, d in self.deliveries], [b"after"])


class ProtocolTests(unittest.SynchronousTestCase):
    """The protocol splits the byte stream into frames wherever the reads fall."""

    def setUp(self):
        self.codec = Codec()
        self.clock = MemoryReactorClock()
        bus = AMQPBus(TransportURL.parse("rabbit://h/"), rabbit_conf(), reactor=self.clock)
        self.client = bus._make_client(bus._hosts[0])
        self.transport = StringTransport()
        self.client.makeConnection(self.transport)
        self.addCleanup(self.client.connectionLost, Failure(ConnectionDone()))

    def test_byte_by_byte_deliveries_reach_the_consumer_queue(self):
        stream = b"".join(
            self.codec.method(1, "deliver", "ctag", tag, False, "nova", "rk")
            + self.codec.content(1, b"body%d" % tag, {"content-type": "application/json"},
                                 4096)
            for tag in (1, 2))
        for i in range(len(stream)):
            self.client.dataReceived(stream[i:i + 1])
        queue = self.client.queues["ctag"]
        got = []
        for _ in range(2):
            queue.get().addCallback(got.append)
        self.assertEqual([(d.delivery_tag, d.content.body) for d in got],
                         [(1, b"body1"), (2, b"body2")])
        self.assertEqual(self.client._received, bytearray())

    def test_a_bad_frame_end_drops_the_connection(self):
        frame = bytearray(self.codec.method(1, "ack", 1, False))
        frame[-1] = 0
        self.client.dataReceived(bytes(frame))
        self.assertTrue(self.transport.disconnecting)

    def test_write_frames_goes_to_the_socket(self):
        self.transport.clear()
        self.client.write_frames(amqp_frames.ack(1, 5))
        [ack] = self.codec.unpack_all(self.transport.value())
        self.assertEqual(ack.payload.args, (5, False))

    def start_heartbeats(self, timeout: int = 60) -> None:
        tune = txconnection.Method(SPEC.classes.byname["connection"].methods.byname["tune"],
                                   2047, 131072, timeout)
        self.client.dataReceived(self.codec.pack(0, tune))
        self.transport.clear()

    def heartbeats_sent(self) -> int:
        frames = self.codec.unpack_all(self.transport.value())
        self.transport.clear()
        return sum(isinstance(f.payload, txconnection.Heartbeat) for f in frames)

    def test_traffic_stands_in_for_heartbeats(self):
        self.start_heartbeats()  # threshold 60, rate 2: an interval of 30 s
        self.clock.advance(20)
        self.client.write_frames(amqp_frames.ack(1, 1))
        self.transport.clear()
        self.clock.advance(10)  # a tick 10 s after traffic: nothing needed
        self.assertEqual(self.heartbeats_sent(), 0)
        self.clock.advance(30)  # 40 s of silence from us: a heartbeat
        self.assertEqual(self.heartbeats_sent(), 1)

    def test_frames_from_the_broker_keep_the_connection(self):
        self.start_heartbeats()
        for _ in range(6):
            self.clock.advance(50)
            self.client.dataReceived(self.codec.method(1, "ack", 1, False))
        self.assertFalse(self.transport.disconnecting)
        self.clock.advance(60)  # the threshold with nothing from the broker
        self.assertTrue(self.transport.disconnecting)
