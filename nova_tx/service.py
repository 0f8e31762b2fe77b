"""The lifecycle every nova-tx daemon shares, and the twistd plugin that makes one.

A daemon is a ``NovaService``: a ``MultiService`` that logs who it is, may do async
preparation (database bootstrap, say) before its children start, and, if preparing or
starting fails, logs one line and stops the reactor with a failure status instead of
leaving a half-started process behind. The same object is what ``twistd nova-api``
runs through ``twisted/plugins`` and what the ``nova-api`` console script runs in the
foreground (``nova_tx.cmd.services``).
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence

from oslo_config import cfg
from twisted.application import service
from twisted.application.service import IServiceMaker
from twisted.internet import defer
from twisted.plugin import IPlugin
from twisted.python import usage
from zope.interface import implementer

from nova_tx import config, exception, log, version

LOG = log.getLogger(__name__)

#: Each daemon's service builder, ``module:function`` taking the parsed ConfigOpts.
BUILDERS: dict[str, str] = {
    "nova-api": "nova_tx.api.compute.service:make_service",
    "nova-api-metadata": "nova_tx.api.metadata.service:make_service",
    "nova-conductor": "nova_tx.conductor.service:make_service",
    "nova-scheduler": "nova_tx.scheduler.service:make_service",
    "nova-compute": "nova_tx.compute.service:make_service",
    "nova-allinone": "nova_tx.allinone:make_service",
}


class NovaService(service.MultiService):
    """A daemon (or one service of the all-in-one): ``binary`` names it as Nova does."""

    def __init__(self, binary: str, conf: cfg.ConfigOpts, *, reactor=None):
        super().__init__()
        self.binary = binary
        self.conf = conf
        self.setName(binary)
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self._failed = False
        #: Fires when the service is up (children started), or with the start failure.
        self.started: defer.Deferred | None = None

    @property
    def exit_code(self) -> int:
        """0 while healthy; 1 once preparing or starting this or a child has failed."""
        children = (c.exit_code for c in self if isinstance(c, NovaService))
        return max(int(self._failed), *children, 0)

    async def prepare(self) -> None:
        """Work that must finish before the children start; nothing by default."""

    def startService(self) -> None:
        service.Service.startService(self)
        self.started = defer.Deferred.fromCoroutine(self._start())
        self.started.addErrback(self._start_failed)

    async def _start(self) -> None:
        LOG.info(
            "Starting %s (nova-tx %s, compatible with Nova %s); config files: %s",
            self.binary, version.version_string, version.nova_release,
            ", ".join(self.conf.config_file) or "none",
        )
        self.conf.log_opt_values(LOG, logging.DEBUG)
        await self.prepare()
        if not self.running:
            # SIGTERM arrived while preparing: do not start what is being stopped.
            return
        for child in self:
            child.startService()
        LOG.info("%s started", self.binary)

    def _start_failed(self, failure) -> None:
        self._failed = True
        error = failure.value
        message = error.format_message() if isinstance(error, exception.NovaException) \
            else "%s: %s" % (type(error).__name__, error)
        LOG.error("%s failed to start: %s", self.binary, " ".join(message.split()))
        if not isinstance(error, exception.NovaException):
            LOG.debug("start failure detail", exc_info=(failure.type, error, failure.tb))
        if self.reactor.running:
            self.reactor.stop()

    def stopService(self) -> defer.Deferred:
        LOG.info("Stopping %s", self.binary)
        d = defer.maybeDeferred(super().stopService)
        d.addCallback(lambda _: LOG.info("%s stopped", self.binary))
        return d


def build_service(binary: str, conf: cfg.ConfigOpts) -> NovaService:
    module_name, function = BUILDERS[binary].split(":")
    return getattr(importlib.import_module(module_name), function)(conf)


class Options(usage.Options):
    """Hands every argument to oslo.config, so twistd never shadows a documented flag.

    ``twistd nova-api --config-file /etc/nova/nova.conf --debug`` then means exactly
    what ``nova-api --config-file /etc/nova/nova.conf --debug`` means.
    """

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        import sys

        self["argv"] = list(sys.argv[1:] if options is None else options)

    def getUsage(self, width: int | None = None) -> str:
        return ("Takes the options of nova.conf and oslo.log: --config-file, --config-dir, "
                "--debug, --log-file, --log-dir, --use-json, --log-config-append, ...")


@implementer(IServiceMaker, IPlugin)
class ServiceMaker:
    """The twistd plugin of one daemon (``twistd -n nova-api --config-file ...``)."""

    options = Options

    def __init__(self, binary: str, description: str):
        self.tapname = binary
        self.description = description

    def makeService(self, options: Options) -> NovaService:
        conf = configure(self.tapname, options["argv"], route_twisted=False)
        return build_service(self.tapname, conf)


def configure(binary: str, argv: Sequence[str], *, route_twisted: bool = True
              ) -> cfg.ConfigOpts:
    """Parse the daemon's command line and configuration files and set up logging."""
    from nova_tx.conf import CONF

    config.parse_args([binary, *argv], conf=CONF)
    log.setup(CONF, binary, route_twisted=route_twisted)
    return CONF


def make_plain_service(binary: str) -> Callable[[cfg.ConfigOpts], NovaService]:
    """A builder for a daemon whose work is all in the children later code adds."""

    def make_service(conf: cfg.ConfigOpts) -> NovaService:
        return NovaService(binary, conf)

    return make_service
