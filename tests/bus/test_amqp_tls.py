"""AMQP over TLS: oslo.messaging's ``ssl*`` options, against a private RabbitMQ node
with a TLS listener and certificates made by the test (the machine's broker has no TLS
listener, and must not be reconfigured)."""
from __future__ import annotations

import logging
import tempfile
import uuid

from twisted.internet import defer, threads
from twisted.trial import unittest

from nova_tx.bus import amqp_tls
from nova_tx.bus.amqp import AMQPBus
from nova_tx.bus.exception import MessagingException
from nova_tx.bus.interfaces import TOPIC, Binding
from nova_tx.bus.url import TransportURL
from tests import tls_certs
from tests.bus import Collector, LogCapture, wait_until
from tests.bus.private_broker import PrivateBroker, PrivateBrokerUnavailable
from tests.bus.test_amqp import IN_CI, rabbit_conf


class Certificates(tls_certs.Certificates):
    """An authority, the broker's certificate (localhost, 127.0.0.1), a client
    certificate for ``guest``, and an unrelated authority, as PEM files (readable by
    the broker's user)."""

    authority = "nova-tx test CA"
    client = "guest"
    hosts = ("localhost", "127.0.0.1")
    mode = 0o644


def tls_conf(**options):
    return rabbit_conf(ssl=True, **options)


class OptionTests(unittest.SynchronousTestCase):
    """What is wrong with the options is one line when the transport is built."""

    def setUp(self):
        directory = tempfile.mkdtemp(prefix="nova-tx-tls-")
        self.addCleanup(lambda: __import__("shutil").rmtree(directory, True))
        self.certs = Certificates(directory)

    def bus(self, conf, url: str = "rabbit://127.0.0.1:5671/") -> AMQPBus:
        return AMQPBus(TransportURL.parse(url), conf)

    def test_without_ssl_there_is_no_tls(self):
        self.assertIsNone(self.bus(rabbit_conf())._tls)

    def test_ssl_on_in_the_url(self):
        logs = LogCapture(self, "nova_tx.bus.amqp_tls")
        bus = self.bus(rabbit_conf(), "rabbit://127.0.0.1:5671/?ssl=1")
        self.assertIsNotNone(bus._tls)
        self.assertIn("the broker's certificate is not verified",
                      " ".join(logs.messages(logging.WARNING)))

    def test_a_missing_file_names_the_option(self):
        error = self.assertRaises(MessagingException, self.bus,
                                  tls_conf(ssl_ca_file="/nonexistent/ca.pem"))
        self.assertIn("[oslo_messaging_rabbit] ssl_ca_file '/nonexistent/ca.pem' cannot be "
                      "read: No such file or directory", str(error))

    def test_a_file_that_is_not_pem(self):
        error = self.assertRaises(MessagingException, self.bus,
                                  tls_conf(ssl_ca_file=self.certs.key))
        self.assertIn("is not a usable PEM file", str(error))

    def test_certificate_and_key_go_together(self):
        error = self.assertRaises(MessagingException, self.bus,
                                  tls_conf(ssl_cert_file=self.certs.client_cert))
        self.assertIn("ssl_cert_file and ssl_key_file go together", str(error))

    def test_unknown_version(self):
        error = self.assertRaises(MessagingException, self.bus, tls_conf(ssl_version="SSLv2"))
        self.assertIn("ssl_version 'SSLv2' is not one of SSLv23, TLSv1, TLSv1_1", str(error))

    def test_external_login_needs_a_client_certificate(self):
        error = self.assertRaises(MessagingException, self.bus,
                                  tls_conf(rabbit_login_method="EXTERNAL"))
        self.assertIn("EXTERNAL logs in with the TLS client certificate", str(error))

    def test_minimum_version(self):
        conf = tls_conf(ssl_version="TLSv1_2", ssl_ca_file=self.certs.cacert)
        self.assertIsNotNone(amqp_tls.client_tls(
            lambda name: getattr(conf.oslo_messaging_rabbit, name))("localhost"))


