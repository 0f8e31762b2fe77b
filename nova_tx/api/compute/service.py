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


def make_site(conf: cfg.ConfigOpts) -> server.Site:
    """The compute API's twisted.web Site."""
    api_conf.register_opts(conf)
    router = APIRouter(conf, authenticator=make_authenticator(conf))
    return wsgi.ComputeSite(
        router.resource(),
        max_request_body_size=conf.oslo_middleware.max_request_body_size)


def make_api_listener(conf: cfg.ConfigOpts) -> internet.TCPServer:
    listener = internet.TCPServer(
        conf.osapi_compute_listen_port, make_site(conf), interface=conf.osapi_compute_listen)
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
        make_api_listener(conf).setServiceParent(daemon)
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
    listener = AdoptedPort(listen_fd, family, make_site(conf))
    listener.setName("osapi_compute")
    listener.setServiceParent(daemon)
    return daemon
