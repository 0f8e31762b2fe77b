"""Placement behind Keystone: ``[api] auth_strategy = keystone``, tokens of the
embedded identity, and the HTTP client logging in with ``[placement]``'s credentials."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.conf import api as api_conf
from nova_tx.conf import placement as placement_conf
from nova_tx.placement import client
from tests.identity.fixtures import PASSWORDS, RunningIdentity
from tests.placement.api_fixture import PlacementServer

RP = "e1b5a9a4-0f3a-4b4e-9a59-7a1d1b3c0001"


class KeystonePlacementTests(unittest.TestCase):

    def setUp(self):
        self.identity = RunningIdentity(self)
        conf = self.conf = self.identity.conf
        api_conf.register_opts(conf)
        placement_conf.register_opts(conf)
        conf.set_override("auth_strategy", "keystone", group="api")
        for name, value in dict(auth_url=self.identity.url + "/v3", username="nova",
                                password=PASSWORDS["nova"], project_name="service",
                                user_domain_name="Default", project_domain_name="Default",
                                http_request_max_retries=0).items():
            conf.set_override(name, value, group="keystone_authtoken")
        self.server = PlacementServer(self, conf=conf)
        self.server.start()
        for name, value in dict(auth_type="password", auth_url=self.identity.url,
                                username="nova", password=PASSWORDS["nova"],
                                project_name="service", endpoint_override=self.server.url,
                                ).items():
            conf.set_override(name, value, group="placement")

    async def test_tokens(self):
        status, headers, _ = await self.server.request(
            "GET", "/resource_providers", headers={"x-auth-token": None})
        self.assertEqual(401, status)
        self.assertTrue(headers.getRawHeaders("www-authenticate")[0].startswith("Keystone"))
        status, _, _ = await self.server.request(
            "GET", "/resource_providers", headers={"x-auth-token": "admin"})
        self.assertEqual(401, status)
        _, demo_token, _ = await self.identity.password_token("demo", project="demo")
        status, _, body = await self.server.request(
            "GET", "/resource_providers", headers={"x-auth-token": demo_token})
        self.assertEqual(403, status, body)
        # The root needs no token.
        status, _, _ = await self.server.request("GET", "/", headers={"x-auth-token": None})
        self.assertEqual(200, status)

    async def test_http_client_logs_in(self):
        placement = client.make_client(self.conf)
        self.assertIsInstance(placement, client.HTTPPlacementClient)
        self.addCleanup(placement.close)
        response = await placement.post("/resource_providers", {"name": "cn1", "uuid": RP},
                                        version="1.20")
        self.assertEqual(200, response.status_code, response.text)
        response = await placement.get(f"/resource_providers/{RP}", version="1.14")
        self.assertEqual("cn1", response.json()["name"])
        # A token the identity forgot (revoked) is replaced on the 401.
        placement.keystone._token = "revoked"
        response = await placement.get("/resource_providers", version="1.14")
        self.assertEqual(200, response.status_code, response.text)
