"""``nova-tx-image``: the embedded image store listening on ``[embedded] image_port``.

The all-in-one adds the same service as a child when ``[embedded] image`` is set.
On its first start the store creates its tables and adds the seed image.
"""
from __future__ import annotations

import os

from oslo_config import cfg
from sqlalchemy.engine import make_url
from twisted.application import internet
from twisted.internet import defer
from twisted.web import server

from nova_tx import log
from nova_tx.conf import embedded_services
from nova_tx.db import engines
from nova_tx.db.pool import DBThreadPool
from nova_tx.embedded_web import make_authenticator
from nova_tx.image.embedded.app import ImageStoreAPI
from nova_tx.image.embedded.seed import seed_store
from nova_tx.image.embedded.spool import spooling_request_factory
from nova_tx.image.embedded.store import ImageStore
from nova_tx.service import NovaService

LOG = log.getLogger(__name__)

BINARY = "nova-tx-image"


def ensure_sqlite_directory(url: str) -> None:
    """Create the directory of a SQLite file database (the state dir on a first start)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)


class ImageStoreService(NovaService):
    """The store's database pool, its tables and seed (in ``prepare``) and its site."""

    def __init__(self, conf: cfg.ConfigOpts, *, reactor=None, authenticator=None):
        super().__init__(BINARY, conf, reactor=reactor)
        embedded_services.register_opts(conf)
        options = conf.embedded
        self.pool = DBThreadPool(engines.create_engine(options.image_database),
                                 name="nova-tx-image-db", reactor=self.reactor)
        self.store = ImageStore(self.pool, options.image_dir, reactor=self.reactor)
        self.api = ImageStoreAPI(
            self.store, authenticator or make_authenticator(conf),
            size_cap=options.image_size_cap, limit_default=options.image_limit_param_default,
            limit_max=options.image_api_limit_max)
        site = server.Site(self.api.resource())
        site.displayTracebacks = False
        site.requestFactory = spooling_request_factory(options.image_dir,
                                                       options.image_size_cap)
        self.listener = internet.TCPServer(options.image_port, site,
                                           interface=options.image_listen)
        self.listener.setName("image")
        self.listener.setServiceParent(self)

    @property
    def port(self) -> int:
        """The port listened on (useful with ``image_port = 0``)."""
        return self.listener._port.getHost().port

    async def prepare(self) -> None:
        options = self.conf.embedded
        ensure_sqlite_directory(options.image_database)
        self.pool.start()
        await self.store.create_schema()
        if options.image_seed and await seed_store(self.store, options.image_size_cap):
            LOG.info("Image store seeded with the placeholder image nova-tx-tiny")

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


def make_service(conf: cfg.ConfigOpts) -> ImageStoreService:
    return ImageStoreService(conf)
