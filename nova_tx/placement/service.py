"""``nova-tx-placement``: the Placement API on ``[embedded] placement_listen``:``placement_port``.

The same service runs alone (the console script and twistd plugin) and as a child of
the all-in-one when ``[embedded] placement`` is set. Its tables are in the API
database unless ``[placement_database] connection`` names another; they are created by
``nova-manage api_db sync`` (or, for a database of its own, on start when
``[placement_database] sync_on_startup`` is set). On start it adds the standard
resource classes and traits its os-resource-classes and os-traits know, and makes
itself the in-process Placement of :mod:`nova_tx.placement.client`.
"""
from __future__ import annotations

from oslo_config import cfg
from twisted.application import internet
from twisted.web import server

from nova_tx import exception, log
from nova_tx.conf import placement as placement_conf
from nova_tx.db import engines, migration
from nova_tx.db.pool import DBThreadPool
from nova_tx.placement import client
from nova_tx.placement import db as placement_db
from nova_tx.placement.api.app import PlacementAPI
from nova_tx.service import NovaService

LOG = log.getLogger(__name__)

BINARY = "nova-tx-placement"


class PlacementSite(server.Site):
    """The Placement API's Site; its log lines say "Placement starting on <port>"."""

    def logPrefix(self) -> str:
        return "Placement"


class PlacementService(NovaService):
    """Owns Placement's database pool and its listening port."""

    def __init__(self, conf: cfg.ConfigOpts, *, reactor=None):
        placement_conf.register_opts(conf)
        super().__init__(BINARY, conf, reactor=reactor)
        self.pool: DBThreadPool | None = None
        self.api: PlacementAPI | None = None
        self.listener: internet.TCPServer | None = None

    async def prepare(self) -> None:
        engine = placement_db.create_engine(self.conf)
        pool = DBThreadPool(engine, reactor=self.reactor, name="nova-tx-placement-db")
        pool.start()
        self.pool = pool
        try:
            await pool.do_with_engine(self._prepare_database)
        except BaseException:
            self.pool = None
            await pool.stop()
            raise
        self.api = PlacementAPI(pool, self.conf, reactor=self.reactor)
        site = PlacementSite(self.api.resource())
        site.displayTracebacks = False
        options = self.conf.embedded
        self.listener = internet.TCPServer(options.placement_port, site,
                                           interface=options.placement_listen,
                                           reactor=self.reactor)
        self.listener.setName("placement")
        self.listener.setServiceParent(self)
        client.register_local(self.api)
        LOG.info("Placement API on %s:%s", options.placement_listen, options.placement_port)

    def _prepare_database(self, engine) -> None:
        engines.check_connection(engine)
        if (not placement_db.in_api_database(self.conf)
                and self.conf.placement_database.sync_on_startup):
            migration.db_sync(engine, "placement")
        if migration.db_version(engine, "placement") is None:
            raise exception.ConfigError(
                reason="Placement's tables do not exist; run \"nova-manage api_db sync\" "
                "(or set [placement_database] sync_on_startup for a database of its own)")
        placement_db.sync_standards(engine)

    def stopService(self):
        api = self.api
        if api is not None:
            client.unregister_local(api)
        d = super().stopService()
        if api is not None:
            d.addBoth(lambda result: api.close().addBoth(lambda _: result))

        def stop_pool(result):
            if self.pool is None:
                return result
            pool, self.pool = self.pool, None
            return pool.stop().addCallback(lambda _: result)

        return d.addBoth(stop_pool)


def make_service(conf: cfg.ConfigOpts) -> PlacementService:
    return PlacementService(conf)
