"""The ``nova-api`` daemon: the compute API listening on ``osapi_compute_listen``.

With ``[DEFAULT] osapi_compute_workers`` above 1 (Nova's default: one per CPU) the
daemon binds the socket and worker processes serve it (``nova_tx.api.workers``);
with 1, or with the in-process bus (``transport_url = memory://``, which other
processes cannot reach, as in the all-in-one), this process serves it.
"""
from __future__ import annotations

import os

from oslo_config import cfg
from twisted.application import internet, service
from twisted.web import server

from nova_tx import exception, log
from nova_tx.api import auth
from nova_tx.api import workers as api_workers
from nova_tx.api.compute import wsgi
from nova_tx.api.compute.router import APIRouter
from nova_tx.conf import api as api_conf
from nova_tx.service import NovaService

LOG = log.getLogger(__name__)

WORKER_BUILDER = "nova_tx.api.compute.service:make_worker_service"


def make_authenticator(conf: cfg.ConfigOpts):
    """``[api] auth_strategy``'s authenticator; if it cannot be built, one that
    fails each authenticated request (500, reason logged) so the daemon still serves
    its version documents and says what to fix."""
    try:
        return auth.make_authenticator(conf)
    except exception.ConfigError as e:
        LOG.error("Compute API requests that need a token will fail: %s",
                  e.format_message())
        return auth.UnavailableAuthenticator(e)


class APIComponents(service.Service):
    """What the API's handlers share in one process (``req.app.components``):

    - ``api_db``: the ``DBThreadPool`` of ``[api_database] connection`` (absent when
      the option is unset; handlers that need it then answer 500);
    - ``versioned_notifier``: the versioned ``Notifier`` (publisher ``nova-api:<host>``)
      and ``notifier``, the legacy one (``api.<host>``), on the notification transport
      when ``[oslo_messaging_notifications] driver`` publishes on a bus;
    - ``quota``: the ``QuotaEngine`` and ``cell_engines`` (one Engine per cell database,
      disposed on stop) it counts instances in.

    The pool and the transport start and stop with this service.
    """

    name = "api_components"

    def __init__(self, conf: cfg.ConfigOpts):
        from nova_tx.bus import notifier as bus_notifier
        from nova_tx.bus.url import get_notification_transport
        from nova_tx.conf import database as database_conf
        from nova_tx.conf import messaging as messaging_conf
        from nova_tx.db import engines
        from nova_tx.db.pool import DBThreadPool

        database_conf.register_opts(conf)
        messaging_conf.register_opts(conf)
        self.components: dict = {}
        self.pool = None
        if conf.api_database.connection:
            engine = engines.create_engine(conf.api_database.connection,
                                           **database_conf.engine_args(conf.api_database))
            self.pool = DBThreadPool(engine, name="nova-api-db")
            self.components["api_db"] = self.pool
        else:
            LOG.warning("[api_database] connection is not set: the API's resources that "
                        "need the API database will fail")
        drivers = set(conf.oslo_messaging_notifications.driver)
        self.transport = (get_notification_transport(conf)
                          if drivers & {bus_notifier.MESSAGING_V2, bus_notifier.MESSAGING}
                          else None)
        self.components["versioned_notifier"] = bus_notifier.get_versioned_notifier(
            self.transport, conf, "nova-api:%s" % conf.host)
        self.components["notifier"] = bus_notifier.get_notifier(self.transport, conf, "api")
        # One quota engine per process, so that the servers API can register its
        # instance counter on the engine the quota, limits and key pair handlers use.
        from nova_tx.db.cells import CellEngines
        from nova_tx.quota import QuotaEngine

        self.cells = None
        if self.pool is not None:
            self.cells = self.components["cell_engines"] = CellEngines(conf)
        self.components["quota"] = QuotaEngine(conf, self.pool, cells=self.cells)

    def startService(self) -> None:
        service.Service.startService(self)
        if self.pool is not None:
            self.pool.start()
        if self.transport is not None:
            self.transport.connect().addErrback(
                lambda f: LOG.error("Notification transport: %s", f.getErrorMessage()))

    def stopService(self):
        service.Service.stopService(self)
        from twisted.internet import defer

        stops = []
        if self.transport is not None:
            stops.append(self.transport.close())
        if self.pool is not None:
            stops.append(self.pool.stop())
        if self.cells is not None:
            self.cells.dispose()
        return defer.gatherResults(stops)


def make_site(conf: cfg.ConfigOpts, components: dict | None = None) -> server.Site:
    """The compute API's twisted.web Site; ``components`` as :class:`APIComponents`
    makes them."""
    api_conf.register_opts(conf)
    router = APIRouter(conf, authenticator=make_authenticator(conf), components=components)
    return wsgi.ComputeSite(
        router.resource(),
        max_request_body_size=conf.oslo_middleware.max_request_body_size)


def make_api_listener(conf: cfg.ConfigOpts, components: dict | None = None
                      ) -> internet.TCPServer:
    listener = internet.TCPServer(
        conf.osapi_compute_listen_port, make_site(conf, components),
        interface=conf.osapi_compute_listen)
    listener.setName("osapi_compute")
    return listener


def worker_count(conf: cfg.ConfigOpts) -> int:
    """How many processes serve the API (1: this one)."""
    api_conf.register_opts(conf)
    if str(getattr(conf, "transport_url", "") or "").startswith("memory:"):
        return 1
    count = conf.osapi_compute_workers
    if count is None:
        count = os.cpu_count() or 1
    return max(1, count)


def make_service(conf: cfg.ConfigOpts) -> NovaService:
    daemon = NovaService("nova-api", conf)
    count = worker_count(conf)
    if count == 1:
        shared = APIComponents(conf)
        shared.setServiceParent(daemon)
        make_api_listener(conf, shared.components).setServiceParent(daemon)
    else:
        pool = api_workers.WorkerPool(
            conf, binary="nova-api", host=conf.osapi_compute_listen,
            port=conf.osapi_compute_listen_port, count=count, builder=WORKER_BUILDER)
        pool.setName("osapi_compute")
        pool.setServiceParent(daemon)
    return daemon


class AdoptedPort(service.Service):
    """Serves ``factory`` on a listening socket inherited from the parent."""

    def __init__(self, fd: int, family: int, factory, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.fd = fd
        self.family = family
        self.factory = factory
        self.reactor = reactor
        self._port = None

    def startService(self) -> None:
        service.Service.startService(self)
        self._port = self.reactor.adoptStreamPort(self.fd, self.family, self.factory)
        # adoptStreamPort serves a duplicate; ours is not needed any more.
        os.close(self.fd)

    def stopService(self):
        service.Service.stopService(self)
        if self._port is not None:
            port, self._port = self._port, None
            return port.stopListening()
        return None


def make_worker_service(conf: cfg.ConfigOpts, listen_fd: int, family: int) -> NovaService:
    """A worker process's tree: the API on the parent's socket."""
    daemon = NovaService("nova-api", conf)
    shared = APIComponents(conf)
    shared.setServiceParent(daemon)
    listener = AdoptedPort(listen_fd, family, make_site(conf, shared.components))
    listener.setName("osapi_compute")
    listener.setServiceParent(daemon)
    return daemon
