"""An embedded network service served by the test's reactor on a free port."""
from __future__ import annotations

import json

import treq
from oslo_config import cfg

from nova_tx.embedded_web import noauth2
from nova_tx.network.service import NetworkService
from tests.image.fixture import make_conf, track_connections

ADMIN = "admin:admin-project"
ALICE = "alice:project-a"
BOB = "bob:project-b"


class NetworkServer:
    """``await start()`` in setUp; ``request(method, path, ...)`` in tests."""

    def __init__(self, testcase, conf: cfg.ConfigOpts | None = None, **embedded):
        self.testcase = testcase
        self.conf = conf or make_conf(testcase, **embedded)
        self.service = NetworkService(self.conf, authenticator=noauth2())

    async def start(self) -> None:
        track_connections(self.testcase, self.service.listener.args[1])
        self.service.startService()
        self.testcase.addCleanup(self.service.stopService)
        await self.service.started
        assert not self.service.exit_code, "the network service failed to start"
        self.url = f"http://127.0.0.1:{self.service.port}"

    async def request(self, method: str, path: str, body=None, *, token: str | None = ADMIN,
                      raw: bytes | None = None, headers: dict | None = None):
        """(status, parsed JSON body or bytes) of one call."""
        all_headers = {"accept": "application/json"}
        if token is not None:
            all_headers["x-auth-token"] = token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["content-type"] = "application/json"
        all_headers.update(headers or {})
        response = await treq.request(method, self.url + path, data=data,
                                      headers={k: [v] for k, v in all_headers.items()},
                                      persistent=False)
        content = await response.content()
        try:
            return response.code, json.loads(content) if content else None
        except ValueError:
            return response.code, content
