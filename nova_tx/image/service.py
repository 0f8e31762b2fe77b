"""``nova-tx-image``: the embedded image store listening on ``[embedded] image_port``.

The all-in-one adds the same service as a child when ``[embedded] image`` is set.
On its first start the store creates its tables and adds the seed image.
"""
from __future__ import annotations

from oslo_config import cfg
from twisted.web import server

from nova_tx import log
from nova_tx.conf import embedded_services
from nova_tx.db import engines
from nova_tx.db.pool import DBThreadPool
from nova_tx.embedded_service import EmbeddedService, ensure_sqlite_directory
from nova_tx.embedded_web import make_authenticator
from nova_tx.image.embedded.app import ImageStoreAPI
from nova_tx.image.embedded.seed import seed_store
from nova_tx.image.embedded.spool import spooling_request_factory
from nova_tx.image.embedded.store import ImageStore

__all__ = ["BINARY", "ImageStoreService", "ensure_sqlite_directory", "make_service"]

LOG = log.getLogger(__name__)

BINARY = "nova-tx-image"


class ImageStoreService(EmbeddedService):
    """The store's database pool, its tables and seed (in ``prepare``) and its site."""

    database_option = "image_database"

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
        site.requestFactory = spooling_request_factory(options.image_dir,
                                                       options.image_size_cap)
        self.listen(site, options.image_port, options.image_listen, "image")

    async def seed(self) -> None:
        options = self.conf.embedded
        if options.image_seed and await seed_store(self.store, options.image_size_cap):
            LOG.info("Image store seeded with the placeholder image nova-tx-tiny")


def make_service(conf: cfg.ConfigOpts) -> ImageStoreService:
    return ImageStoreService(conf)
