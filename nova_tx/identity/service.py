"""The ``nova-tx-identity`` daemon: the embedded identity on ``[embedded] identity_port``.

The all-in-one adds :func:`make_identity_listener` to its own tree when ``[embedded]
identity`` is set; ``nova-tx-identity`` (console script and twistd plugin) serves it
alone.
"""
from __future__ import annotations

from oslo_config import cfg
from twisted.application import internet
from twisted.web import server

from nova_tx.conf import embedded as embedded_conf
from nova_tx.identity.api import IdentityAPI
from nova_tx.service import NovaService


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the ``[embedded]`` identity options, unless they already are."""
    embedded_conf.register_opts(conf)


def make_identity_listener(conf: cfg.ConfigOpts, *, clock=None
                           ) -> tuple[internet.TCPServer, IdentityAPI]:
    """The listening service of the identity API, and the API it serves."""
    register_opts(conf)
    api = IdentityAPI(conf, clock=clock)
    site = server.Site(api.resource())
    site.displayTracebacks = False
    listener = internet.TCPServer(conf.embedded.identity_port, site,
                                  interface=conf.embedded.identity_listen)
    listener.setName("identity")
    return listener, api


def make_service(conf: cfg.ConfigOpts) -> NovaService:
    daemon = NovaService("nova-tx-identity", conf)
    listener, _ = make_identity_listener(conf)
    listener.setServiceParent(daemon)
    return daemon
