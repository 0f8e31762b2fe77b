"""A Placement API served by the test's reactor on a free port, over a fresh database."""
from __future__ import annotations

import json

import treq
from twisted.internet import reactor
from twisted.web import server

from nova_tx.db.pool import DBThreadPool
from nova_tx.placement.api.app import PlacementAPI
from tests.placement.db import placement_engine

ADMIN = {"x-auth-token": "admin", "accept": "application/json"}


class PlacementServer:
    """``start()`` in setUp; ``request(method, path, body, version=...)`` in tests."""

    def __init__(self, testcase, backend: str = "sqlite", conf=None):
        self.testcase = testcase
        self.engine = placement_engine(testcase, backend)
        self.pool = DBThreadPool(self.engine, reactor=reactor)
        self.api = PlacementAPI(self.pool, conf)

    def start(self) -> None:
        self.pool.start()
        self.port = reactor.listenTCP(0, server.Site(self.api.resource()),
                                      interface="127.0.0.1")
        self.url = f"http://127.0.0.1:{self.port.getHost().port}"
        self.testcase.addCleanup(self.pool.stop)
        self.testcase.addCleanup(self.api.close)
        self.testcase.addCleanup(self.port.stopListening)

    async def request(self, method: str, path: str, body=None, *, version: str | None = None,
                      headers: dict | None = None, raw: bytes | None = None):
        """(status, headers, parsed JSON body or text) of one call."""
        all_headers = dict(ADMIN)
        if version:
            all_headers["openstack-api-version"] = f"placement {version}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["content-type"] = "application/json"
        all_headers.update(headers or {})
        all_headers = {k: v for k, v in all_headers.items() if v is not None}
        response = await treq.request(method, self.url + path, data=data,
                                      headers={k: [v] for k, v in all_headers.items()},
                                      persistent=False)
        text = await response.text()
        try:
            content = json.loads(text) if text else None
        except ValueError:
            content = text
        return response.code, response.headers, content
