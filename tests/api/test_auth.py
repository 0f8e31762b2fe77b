"""Authentication: noauth2 over HTTP, and the choice of ``[api] auth_strategy``."""
import sys
import types
from unittest import mock

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.api import auth
from tests.api.fixture import APIServer, make_conf

UNAUTHORIZED = {"unauthorized": {"code": 401, "message":
                                 "The request you have made requires authentication."}}


class NoAuth2Test(unittest.TestCase):
    def setUp(self):
        self.api = APIServer(self)

    async def whoami(self, token, headers=None):
        reply = await self.api.request("GET", "/v2.1/whoami", token=token, headers=headers)
        self.assertEqual(200, reply.code, reply.raw)
        return reply.json

    async def test_user_and_project(self):
        me = await self.whoami("demo:abc1")
        self.assertEqual(("demo", "abc1", ["member", "reader"], False),
                         (me["user_id"], me["project_id"], me["roles"], me["is_admin"]))

    async def test_project_falls_back_to_header_then_user(self):
        me = await self.whoami("demo", headers={"X-Auth-Project-Id": "p1"})
        self.assertEqual("p1", me["project_id"])
        me = await self.whoami("demo")
        self.assertEqual("demo", me["project_id"])

    async def test_admin(self):
        me = await self.whoami("admin:abc1")
        self.assertEqual((["admin", "member", "reader"], True),
                         (me["roles"], me["is_admin"]))

    async def test_roles_header(self):
        me = await self.whoami("demo:abc1", headers={"X-Roles": "reader, admin"})
        self.assertEqual((["reader", "admin"], True), (me["roles"], me["is_admin"]))
        me = await self.whoami("admin:abc1", headers={"X-Roles": "reader"})
        self.assertEqual((["reader"], False), (me["roles"], me["is_admin"]))

    async def test_missing_token_is_401(self):
        for token in (None, "", ":abc1"):
            reply = await self.api.request("GET", "/v2.1/whoami", token=token)
            self.assertEqual(401, reply.code, token)
            self.assertEqual(UNAUTHORIZED, reply.json)

    async def test_authentication_comes_before_the_microversion(self):
        reply = await self.api.request("GET", "/v2.1/whoami", token=None,
                                       headers={"OpenStack-API-Version": "compute 9.9"})
        self.assertEqual(401, reply.code)

    async def test_version_documents_need_no_token(self):
        for path in ("/", "/v2.1", "/v2.1/", "/v2", "/v2/"):
            reply = await self.api.request("GET", path, token=None)
            self.assertEqual(200, reply.code, path)


class UnavailableAuthenticatorTest(unittest.TestCase):
    async def test_every_request_fails_but_versions_answer(self):
        from nova_tx.api.compute import service

        conf = make_conf(auth_strategy="keystone")
        keystone = types.ModuleType("nova_tx.api.keystone")

        class KeystoneAuthenticator:
            def __init__(self, conf, reactor=None):
                raise exception.ConfigError(reason="no auth_url")

        keystone.KeystoneAuthenticator = KeystoneAuthenticator
        patcher = mock.patch.dict(sys.modules, {"nova_tx.api.keystone": keystone})
        patcher.start()
        self.addCleanup(patcher.stop)
        authenticator = service.make_authenticator(conf)
        self.assertIsInstance(authenticator, auth.UnavailableAuthenticator)
        api = APIServer(self, conf=conf, authenticator=authenticator)
        reply = await api.request("GET", "/v2.1/")
        self.assertEqual(200, reply.code)
        reply = await api.request("GET", "/v2.1/whoami")
        self.assertEqual(500, reply.code)
        self.assertEqual("computeFault", next(iter(reply.json)))


class MakeAuthenticatorTest(unittest.SynchronousTestCase):
    def test_noauth2(self):
        self.assertIsInstance(auth.make_authenticator(make_conf(auth_strategy="noauth2")),
                              auth.NoAuth2Authenticator)

    def test_keystone_is_imported_when_chosen(self):
        made = []
        keystone = types.ModuleType("nova_tx.api.keystone")

        class KeystoneAuthenticator:
            def __init__(self, conf, reactor=None):
                made.append((conf, reactor))

        keystone.KeystoneAuthenticator = KeystoneAuthenticator
        patcher = mock.patch.dict(sys.modules, {"nova_tx.api.keystone": keystone})
        patcher.start()
        self.addCleanup(patcher.stop)
        conf = make_conf(auth_strategy="keystone")
        result = auth.make_authenticator(conf, reactor="the reactor")
        self.assertIsInstance(result, KeystoneAuthenticator)
        self.assertEqual([(conf, "the reactor")], made)

    def test_default_is_keystone(self):
        from oslo_config import cfg

        from nova_tx.conf import api as api_conf

        conf = cfg.ConfigOpts()
        api_conf.register_opts(conf)
        conf([], project="nova")
        self.assertEqual("keystone", conf.api.auth_strategy)
        self.assertEqual(1000, conf.api.max_limit)
        self.assertEqual(114688, conf.oslo_middleware.max_request_body_size)
        self.assertIsNone(conf.osapi_compute_workers)
        # Registering twice (the daemon does it on a ConfigOpts that may have them).
        api_conf.register_opts(conf)