class BrokerTLSTests(unittest.TestCase):
    """One private node with a TLS listener serves every case (starting one takes
    seconds)."""

    timeout = 120

    def setUp(self):
        return defer.Deferred.fromCoroutine(self._start())

    async def _start(self) -> None:
        directory = tempfile.mkdtemp(prefix="nova-tx-tls-")
        self.certs = Certificates(directory)
        self.broker = PrivateBroker(tls={"cacert": self.certs.cacert,
                                         "cert": self.certs.cert, "key": self.certs.key})
        self.addCleanup(lambda: __import__("shutil").rmtree(directory, True))
        self.addCleanup(lambda: threads.deferToThread(self.broker.stop))
        try:
            await threads.deferToThread(self.broker.start)
        except PrivateBrokerUnavailable as e:
            if IN_CI:
                self.fail(f"a private RabbitMQ node could not be started: {e}")
            raise unittest.SkipTest(f"a private RabbitMQ node could not be started: {e}; "
                                    "with CI=true this is a failure") from None

    def url(self, host: str = "127.0.0.1", credentials: str = "guest:guest@") -> str:
        return f"rabbit://{credentials}{host}:{self.broker.tls_port}/"

    async def round_trip(self, url: str, conf) -> None:
        """Publish through the TLS connection and consume it back."""
        bus = AMQPBus(TransportURL.parse(url), conf, connection_name="nova-tx-test.tls")
        try:
            await bus.connect()
            exchange, queue = f"tls.{uuid.uuid4().hex[:8]}", f"tls.{uuid.uuid4().hex[:8]}"
            await bus.declare_exchange(exchange, TOPIC, auto_delete=True)
            await bus.declare_queue(queue, [Binding(exchange, "k")], auto_delete=True)
            got = Collector()
            await bus.consume(queue, got)
            await bus.publish(exchange, "k", b"over TLS")
            await wait_until(lambda: got.bodies)
            self.assertEqual([b"over TLS"], got.bodies)
        finally:
            await bus.close()

    async def test_tls_connections(self):
        # Verified against the authority, host name included, password login.
        await self.round_trip(self.url(), tls_conf(ssl_ca_file=self.certs.cacert))
        await self.round_trip(self.url("localhost"),
                              tls_conf(ssl_ca_file=self.certs.cacert, ssl_version="TLSv1_2"))
        # EXTERNAL: the broker takes "guest" from the client certificate.
        await self.round_trip(self.url(credentials=""), tls_conf(
            ssl_ca_file=self.certs.cacert, ssl_cert_file=self.certs.client_cert,
            ssl_key_file=self.certs.client_key, rabbit_login_method="EXTERNAL"))
        # oslo.messaging's ssl without a CA file: encrypted, not verified.
        await self.round_trip(self.url(), tls_conf())
        # 127.0.0.2 is this machine too, but not a name in the broker's certificate:
        # the chain alone is checked when host name verification is turned off.
        await self.round_trip(self.url("127.0.0.2"), tls_conf(
            ssl_ca_file=self.certs.cacert, ssl_enforce_hostname_verification=False))

    async def refused(self, url: str, conf) -> str:
        logs = LogCapture(self, "nova_tx.bus.amqp")
        bus = AMQPBus(TransportURL.parse(url), conf, connection_name="nova-tx-test.tls")
        connecting = bus.connect()
        await wait_until(lambda: logs.messages(logging.ERROR))
        self.assertNoResult(connecting)
        await bus.close()
        connecting.addErrback(lambda _failure: None)
        return logs.messages(logging.ERROR)[0]

    async def test_a_broker_the_authority_did_not_sign_is_refused(self):
        message = await self.refused(self.url(), tls_conf(ssl_ca_file=self.certs.other_ca))
        self.assertIn(f"127.0.0.1:{self.broker.tls_port} is unreachable", message)
        self.assertIn("certificate verify failed", message)

    async def test_a_broker_under_another_name_is_refused(self):
        message = await self.refused(self.url("127.0.0.2"),
                                     tls_conf(ssl_ca_file=self.certs.cacert))
        self.assertIn(f"127.0.0.2:{self.broker.tls_port} is unreachable", message)
        self.assertIn("IPAddressMismatch", message)
