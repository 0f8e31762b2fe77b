"""Identifying the instance, all three ways (spec D §3.2): signatures forged or
missing, unknown instances, tenants that do not match, spoofed X-Forwarded-For."""
from __future__ import annotations

import json

from twisted.trial import unittest

from nova_tx.api.metadata.identify import sign
from tests.metadata.fixture import PROJECT, SECRET, MetadataServer

MD = "/openstack/latest/meta_data.json"


class ProxyModeTest(unittest.TestCase):
    def setUp(self):
        self.server = MetadataServer(self, neutron__service_metadata_proxy=True,
                                     neutron__metadata_proxy_shared_secret=SECRET)
        self.instance = self.server.add_instance()

    async def test_signed_request(self):
        reply = await self.server.get(MD, headers=self.server.proxy_headers(self.instance))
        self.assertEqual(200, reply.code)
        self.assertEqual(self.instance.uuid, json.loads(reply.body)["uuid"])

    async def assertRefused(self, code, headers, message=None):
        reply = await self.server.get(MD, headers=headers)
        self.assertEqual(code, reply.code)
        self.assertNotIn(self.instance.uuid.encode(), reply.body)
        self.assertNotIn(b"webservers", reply.body)
        self.assertNotIn(b"ssh-rsa", reply.body)
        if message:
            self.assertIn(message.encode(), reply.body)
        return reply

    async def test_wrong_signature_is_403(self):
        headers = self.server.proxy_headers(self.instance, secret="guess")
        await self.assertRefused(403, headers, "Invalid proxy request signature.")

    async def test_signature_of_another_instance_is_403(self):
        other = self.server.add_instance(address="10.0.0.7")
        headers = self.server.proxy_headers(self.instance)
        headers["X-Instance-ID-Signature"] = sign(SECRET, other.uuid)
        await self.assertRefused(403, headers)

    async def test_empty_signature_is_400_missing(self):
        headers = self.server.proxy_headers(self.instance)
        del headers["X-Instance-ID-Signature"]
        await self.assertRefused(400, headers,
                                 "X-Instance-ID-Signature header is missing from request.")

    async def test_missing_headers_are_400(self):
        for name, message in (("X-Instance-ID", "X-Instance-ID header is missing"),
                              ("X-Tenant-ID", "X-Tenant-ID header is missing")):
            headers = self.server.proxy_headers(self.instance)
            del headers[name]
            await self.assertRefused(400, headers, message)

    async def test_duplicated_headers_are_400(self):
        headers = self.server.proxy_headers(self.instance)
        headers["X-Instance-ID"] = [self.instance.uuid, self.instance.uuid]
        await self.assertRefused(400, headers, "Multiple X-Instance-ID headers")
        headers = self.server.proxy_headers(self.instance)
        headers["X-Tenant-ID"] = [PROJECT, "other"]
        await self.assertRefused(400, headers, "Multiple X-Tenant-ID headers")

    async def test_tenant_mismatch_is_404(self):
        headers = self.server.proxy_headers(self.instance, tenant="someone-else")
        await self.assertRefused(404, headers)

    async def test_unknown_instance_is_404(self):
        headers = {"X-Instance-ID": "00000000-0000-0000-0000-000000000000",
                   "X-Tenant-ID": PROJECT,
                   "X-Instance-ID-Signature": sign(SECRET,
                                                   "00000000-0000-0000-0000-000000000000")}
        await self.assertRefused(404, headers)

    async def test_source_address_is_not_used_in_proxy_mode(self):
        # No headers at all: the peer address (a known instance's) does not identify.
        self.server.add_instance(address="127.0.0.1")
        await self.assertRefused(400, {})

    async def test_forwarded_for_is_the_address_in_proxy_mode(self):
        instance = self.server.add_instance(address=None)
        headers = self.server.proxy_headers(instance)
        headers["X-Forwarded-For"] = "10.9.9.9"
        reply = await self.server.get("/latest/meta-data/local-ipv4", headers=headers)
        self.assertEqual("10.9.9.9", reply.text)


