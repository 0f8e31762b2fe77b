"""An embedded network service served by the test's reactor on a free port."""
from __future__ import annotations

import json

from nova_tx.network.service import NetworkService
from tests.image.fixture import EmbeddedServer

ADMIN = "admin:admin-project"
ALICE = "alice:project-a"
BOB = "bob:project-b"


class NetworkServer(EmbeddedServer):
    """``await start()`` in setUp; ``request(method, path, ...)`` in tests."""

    service_class = NetworkService
    what = "the network service"

    async def request(self, method: str, path: str, body=None, *, token: str | None = ADMIN,
                      raw: bytes | None = None, headers: dict | None = None):
        """(status, parsed JSON body or bytes) of one call."""
        response, content = await self._call(method, path, body, token, raw, headers)
        try:
            return response.code, json.loads(content) if content else None
        except ValueError:
            return response.code, content
