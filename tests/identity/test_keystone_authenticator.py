"""KeystoneAuthenticator against a running embedded identity (no mocks)."""
from __future__ import annotations

from twisted.internet import defer, reactor
from twisted.internet.address import IPv4Address
from twisted.trial import unittest
from twisted.web.test.requesthelper import DummyRequest

from nova_tx import exception
from nova_tx.api.keystone import KeystoneAuthenticator, KeystoneUnavailable, identity_url
from nova_tx.identity.directory import stable_id
from tests.identity.fixtures import PASSWORDS, RunningIdentity


def request_with(token: str | None = None, **headers) -> DummyRequest:
    request = DummyRequest([b"v2.1", b"servers"])
    request.client = IPv4Address("TCP", "192.0.2.7", 40000)
    if token is not None:
        request.requestHeaders.addRawHeader(b"X-Auth-Token", token.encode())
    for name, value in headers.items():
        request.requestHeaders.addRawHeader(name.replace("_", "-").encode(), value.encode())
    return request


class AuthenticatorTest(unittest.TestCase):
    def setUp(self):
        self.identity = RunningIdentity(self)
        self.conf = self.identity.conf
        self.configure(auth_url=self.identity.url + "/v3", username="nova",
                       password=PASSWORDS["nova"], project_name="service",
                       user_domain_name="Default", project_domain_name="Default",
                       http_request_max_retries=0)

    def configure(self, **overrides):
        from nova_tx.conf import keystone_authtoken

        keystone_authtoken.register_opts(self.conf)
        for name, value in overrides.items():
            self.conf.set_override(name, value, group="keystone_authtoken")

    def authenticator(self) -> KeystoneAuthenticator:
        auth = KeystoneAuthenticator(self.conf, reactor, clock=self.identity.clock)
        self.addCleanup(auth.close)
        return auth

    async def user_token(self, user: str = "demo", project: str = "demo") -> str:
        status, token, _ = await self.identity.password_token(user, project=project)
        self.assertEqual(201, status)
        return token

    async def assertUnauthorized(self, auth, request):
        error = await self.assertFailure(auth.authenticate(request), exception.Unauthorized)
        self.assertEqual(401, error.code)
        self.assertEqual({"WWW-Authenticate": f'Keystone uri="{self.identity.url}/v3"'},
                         error.headers)

    async def test_context_of_a_project_token(self):
        auth = self.authenticator()
        token = await self.user_token()
        context = await auth.authenticate(request_with(token))
        self.assertEqual(stable_id("user", "demo"), context.user_id)
        self.assertEqual("demo", context.user_name)
        self.assertEqual(stable_id("project", "demo"), context.project_id)
        self.assertEqual("demo", context.project_name)
        self.assertEqual("default", context.user_domain_id)
        self.assertEqual("default", context.project_domain_id)
        self.assertEqual(["member", "reader"], context.roles)
        self.assertFalse(context.is_admin)
        self.assertIsNone(context.system_scope)
        self.assertEqual(token, context.auth_token)
        self.assertEqual("192.0.2.7", context.remote_address)
        # Nova keeps only the services it calls, in keystonemiddleware's v2 form.
        catalog = {s["type"]: s for s in context.service_catalog}
        self.assertEqual({"image", "placement", "network"}, set(catalog))
        self.assertEqual([{"region": "RegionOne", "publicURL": "http://127.0.0.1:8778",
                           "internalURL": "http://127.0.0.1:8778",
                           "adminURL": "http://127.0.0.1:8778"}],
                         catalog["placement"]["endpoints"])

    async def test_admin_and_system_scope(self):
        auth = self.authenticator()
        context = await auth.authenticate(request_with(await self.user_token("admin",
                                                                            "admin")))
        self.assertTrue(context.is_admin)
        _, system_token, _ = await self.identity.password_token(
            "admin", scope={"system": {"all": True}})
        context = await auth.authenticate(request_with(system_token))
        self.assertEqual("all", context.system_scope)
        self.assertIsNone(context.project_id)

    async def test_missing_and_invalid_tokens_are_401(self):
        auth = self.authenticator()
        await self.assertUnauthorized(auth, request_with(None))
        await self.assertUnauthorized(auth, request_with("not-a-token"))

    async def test_www_authenticate_names_the_public_endpoint(self):
        self.configure(www_authenticate_uri="https://keystone.example.com")
        auth = self.authenticator()
        error = await self.assertFailure(auth.authenticate(request_with("x")),
                                         exception.Unauthorized)
        self.assertEqual('Keystone uri="https://keystone.example.com"',
                         error.headers["WWW-Authenticate"])

    async def test_service_token_is_reused_and_validations_are_cached(self):
        auth = self.authenticator()
        first, second = await self.user_token(), await self.user_token("admin", "admin")
        for token in (first, second, first, second, first):
            await auth.authenticate(request_with(token))
        self.assertEqual({"validate": 2, "service_token": 1}, auth.requests)
        self.identity.clock.advance(301)  # token_cache_time is 300
        await auth.authenticate(request_with(first))
        self.assertEqual({"validate": 3, "service_token": 1}, auth.requests)
        # the entry of the second token, ended, was swept when the first was cached
        self.assertEqual(1, len(auth._cache))

    async def test_no_cache(self):
        self.configure(token_cache_time=-1)
        auth = self.authenticator()
        token = await self.user_token()
        for _ in range(3):
            await auth.authenticate(request_with(token))
        self.assertEqual(3, auth.requests["validate"])

    async def test_concurrent_requests_share_one_validation(self):
        auth = self.authenticator()
        token = await self.user_token()
        contexts = await defer.gatherResults(
            [auth.authenticate(request_with(token)) for _ in range(5)])
        self.assertEqual({stable_id("user", "demo")}, {c.user_id for c in contexts})
        self.assertEqual({"validate": 1, "service_token": 1}, auth.requests)

    async def test_revoked_token_is_401_once_the_cache_forgets_it(self):
        auth = self.authenticator()
        token = await self.user_token()
        await auth.authenticate(request_with(token))
        status, _, _ = await self.identity.request(
            "DELETE", "/v3/auth/tokens",
            headers={"X-Auth-Token": token, "X-Subject-Token": token})
        self.assertEqual(204, status)
        await auth.authenticate(request_with(token))  # cached, as keystonemiddleware
        self.identity.clock.advance(301)
        await self.assertUnauthorized(auth, request_with(token))

    async def test_expired_token_is_401_even_when_cached(self):
        self.identity.conf.set_override("identity_token_expiration", 100, group="embedded")
        self.identity.api.tokens.lifetime = 100
        auth = self.authenticator()
        token = await self.user_token()
        await auth.authenticate(request_with(token))
        self.identity.clock.advance(100)
        await self.assertUnauthorized(auth, request_with(token))

    async def test_service_token_is_renewed_before_it_expires(self):
        auth = self.authenticator()
        await auth.authenticate(request_with(await self.user_token()))
        self.identity.clock.advance(3600 - 119)
        await auth.authenticate(request_with(await self.user_token()))
        self.assertEqual(2, auth.requests["service_token"])

    async def test_refused_service_token_is_replaced(self):
        auth = self.authenticator()
        await auth.authenticate(request_with(await self.user_token()))
        service_token = auth._service_token
        self.assertTrue(self.identity.api.tokens.revoke(service_token))
        context = await auth.authenticate(request_with(await self.user_token("admin",
                                                                            "admin")))
        self.assertEqual("admin", context.user_name)
        self.assertEqual(2, auth.requests["service_token"])
        self.assertNotEqual(service_token, auth._service_token)

    async def test_wrong_service_password_is_503(self):
        self.configure(password="wrong")
        auth = self.authenticator()
        token = await self.user_token()
        error = await self.assertFailure(auth.authenticate(request_with(token)),
                                         KeystoneUnavailable)
        self.assertEqual(503, error.code)

    async def test_unreachable_keystone_is_503(self):
        port = reactor.listenTCP(0, __import__("twisted.internet.protocol").internet
                                 .protocol.ServerFactory(), interface="127.0.0.1")
        number = port.getHost().port
        await port.stopListening()
        self.configure(auth_url=f"http://127.0.0.1:{number}")
        auth = self.authenticator()
        await self.assertFailure(auth.authenticate(request_with("anything")),
                                 KeystoneUnavailable)

    async def test_implements_the_interface(self):
        from zope.interface.verify import verifyObject

        from nova_tx.api.auth import IAuthenticator, make_authenticator

        self.assertTrue(verifyObject(IAuthenticator, self.authenticator()))
        self.conf.register_opt(__import__("oslo_config").cfg.StrOpt("auth_strategy"),
                               group="api")
        self.conf.set_override("auth_strategy", "keystone", group="api")
        made = make_authenticator(self.conf, reactor)
        self.addCleanup(made.close)
        self.assertIsInstance(made, KeystoneAuthenticator)

    def test_incomplete_configuration_is_refused(self):
        self.configure(password=None)
        self.assertRaises(exception.ConfigError, KeystoneAuthenticator, self.conf, reactor)
        self.configure(password="x", auth_url=None)
        self.assertRaises(exception.ConfigError, KeystoneAuthenticator, self.conf, reactor)

    def test_identity_url(self):
        self.assertEqual("http://k:5000/v3", identity_url("http://k:5000"))
        self.assertEqual("http://k:5000/v3", identity_url("http://k:5000/v3/"))
        self.assertEqual("http://k/identity/v3", identity_url("http://k/identity"))