class SourceAddressModeTest(unittest.TestCase):
    def setUp(self):
        self.server = MetadataServer(self)

    async def test_peer_address_identifies(self):
        instance = self.server.add_instance(address="127.0.0.1")
        reply = await self.server.get(MD)
        self.assertEqual((200, instance.uuid), (reply.code, json.loads(reply.body)["uuid"]))

    async def test_unknown_address_is_404(self):
        self.server.add_instance(address="10.0.0.5")
        self.assertEqual(404, (await self.server.get(MD)).code)

    async def test_prefix_of_an_address_does_not_match(self):
        self.server.add_instance(address="127.0.0.10")
        self.assertEqual(404, (await self.server.get(MD)).code)

    async def test_spoofed_forwarded_for_is_ignored(self):
        self.server.add_instance(address="10.0.0.5")
        reply = await self.server.get(MD, headers={"X-Forwarded-For": "10.0.0.5"})
        self.assertEqual(404, reply.code)
        self.assertNotIn(b"webservers", reply.body)

    async def test_instance_id_header_is_ignored_without_proxy_mode(self):
        victim = self.server.add_instance(address="10.0.0.5")
        headers = self.server.proxy_headers(victim)
        reply = await self.server.get(MD, headers=headers)
        self.assertEqual(404, reply.code)

    async def test_forwarded_for_trusted_when_configured(self):
        self.server.conf.set_override("use_forwarded_for", True, group="api")
        instance = self.server.add_instance(address="10.0.0.5")
        reply = await self.server.get(MD, headers={"X-Forwarded-For": "10.0.0.5, 1.2.3.4"})
        self.assertEqual(instance.uuid, json.loads(reply.body)["uuid"])

    async def test_two_instances_with_one_address_are_404(self):
        self.server.add_instance(address="127.0.0.1")
        self.server.add_instance(address="127.0.0.1")
        self.assertEqual(404, (await self.server.get(MD)).code)

    async def test_deleted_instance_is_404(self):
        from nova_tx.db.main import instances

        instance = self.server.add_instance(address="127.0.0.1")
        with self.server.cell_engine.begin() as conn:
            instances.destroy(conn, instance.uuid)
        self.assertEqual(404, (await self.server.get(MD)).code)

    async def test_database_failure_is_500_without_detail(self):
        self.server.add_instance(address="127.0.0.1")
        self.server.app.api_db = _Broken()
        reply = await self.server.get(MD)
        self.assertEqual(500, reply.code)
        self.assertIn(b"An unknown error has occurred", reply.body)
        self.assertNotIn(b"boom", reply.body)


class _Broken:
    def do(self, *args, **kwargs):
        from twisted.internet import defer

        return defer.fail(RuntimeError("boom"))


class FakeNetwork:
    def __init__(self, ports):
        self.ports = ports
        self.calls = []

    async def list_subnets(self, context, **filters):
        self.calls.append(("subnets", filters))
        return [{"id": "sub-1", "network_id": "net-1"}]

    async def list_ports(self, context, **filters):
        self.calls.append(("ports", filters))
        return self.ports


class ProviderModeTest(unittest.TestCase):
    def setUp(self):
        self.network = FakeNetwork([])
        self.server = MetadataServer(self, network=self.network,
                                     neutron__service_metadata_proxy=True,
                                     neutron__metadata_proxy_shared_secret=SECRET)
        self.instance = self.server.add_instance()
        self.network.ports = [{"device_id": self.instance.uuid, "tenant_id": PROJECT}]

    def headers(self, provider="lb-1", secret=SECRET):
        return {"X-Forwarded-For": "10.0.0.5", "X-Metadata-Provider": provider,
                "X-Metadata-Provider-Signature": sign(secret, provider)}

    async def test_provider_port_identifies(self):
        reply = await self.server.get(MD, headers=self.headers())
        self.assertEqual(self.instance.uuid, json.loads(reply.body)["uuid"])
        self.assertEqual(("subnets", {"advanced_service_providers": ["lb-1"]}),
                         self.network.calls[0])
        self.assertEqual(("ports", {"fixed_ips": "ip_address=10.0.0.5",
                                    "network_id": ["net-1"]}), self.network.calls[1])

    async def test_bad_provider_signature_is_403_before_any_lookup(self):
        reply = await self.server.get(MD, headers=self.headers(secret="nope"))
        self.assertEqual(403, reply.code)
        self.assertEqual([], self.network.calls)

    async def test_missing_forwarded_for_is_400(self):
        headers = self.headers()
        del headers["X-Forwarded-For"]
        reply = await self.server.get(MD, headers=headers)
        self.assertEqual(400, reply.code)
        self.assertIn(b"X-Forwarded-For is missing from request.", reply.body)

    async def test_not_exactly_one_port_is_400(self):
        for ports in ([], [{"device_id": "a", "tenant_id": PROJECT}] * 2):
            self.network.ports = ports
            self.server.app.cache.invalidate(self.instance.uuid)
            reply = await self.server.get(MD, headers=self.headers())
            self.assertEqual(400, reply.code)
            self.assertIn(b"Expected a single port", reply.body)

    async def test_port_of_another_project_is_404(self):
        self.network.ports = [{"device_id": self.instance.uuid, "tenant_id": "other"}]
        self.assertEqual(404, (await self.server.get(MD, headers=self.headers())).code)
