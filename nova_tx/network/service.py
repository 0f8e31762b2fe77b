"""``nova-tx-network``: the embedded network service on ``[embedded] network_port``.

The all-in-one adds the same service as a child when ``[embedded] network`` is set.
On its first start the service creates its tables and the seed networks.
"""
from __future__ import annotations

from oslo_config import cfg
from twisted.application import internet
from twisted.internet import defer
from twisted.web import server

from nova_tx import log
from nova_tx.conf import embedded_services
from nova_tx.db import engines
from nova_tx.db.pool import DBThreadPool
from nova_tx.embedded_web import make_authenticator
from nova_tx.image.service import ensure_sqlite_directory
from nova_tx.network.embedded.app import NetworkServiceAPI
from nova_tx.network.embedded.seed import seed_networks
from nova_tx.network.embedded.store import NetworkStore
from nova_tx.service import NovaService

LOG = log.getLogger(__name__)

BINARY = "nova-tx-network"


class NetworkService(NovaService):
    """The service's database pool, its tables and seed (in ``prepare``) and its site."""

    def __init__(self, conf: cfg.ConfigOpts, *, reactor=None, authenticator=None):
        super().__init__(BINARY, conf, reactor=reactor)
        embedded_services.register_opts(conf)
        options = conf.embedded
        self.pool = DBThreadPool(engines.create_engine(options.network_database),
                                 name="nova-tx-network-db", reactor=self.reactor)
        self.store = NetworkStore(self.pool, base_mac=options.network_base_mac,
                                  mtu=options.network_mtu, reactor=self.reactor)
        self.api = NetworkServiceAPI(self.store, authenticator or make_authenticator(conf))
        site = server.Site(self.api.resource())
        site.displayTracebacks = False
        self.listener = internet.TCPServer(options.network_port, site,
                                           interface=options.network_listen)
        self.listener.setName("network")
        self.listener.setServiceParent(self)

    @property
    def port(self) -> int:
        """The port listened on (useful with ``network_port = 0``)."""
        return self.listener._port.getHost().port

    async def prepare(self) -> None:
        options = self.conf.embedded
        ensure_sqlite_directory(options.network_database)
        self.pool.start()
        await self.store.create_schema()
        if options.network_seed and await seed_networks(self.store, options):
            LOG.info("Network service seeded with the networks public and private")

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


def make_service(conf: cfg.ConfigOpts) -> NetworkService:
    return NetworkService(conf)
