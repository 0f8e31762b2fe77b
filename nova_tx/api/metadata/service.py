"""The ``nova-api-metadata`` daemon: the metadata service listening on
``[DEFAULT] metadata_listen`` / ``metadata_listen_port`` (8775).

With ``[DEFAULT] metadata_workers`` above 1 (Nova's default: one per CPU) worker
processes share the socket (``nova_tx.api.workers``); with 1, or with the in-process
bus of the all-in-one, this process serves it. Each serving process has its own
cache of rendered metadata.
"""
from __future__ import annotations

import os

from oslo_config import cfg
from twisted.application import internet, service
from twisted.web import server

from nova_tx import log
from nova_tx.api import workers as api_workers
from nova_tx.conf import api as api_conf
from nova_tx.conf import metadata as metadata_conf
from nova_tx.conf import neutron as neutron_conf
from nova_tx.service import NovaService

LOG = log.getLogger(__name__)

WORKER_BUILDER = "nova_tx.api.metadata.service:make_worker_service"


def register_opts(conf: cfg.ConfigOpts) -> None:
    from nova_tx.conf import database as database_conf

    api_conf.register_opts(conf)
    metadata_conf.register_opts(conf)
    database_conf.register_opts(conf)
    if "neutron" not in conf:
        neutron_conf.register_opts(conf)


class MetadataComponents(service.Service):
    """The databases the handler reads: the API database's pool and the cells' engines
    or, with ``[api] local_metadata_per_cell``, the local cell's pool; they start and
    stop with this service. The network client (load-balancer mode) is made on first
    use."""

    name = "metadata_components"

    def __init__(self, conf: cfg.ConfigOpts):
        from nova_tx.conf import database as database_conf
        from nova_tx.db import engines
        from nova_tx.db.cells import CellEngines
        from nova_tx.db.pool import DBThreadPool

        register_opts(conf)
        self.conf = conf
        self.api_db = self.cell_db = self.cells = None
        self._network = None
        if conf.api.local_metadata_per_cell:
            if conf.database.connection:
                engine = engines.create_engine(conf.database.connection,
                                               **database_conf.engine_args(conf.database))
                self.cell_db = DBThreadPool(engine, name="nova-metadata-cell-db")
            else:
                LOG.warning("[api] local_metadata_per_cell without [database] connection: "
                            "metadata requests will fail")
        elif conf.api_database.connection:
            engine = engines.create_engine(conf.api_database.connection,
                                           **database_conf.engine_args(conf.api_database))
            self.api_db = DBThreadPool(engine, name="nova-metadata-api-db")
            self.cells = CellEngines(conf)
        else:
            LOG.warning("[api_database] connection is not set: metadata requests will "
                        "fail")

    @property
    def network(self):
        if self._network is None:
            from nova_tx.network.api import make_network_api

            self._network = make_network_api(self.conf)
        return self._network

    def startService(self) -> None:
        service.Service.startService(self)
        for pool in (self.api_db, self.cell_db):
            if pool is not None:
                pool.start()

    def stopService(self):
        from twisted.internet import defer

        service.Service.stopService(self)
        stops = [pool.stop() for pool in (self.api_db, self.cell_db) if pool is not None]
        if self._network is not None and hasattr(self._network, "close"):
            stops.append(self._network.close())
        if self.cells is not None:
            self.cells.dispose()
        return defer.gatherResults(stops)


class _LazyNetwork:
    def __init__(self, components: MetadataComponents):
        self._components = components

    def __getattr__(self, name: str):
        return getattr(self._components.network, name)


def make_site(conf: cfg.ConfigOpts, components: MetadataComponents, *, reactor=None
              ) -> server.Site:
    from nova_tx.api.metadata.handler import MetadataApp

    app = MetadataApp(conf, api_db=components.api_db, cells=components.cells,
                      cell_db=components.cell_db, network=_LazyNetwork(components),
                      reactor=reactor)
    site = server.Site(app.resource())
    site.displayTracebacks = False
    site.metadata_app = app
    return site


def add_invalidator(conf: cfg.ConfigOpts, site: server.Site, parent) -> None:
    """When notifications go on a bus, a consumer of instance changes that drops
    their cached metadata (``nova_tx.metadata.invalidation``)."""
    from nova_tx.bus import notifier as bus_notifier
    from nova_tx.bus.url import get_notification_transport
    from nova_tx.conf import messaging as messaging_conf
    from nova_tx.metadata.invalidation import CacheInvalidator

    messaging_conf.register_opts(conf)
    drivers = set(conf.oslo_messaging_notifications.driver)
    if not drivers & {bus_notifier.MESSAGING_V2, bus_notifier.MESSAGING}:
        return
    if conf.api.metadata_cache_expiration <= 0:
        return
    transport = get_notification_transport(conf)
    # Stopped in reverse: the consumer before its transport closes.
    _ClosesTransport(transport).setServiceParent(parent)
    CacheInvalidator(conf, lambda: site.metadata_app.cache, transport).setServiceParent(
        parent)


class _ClosesTransport(service.Service):
    def __init__(self, transport):
        self.transport = transport

    def stopService(self):
        service.Service.stopService(self)
        return self.transport.close()


def worker_count(conf: cfg.ConfigOpts) -> int:
    register_opts(conf)
    if str(getattr(conf, "transport_url", "") or "").startswith("memory:"):
        return 1
    count = conf.metadata_workers
    if count is None:
        count = os.cpu_count() or 1
    return max(1, count)


def make_service(conf: cfg.ConfigOpts) -> NovaService:
    register_opts(conf)
    daemon = NovaService("nova-api-metadata", conf)
    count = worker_count(conf)
    if count == 1:
        components = MetadataComponents(conf)
        components.setServiceParent(daemon)
        site = make_site(conf, components)
        add_invalidator(conf, site, daemon)
        listener = internet.TCPServer(conf.metadata_listen_port, site,
                                      interface=conf.metadata_listen)
        listener.setName("metadata")
        listener.setServiceParent(daemon)
    else:
        pool = api_workers.WorkerPool(
            conf, binary="nova-api-metadata", host=conf.metadata_listen,
            port=conf.metadata_listen_port, count=count, builder=WORKER_BUILDER)
        pool.setName("metadata")
        pool.setServiceParent(daemon)
    return daemon


def make_worker_service(conf: cfg.ConfigOpts, listen_fd: int, family: int) -> NovaService:
    """A worker process's tree: the metadata service on the parent's socket."""
    from nova_tx.api.compute.service import AdoptedPort

    register_opts(conf)
    daemon = NovaService("nova-api-metadata", conf)
    components = MetadataComponents(conf)
    components.setServiceParent(daemon)
    site = make_site(conf, components)
    add_invalidator(conf, site, daemon)
    listener = AdoptedPort(listen_fd, family, site)
    listener.setName("metadata")
    listener.setServiceParent(daemon)
    return daemon
