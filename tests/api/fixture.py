"""A compute API on a free port with the test-only resources, and an HTTP client."""
from __future__ import annotations

import json

from oslo_config import cfg
from twisted.internet import reactor
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from nova_tx.api.compute import wsgi
from nova_tx.api.compute.router import APIRouter
from nova_tx.conf import api as api_conf
from nova_tx.conf import default


def make_conf(**api_overrides) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    default.register_opts(conf)
    api_conf.register_opts(conf)
    conf([], project="nova")
    conf.set_override("auth_strategy", "noauth2", group="api")
    for name, value in api_overrides.items():
        conf.set_override(name, value, group="api")
    return conf


class Reply:
    def __init__(self, response, body: bytes):
        self.code = response.code
        self.headers = response.headers
        #: The announced length (twisted's client takes Content-Length out of headers).
        self.length = response.length
        self.raw = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name: str) -> str | None:
        values = self.headers.getRawHeaders(name)
        return None if values is None else values[-1]

    def all(self, name: str) -> list[str]:
        return self.headers.getRawHeaders(name) or []


class APIServer:
    """Serves the test resources; ``await server.request(...)`` returns a Reply."""

    def __init__(self, testcase, conf=None, resources=None, max_body=114688,
                 authenticator=None):
        from nova_tx.api.auth import make_authenticator
        from tests.api import widgets

        self.conf = conf or make_conf()
        router = APIRouter(self.conf, resources=resources or [widgets.routes],
                           authenticator=authenticator or make_authenticator(self.conf))
        site = wsgi.ComputeSite(router.resource(), max_request_body_size=max_body)
        self.port = reactor.listenTCP(0, site, interface="127.0.0.1")
        testcase.addCleanup(self.port.stopListening)
        self.base = "http://127.0.0.1:%d" % self.port.getHost().port
        self.agent = Agent(reactor)

    async def request(self, method: str, path: str, *, headers: dict | None = None,
                      body: bytes | str | dict | None = None, token: str | None = "demo:abc1"
                      ) -> Reply:
        raw_headers: dict[bytes, list[bytes]] = {}
        if token is not None:
            raw_headers[b"X-Auth-Token"] = [token.encode()]
        for name, value in (headers or {}).items():
            values = value if isinstance(value, list) else [value]
            raw_headers[name.encode()] = [v.encode() for v in values]
        producer = None
        if body is not None:
            if isinstance(body, dict):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            raw_headers.setdefault(b"Content-Type", [b"application/json"])
            from io import BytesIO

            producer = FileBodyProducer(BytesIO(body))
        response = await self.agent.request(
            method.encode(), (self.base + path).encode(), Headers(raw_headers), producer)
        return Reply(response, await readBody(response))
