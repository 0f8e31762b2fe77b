"""``transport_url`` parsing and the choice of transport it makes."""
from __future__ import annotations

import sys
import types
from unittest import mock

from twisted.trial import unittest

from nova_tx.bus import memory, url
from nova_tx.bus.exception import InvalidTransportURL
from nova_tx.bus.url import TransportHost, TransportURL
from tests.bus import make_conf


class ParseTest(unittest.SynchronousTestCase):
    def test_one_host_with_everything(self):
        parsed = TransportURL.parse("rabbit://nova:s3cret@rabbit1:5673/openstack?"
                                    "heartbeat_timeout_threshold=30")
        self.assertEqual("rabbit", parsed.transport)
        self.assertEqual((TransportHost("rabbit1", 5673, "nova", "s3cret"),), parsed.hosts)
        self.assertEqual("openstack", parsed.virtual_host)
        self.assertEqual({"heartbeat_timeout_threshold": "30"}, dict(parsed.query))
        self.assertTrue(parsed.is_bus)

    def test_several_hosts_each_with_credentials(self):
        parsed = TransportURL.parse("rabbit://u1:p1@h1:5672,u2:p2@h2:5673,u3:p3@h3/")
        self.assertEqual([("h1", 5672, "u1", "p1"), ("h2", 5673, "u2", "p2"),
                          ("h3", None, "u3", "p3")],
                         [(h.hostname, h.port, h.username, h.password) for h in parsed.hosts])

    def test_mixed_credentials_parse_with_a_warning(self):
        with self.assertLogs("nova_tx.bus.url", "WARNING") as logs:
            parsed = TransportURL.parse("rabbit://u:pw@h1,h2/")
        self.assertEqual([("u", "pw"), (None, None)],
                         [(h.username, h.password) for h in parsed.hosts])
        self.assertIn("h2", logs.output[0])
        self.assertNotIn("pw", logs.output[0])

    def test_virtual_host_defaults_to_slash_and_is_url_decoded(self):
        for text, vhost in [("rabbit://h", "/"), ("rabbit://h/", "/"),
                            ("rabbit://h/%2F", "/"), ("rabbit://h/nova%2Fprod", "nova/prod"),
                            ("rabbit:///cell1", "cell1"), ("memory://", "/")]:
            self.assertEqual(vhost, TransportURL.parse(text).virtual_host, text)

    def test_credentials_are_url_decoded(self):
        host = TransportURL.parse("rabbit://us%3Aer:p%40ss%2Fw@h/").hosts[0]
        self.assertEqual(("us:er", "p@ss/w"), (host.username, host.password))

    def test_ipv6_hosts(self):
        parsed = TransportURL.parse("rabbit://u:p@[fd00::1]:5672,v:q@[fd00::2]/")
        self.assertEqual([("fd00::1", 5672), ("fd00::2", None)],
                         [(h.hostname, h.port) for h in parsed.hosts])
        self.assertEqual("rabbit://u:p@[fd00::1]:5672,v:q@[fd00::2]/", parsed.geturl())

    def test_nova_default_has_no_hosts(self):
        parsed = TransportURL.parse("rabbit://")
        self.assertEqual((), parsed.hosts)
        self.assertEqual("/", parsed.virtual_host)

    def test_query_values_repeated_are_joined(self):
        parsed = TransportURL.parse("rabbit://h/?a=1&a=2&b=x")
        self.assertEqual({"a": "1,2", "b": "x"}, dict(parsed.query))

    def test_none_is_not_a_bus(self):
        self.assertFalse(TransportURL.parse("none:///").is_bus)

    def test_str_masks_passwords_and_geturl_does_not(self):
        parsed = TransportURL.parse("rabbit://a:pw1@h1:5672,b:pw2@h2:5672/v")
        self.assertEqual("rabbit://a:***@h1:5672,b:***@h2:5672/v", str(parsed))
        self.assertNotIn("pw", repr(parsed))
        self.assertEqual("rabbit://a:pw1@h1:5672,b:pw2@h2:5672/v", parsed.geturl())

    def test_geturl_round_trips(self):
        for text in ["rabbit://u:p%40x@h1:1,v:q@h2:2/vh?x=1", "memory:///", "none:///"]:
            self.assertEqual(TransportURL.parse(text), TransportURL.parse(
                TransportURL.parse(text).geturl()))