class TLSTest(unittest.TestCase):
    """HTTPS to Keystone: cafile, insecure, client certificates."""

    def setUp(self):
        from tests.identity.tls import Certificates

        self.certs = Certificates(self.mktemp())
        self.identity = RunningIdentity(self, tls=self.certs.server_options())
        self.conf = self.identity.conf
        AuthenticatorTest.configure(self, auth_url=self.identity.url, username="nova",
                                    password=PASSWORDS["nova"], project_name="service",
                                    http_request_max_retries=0)

    def configure(self, **overrides):
        AuthenticatorTest.configure(self, **overrides)

    async def login(self) -> str:
        status, token, _ = await self.identity.password_token("demo", project="demo")
        self.assertEqual(201, status)
        return token

    def authenticator(self) -> KeystoneAuthenticator:
        auth = KeystoneAuthenticator(self.conf, reactor, clock=self.identity.clock)
        self.addCleanup(auth.close)
        return auth

    async def test_the_authority_of_cafile_is_trusted(self):
        self.configure(cafile=self.certs.cacert, certfile=self.certs.client_cert,
                       keyfile=self.certs.client_key)
        context = await self.authenticator().authenticate(request_with(await self.login()))
        self.assertEqual("demo", context.user_name)

    async def test_another_authority_is_refused(self):
        self.configure(cafile=self.certs.other_ca)
        auth = self.authenticator()
        await self.assertFailure(auth.authenticate(request_with(await self.login())),
                                 KeystoneUnavailable)
        self.flushLoggedErrors()

    async def test_insecure_does_not_verify(self):
        self.configure(insecure=True, cafile=self.certs.other_ca)
        context = await self.authenticator().authenticate(request_with(await self.login()))
        self.assertEqual("demo", context.user_name)

    def test_bad_files_are_configuration_errors(self):
        for overrides in (dict(cafile="/nonexistent/ca.pem"),
                          dict(cafile=self.certs.key),
                          dict(certfile=self.certs.client_cert),
                          dict(certfile=self.certs.client_cert, keyfile=self.certs.cacert)):
            self.conf.clear_override("cafile", group="keystone_authtoken")
            self.conf.clear_override("certfile", group="keystone_authtoken")
            self.conf.clear_override("keyfile", group="keystone_authtoken")
            self.configure(**overrides)
            self.assertRaises(exception.ConfigError, KeystoneAuthenticator, self.conf,
                              reactor)
