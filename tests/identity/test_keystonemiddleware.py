"""keystonemiddleware's auth_token (what a real Nova or Placement runs) validating
tokens against the embedded identity."""
from __future__ import annotations

import logging

from twisted.internet import threads
from twisted.trial import unittest

from nova_tx.identity.directory import stable_id
from tests.helpers import unavailable
from tests.identity.fixtures import PASSWORDS, RunningIdentity


class KeystonemiddlewareTest(unittest.TestCase):
    def setUp(self):
        try:
            from keystonemiddleware import auth_token  # noqa: F401
        except ImportError:
            unavailable("keystonemiddleware is not installed")
        # keystonemiddleware warns about its in-process cache and more.
        logging.getLogger("keystonemiddleware").setLevel(logging.ERROR)

    def _middleware(self, url: str):
        from keystonemiddleware import auth_token

        seen: list[dict] = []

        def app(environ, start_response):
            seen.append({k: v for k, v in environ.items() if k.startswith("HTTP_X_")})
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]

        middleware = auth_token.AuthProtocol(app, {
            "auth_type": "password", "auth_url": url + "/v3",
            "www_authenticate_uri": url, "username": "nova",
            "password": PASSWORDS["nova"], "project_name": "service",
            "user_domain_name": "Default", "project_domain_name": "Default",
            "interface": "public",
        })
        return middleware, seen

    def _call(self, middleware, token: str | None) -> str:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "nova",
                   "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
        if token:
            environ["HTTP_X_AUTH_TOKEN"] = token
        status: list[str] = []
        b"".join(middleware(environ, lambda s, h, *a: status.append(s)))
        return status[0]

    async def test_validates_our_tokens(self):
        identity = RunningIdentity(self)
        _, token, _ = await identity.password_token("demo", project="demo")
        middleware, seen = self._middleware(identity.url)
        status = await threads.deferToThread(self._call, middleware, token)
        self.assertEqual("200 OK", status)
        headers = seen[0]
        self.assertEqual("Confirmed", headers["HTTP_X_IDENTITY_STATUS"])
        self.assertEqual(stable_id("user", "demo"), headers["HTTP_X_USER_ID"])
        self.assertEqual(stable_id("project", "demo"), headers["HTTP_X_PROJECT_ID"])
        self.assertEqual("member,reader", headers["HTTP_X_ROLES"])
        status = await threads.deferToThread(self._call, middleware, "bogus")
        self.assertEqual("401 Unauthorized", status)