class BadURLTest(unittest.SynchronousTestCase):
    def assertInvalid(self, text, *fragments: str) -> str:
        error = self.assertRaises(InvalidTransportURL, TransportURL.parse, text)
        message = str(error)
        self.assertNotIn("\n", message)
        self.assertNotIn("s3cret", message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def test_empty(self):
        self.assertInvalid("", "empty")
        self.assertInvalid("   ", "empty")

    def test_no_scheme(self):
        self.assertInvalid("//u:s3cret@host:5672/", "no scheme")

    def test_port_not_a_number(self):
        self.assertInvalid("rabbit://u:s3cret@host:abc/", "port 'abc'", "host",
                           "u:***@host")

    def test_port_out_of_range(self):
        self.assertInvalid("rabbit://host:70000/", "70000")
        self.assertInvalid("rabbit://host:0/", "port '0'")

    def test_host_without_name(self):
        self.assertInvalid("rabbit://u:s3cret@:5672/", "no name")

    def test_unbalanced_ipv6(self):
        self.assertInvalid("rabbit://u:s3cret@[fd00::1:5672/")

    def test_text_after_ipv6_address(self):
        self.assertInvalid("rabbit://[fd00::1]x/", "unexpected")


class OptionOverrideTest(unittest.SynchronousTestCase):
    def test_query_overrides_option_with_its_type(self):
        conf = make_conf()
        parsed = TransportURL.parse("rabbit://h/?heartbeat_timeout_threshold=15")
        self.assertEqual(15, parsed.option(conf, "oslo_messaging_rabbit",
                                           "heartbeat_timeout_threshold"))
        self.assertEqual(3, parsed.option(conf, "oslo_messaging_rabbit", "heartbeat_rate"))

    def test_check_query_rejects_unknown_and_bad_values(self):
        conf = make_conf()
        unknown = TransportURL.parse("rabbit://h/?no_such_option=1")
        e = self.assertRaises(InvalidTransportURL, unknown.check_query, conf,
                              "oslo_messaging_rabbit")
        self.assertIn("no_such_option", str(e))
        bad = TransportURL.parse("rabbit://h/?heartbeat_rate=often")
        e = self.assertRaises(InvalidTransportURL, bad.check_query, conf,
                              "oslo_messaging_rabbit")
        self.assertIn("heartbeat_rate", str(e))
        TransportURL.parse("rabbit://h/?heartbeat_rate=2").check_query(
            conf, "oslo_messaging_rabbit")


class GetTransportTest(unittest.SynchronousTestCase):
    def test_memory_uses_the_broker_of_its_virtual_host(self):
        conf = make_conf(transport_url="memory://")
        first = url.get_transport(conf)
        second = url.get_transport(conf, "memory:///")
        other = url.get_transport(conf, "memory:///cell1")
        self.assertIsInstance(first, memory.MemoryBus)
        self.assertIsNot(first, second)
        self.assertIs(first.broker, second.broker)
        self.assertIs(memory.default_broker("/"), first.broker)
        self.assertIsNot(first.broker, other.broker)

    def test_rabbit_builds_the_amqp_bus_lazily(self):
        made = []

        class FakeAMQPBus:
            def __init__(self, parsed, conf, reactor=None):
                made.append((parsed, conf, reactor))

        fake_module = types.ModuleType("nova_tx.bus.amqp")
        fake_module.AMQPBus = FakeAMQPBus
        conf = make_conf(transport_url="rabbit://u:p@h1:5672,u:p@h2:5672/nova")
        reactor = object()
        with mock.patch.dict(sys.modules, {"nova_tx.bus.amqp": fake_module}):
            transport = url.get_transport(conf, reactor=reactor)
            kombu = url.get_transport(conf, "kombu://h/")
        self.assertIsInstance(transport, FakeAMQPBus)
        self.assertIsInstance(kombu, FakeAMQPBus)
        parsed, passed_conf, passed_reactor = made[0]
        self.assertEqual(["h1", "h2"], [h.hostname for h in parsed.hosts])
        self.assertEqual("nova", parsed.virtual_host)
        self.assertIs(conf, passed_conf)
        self.assertIs(reactor, passed_reactor)

    def test_none_and_unknown_schemes_are_refused(self):
        conf = make_conf()
        e = self.assertRaises(InvalidTransportURL, url.get_transport, conf, "none:///")
        self.assertIn("no message bus", str(e))
        e = self.assertRaises(InvalidTransportURL, url.get_transport, conf,
                              "kafka://u:s3cret@h:9092/")
        self.assertIn("unsupported scheme 'kafka'", str(e))
        self.assertNotIn("s3cret", str(e))

    def test_notification_transport_falls_back_to_rpc_one(self):
        conf = make_conf(transport_url="memory:///rpc")
        self.assertIs(memory.default_broker("rpc"),
                      url.get_notification_transport(conf).broker)
        conf.set_override("transport_url", "memory:///notifications",
                          group="oslo_messaging_notifications")
        self.assertIs(memory.default_broker("notifications"),
                      url.get_notification_transport(conf).broker)
