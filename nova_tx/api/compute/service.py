"""The ``nova-api`` daemon: the compute API listening on ``osapi_compute_listen``."""
from __future__ import annotations

from oslo_config import cfg
from twisted.application import internet
from twisted.web import server

from nova_tx.api.compute.router import APIRouter
from nova_tx.service import NovaService


def make_api_listener(conf: cfg.ConfigOpts) -> internet.TCPServer:
    site = server.Site(APIRouter().resource())
    site.displayTracebacks = False
    listener = internet.TCPServer(
        conf.osapi_compute_listen_port, site, interface=conf.osapi_compute_listen)
    listener.setName("osapi_compute")
    return listener


def make_service(conf: cfg.ConfigOpts) -> NovaService:
    daemon = NovaService("nova-api", conf)
    make_api_listener(conf).setServiceParent(daemon)
    return daemon
