"""``nova-tx-identity``: the embedded identity on ``[embedded] identity_listen``:``identity_port``.

The same service runs alone (the console script and twistd plugin) and as a child of
the all-in-one when ``[embedded] identity`` is set. It reads its users from ``[embedded]
identity_users`` when it starts, so an unreadable entry ends the start with one line.
Its tokens live in its memory (``nova_tx.identity.tokens``): run one per deployment.
"""
from __future__ import annotations

from oslo_config import cfg
from twisted.application import internet
from twisted.web import server

from nova_tx import exception, log
from nova_tx.conf import embedded as embedded_conf
from nova_tx.identity.api import IdentityAPI
from nova_tx.service import NovaService

LOG = log.getLogger(__name__)

BINARY = "nova-tx-identity"


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the ``[embedded]`` identity options, unless they already are."""
    embedded_conf.register_opts(conf)


class IdentitySite(server.Site):
    """The identity's Site; its log lines say "Identity starting on <port>"."""

    def logPrefix(self) -> str:
        return "Identity"


class IdentityService(NovaService):
    """Owns the identity API and its listening port."""

    def __init__(self, conf: cfg.ConfigOpts, *, reactor=None, clock=None):
        register_opts(conf)
        super().__init__(BINARY, conf, reactor=reactor)
        self.clock = clock
        self.api: IdentityAPI | None = None
        self.listener: internet.TCPServer | None = None

    async def prepare(self) -> None:
        self.api = IdentityAPI(self.conf, clock=self.clock or self.reactor)
        site = IdentitySite(self.api.resource())
        site.displayTracebacks = False
        options = self.conf.embedded
        self.listener = internet.TCPServer(options.identity_port, site,
                                           interface=options.identity_listen,
                                           reactor=self.reactor)
        self.listener.setName("identity")
        self.listener.setServiceParent(self)
        LOG.info("Identity API on %s:%s (%d users)", options.identity_listen,
                 options.identity_port, len(self.api.directory.users))


    def reset(self) -> None:
        """SIGHUP: the users, the catalog and the token lifetime as the configuration
        now says; an unreadable one is logged and the current one kept."""
        super().reset()
        if self.api is None:
            return
        try:
            self.api.reload()
        except exception.ConfigError as e:
            LOG.error("Identity configuration not reloaded: %s", e.format_message())
            return
        LOG.info("Identity configuration reloaded (%d users)",
                 len(self.api.directory.users))


def make_service(conf: cfg.ConfigOpts) -> IdentityService:
    return IdentityService(conf)
