"""Bad input: malformed paths, traversal, huge headers, unknown versions get 404 or
400 and never another instance's data."""
from __future__ import annotations

import json

from twisted.internet import protocol, reactor
from twisted.internet.defer import Deferred
from twisted.trial import unittest

from tests.metadata.fixture import SECRET, MetadataServer


class BadInputTest(unittest.TestCase):
    def setUp(self):
        self.server = MetadataServer(self, neutron__service_metadata_proxy=True,
                                     neutron__metadata_proxy_shared_secret=SECRET)
        self.mine = self.server.add_instance(address="10.0.0.5")
        self.other = self.server.add_instance(address="10.0.0.6",
                                              metadata={"secret": "theirs"})
        self.headers = self.server.proxy_headers(self.mine)

    async def test_traversal_stays_in_the_tree(self):
        for path in ("/openstack/latest/../../etc/passwd", "/../../../etc/passwd",
                     "/openstack/%2e%2e/%2e%2e/etc/passwd", "/openstack/latest/%2F..%2F",
                     "/openstack/latest/meta_data.json/../../" + self.other.uuid,
                     "/openstack/content/../../" + self.other.uuid,
                     "//openstack//latest//..//..//..//", "/openstack/./latest/./x"):
            reply = await self.server.get(path, headers=self.headers)
            self.assertIn(reply.code, (200, 404), path)
            self.assertNotIn(b"theirs", reply.body, path)
            self.assertNotIn(self.other.uuid.encode(), reply.body, path)
            self.assertNotIn(b"root:", reply.body, path)

    async def test_traversal_that_lands_on_a_file_serves_the_callers_own(self):
        reply = await self.server.get("/openstack/2012-08-10/../latest/meta_data.json",
                                      headers=self.headers)
        self.assertEqual(self.mine.uuid, json.loads(reply.body)["uuid"])

    async def test_malformed_paths_are_404(self):
        for path in ("/openstack/latest/meta_data.json%00", "/%ff%fe",
                     "/openstack/latest%7f", "/openstack/2013-13-45/meta_data.json",
                     "/openstack/LATEST/meta_data.json", "/2009-04-04/meta-data/%00",
                     "/openstack/latest/" + "a" * 4000, "/ec2/9999/meta-data"):
            reply = await self.server.get(path, headers=self.headers)
            self.assertEqual(404, reply.code, path)

    async def test_other_instance_id_with_my_signature_is_refused(self):
        headers = dict(self.headers, **{"X-Instance-ID": self.other.uuid})
        reply = await self.server.get("/openstack/latest/meta_data.json", headers=headers)
        self.assertEqual(403, reply.code)
        self.assertNotIn(b"theirs", reply.body)

    async def test_huge_header_is_refused(self):
        status = await self._raw(b"GET /openstack/latest/meta_data.json HTTP/1.1\r\n"
                                 b"Host: x\r\nX-Instance-ID: " + b"a" * 70000 + b"\r\n\r\n")
        self.assertTrue(status.startswith(b"HTTP/1.1 400") or status == b"", status)

    async def test_many_headers_are_refused(self):
        lines = b"".join(b"X-H%d: v\r\n" % n for n in range(1000))
        status = await self._raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + lines + b"\r\n")
        self.assertTrue(status.startswith(b"HTTP/1.1 400") or status == b"", status)

    async def _raw(self, data: bytes) -> bytes:
        done: Deferred = Deferred()

        class Client(protocol.Protocol):
            def connectionMade(self):
                self.received = b""
                self.transport.write(data)

            def dataReceived(self, chunk):
                self.received += chunk

            def connectionLost(self, reason):
                done.callback(self.received.split(b"\r\n")[0])

        port = self.server.port.getHost().port
        endpoint_factory = protocol.ClientFactory.forProtocol(Client)
        reactor.connectTCP("127.0.0.1", port, endpoint_factory)
        return await done
