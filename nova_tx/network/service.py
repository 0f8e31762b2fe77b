"""``nova-tx-network``: the embedded network service on ``[embedded] network_port``.

The all-in-one adds the same service as a child when ``[embedded] network`` is set.
On its first start the service creates its tables and the seed networks.
"""
from __future__ import annotations

from oslo_config import cfg
from twisted.web import server

from nova_tx import log
from nova_tx.conf import embedded_services
from nova_tx.db import engines
from nova_tx.db.pool import DBThreadPool
from nova_tx.embedded_service import EmbeddedService
from nova_tx.embedded_web import make_authenticator
from nova_tx.network.embedded.app import NetworkServiceAPI
from nova_tx.network.embedded.seed import seed_networks
from nova_tx.network.embedded.store import NetworkStore

LOG = log.getLogger(__name__)

BINARY = "nova-tx-network"


class NetworkService(EmbeddedService):
    """The service's database pool, its tables and seed (in ``prepare``) and its site."""

    database_option = "network_database"

    def __init__(self, conf: cfg.ConfigOpts, *, reactor=None, authenticator=None):
        super().__init__(BINARY, conf, reactor=reactor)
        embedded_services.register_opts(conf)
        options = conf.embedded
        self.pool = DBThreadPool(engines.create_engine(options.network_database),
                                 name="nova-tx-network-db", reactor=self.reactor)
        self.store = NetworkStore(self.pool, base_mac=options.network_base_mac,
                                  mtu=options.network_mtu, reactor=self.reactor)
        self.api = NetworkServiceAPI(self.store, authenticator or make_authenticator(conf))
        self.listen(server.Site(self.api.resource()), options.network_port,
                    options.network_listen, "network")

    async def seed(self) -> None:
        options = self.conf.embedded
        if options.network_seed and await seed_networks(self.store, options):
            LOG.info("Network service seeded with the networks public and private")


def make_service(conf: cfg.ConfigOpts) -> NetworkService:
    return NetworkService(conf)
