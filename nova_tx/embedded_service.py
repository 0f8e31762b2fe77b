"""What the embedded image store and network service share as daemons.

Each is a :class:`NovaService` (``nova-tx-image``, ``nova-tx-network``, or a child of
the all-in-one) with a database pool, a store on it and a site on its own port. On
start (``prepare``) the store's SQLite directory is made, the pool started, the tables
created and, the first time, the seed added. On stop the pool is stopped and the
authenticator's timers and connections are closed.
"""
from __future__ import annotations

import os

from sqlalchemy.engine import make_url
from twisted.application import internet
from twisted.internet import defer
from twisted.web import server

from nova_tx.service import NovaService


def ensure_sqlite_directory(url: str) -> None:
    """Create the directory of a SQLite file database (the state dir on a first start)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)


class EmbeddedService(NovaService):
    """Base of the embedded services: ``self.pool``, ``self.store`` (with
    ``create_schema()``) and ``self.api`` (with ``authenticator``) are set by the
    subclass, which calls :meth:`listen` with its site and says in :meth:`seed` what
    its first start adds."""

    #: The ``[embedded]`` option holding the service's database URL.
    database_option: str

    def listen(self, site: server.Site, port: int, interface: str, name: str) -> None:
        """Serve ``site`` (without tracebacks) on ``interface:port`` as child ``name``."""
        site.displayTracebacks = False
        self.listener = internet.TCPServer(port, site, interface=interface)
        self.listener.setName(name)
        self.listener.setServiceParent(self)

    @property
    def port(self) -> int:
        """The port listened on (useful with a port option of 0)."""
        return self.listener._port.getHost().port

    async def prepare(self) -> None:
        ensure_sqlite_directory(getattr(self.conf.embedded, self.database_option))
        self.pool.start()
        await self.store.create_schema()
        await self.seed()

    async def seed(self) -> None:
        """Add what a first start adds (when the options ask for it)."""

    def stopService(self) -> defer.Deferred:
        stopped = super().stopService()
        stopped.addBoth(lambda result: self._close().addCallback(lambda _: result))
        return stopped

    def _close(self) -> defer.Deferred:
        """The database pool, and the authenticator's timers and connections."""
        closing = [self.pool.stop()]
        close = getattr(self.api.authenticator, "close", None)
        if callable(close):
            closing.append(defer.maybeDeferred(close))
        return defer.gatherResults(closing, consumeErrors=True)
