"""The compute API with ``auth_strategy = keystone`` against the embedded identity."""
from __future__ import annotations

from twisted.internet import reactor
from twisted.trial import unittest

from nova_tx.api.compute import wsgi
from nova_tx.api.compute.router import APIRouter
from nova_tx.api.keystone import KeystoneAuthenticator
from nova_tx.conf import api as api_conf
from nova_tx.conf import default
from nova_tx.identity.directory import stable_id
from tests.identity.fixtures import PASSWORDS, RunningIdentity, http_client


class ComputeAPIKeystoneTest(unittest.TestCase):
    def setUp(self):
        from tests.api import widgets

        self.identity = RunningIdentity(self)
        conf = self.identity.conf
        default.register_opts(conf)
        api_conf.register_opts(conf)
        conf.set_override("auth_strategy", "keystone", group="api")
        for name, value in dict(
                auth_url=self.identity.url + "/v3", www_authenticate_uri=self.identity.url,
                username="nova", password=PASSWORDS["nova"], project_name="service",
                user_domain_name="Default", project_domain_name="Default").items():
            conf.set_override(name, value, group="keystone_authtoken")
        self.authenticator = KeystoneAuthenticator(conf, reactor, clock=self.identity.clock)
        self.addCleanup(self.authenticator.close)
        router = APIRouter(conf, resources=[widgets.routes],
                           authenticator=self.authenticator)
        site = wsgi.ComputeSite(router.resource(), max_request_body_size=114688)
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.base = "http://127.0.0.1:%d" % port.getHost().port
        self.http = http_client(self)

    async def get(self, path: str, token: str | None = None):
        headers = {"X-Auth-Token": token} if token else {}
        response = await self.http.get(self.base + path, headers=headers)
        return response, await response.json()

    async def test_token_of_the_embedded_identity_is_accepted(self):
        _, token, _ = await self.identity.password_token("admin", project="admin")
        response, body = await self.get("/v2.1/whoami", token)
        self.assertEqual(200, response.code)
        self.assertEqual(stable_id("user", "admin"), body["user_id"])
        self.assertEqual(stable_id("project", "admin"), body["project_id"])
        self.assertTrue(body["is_admin"])

    async def test_missing_or_bad_token_is_401_with_www_authenticate(self):
        for token in (None, "bogus"):
            response, body = await self.get("/v2.1/whoami", token)
            self.assertEqual(401, response.code, body)
            self.assertEqual([f'Keystone uri="{self.identity.url}"'],
                             response.headers.getRawHeaders("WWW-Authenticate"))

    async def test_versions_answer_without_a_token(self):
        response, body = await self.get("/")
        self.assertEqual(200, response.code)
