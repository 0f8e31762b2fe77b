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
import signal
from collections.abc import Sequence

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
    "nova-tx-placement": "nova_tx.placement.service:make_service",
    "nova-tx-identity": "nova_tx.identity.service:make_service",
    "nova-tx-image": "nova_tx.image.service:make_service",
    "nova-tx-network": "nova_tx.network.service:make_service",
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
        self._stopping = False
        #: Fires when the service is up (children started), or with the start failure.
        self.started: defer.Deferred | None = None

    @property
    def exit_code(self) -> int:
        """0 while healthy; 1 once preparing or starting this or a child has failed."""
        children = (c.exit_code for c in self if isinstance(c, NovaService))
        return max(int(self._failed), *children, 0)

    async def prepare(self) -> None:
        """Work that must finish before the children start; nothing by default."""

    @property
    def is_root(self) -> bool:
        """Whether this is the process's daemon rather than a service of the all-in-one."""
        return not isinstance(self.parent, NovaService)

    def privilegedStartService(self) -> None:
        # Children (listening ports among them) start only after prepare(), in
        # _start, where a failure is reported in one line; twistd would otherwise bind
        # them here, before the databases are ready, and print a traceback on error.
        service.Service.privilegedStartService(self)

    def startService(self) -> None:
        service.Service.startService(self)
        self.started = defer.Deferred.fromCoroutine(self._start())
        self.started.addErrback(self._start_failed)

    async def _start(self) -> None:
        if self.is_root:
            LOG.info(
                "Starting %s (nova-tx %s, compatible with Nova %s); config files: %s",
                self.binary, version.version_string, version.nova_release,
                ", ".join(self.conf.config_file) or "none",
            )
            self.conf.log_opt_values(LOG, logging.DEBUG)
        else:
            LOG.info("Starting %s", self.binary)
        await self.prepare()
        for child in self:
            child.startService()
            if isinstance(child, NovaService):
                # One after the other: in the all-in-one the compute's first call
                # must find the conductor already consuming.
                await child.started
                if child.exit_code:
                    return
        LOG.info("%s started", self.binary)

    def _start_failed(self, failure) -> None:
        if failure.check(defer.CancelledError) and self._stopping:
            LOG.info("%s stopped before it had started", self.binary)
            return
        self._failed = True
        error = failure.value
        message = exception.one_line(error)
        if not isinstance(error, exception.NovaException):
            message = "%s: %s" % (type(error).__name__, message)
        LOG.error("%s failed to start: %s", self.binary, message)
        if not isinstance(error, exception.NovaException):
            LOG.debug("start failure detail", exc_info=(failure.type, error, failure.tb))
        if self.reactor.running:
            self.reactor.stop()
        else:
            # twistd starts services before it runs the reactor.
            self.reactor.callWhenRunning(self.reactor.stop)

    def reset(self) -> None:
        """What SIGHUP does once the configuration is reloaded (Nova's
        ``Service.reset``): forget what was learnt from the deployment, such as the
        RPC version caps ``[upgrade_levels] ... = auto`` chose. Children included."""
        for child in self:
            reset = getattr(child, "reset", None)
            if callable(reset):
                reset()

    def stopService(self) -> defer.Deferred:
        """Stop the children; a start still preparing is cancelled and waited for.

        Cancelling lets ``prepare`` run its ``finally`` blocks (closing a database
        pool whose thread would otherwise keep the process alive) before the reactor
        stops.
        """
        LOG.info("Stopping %s", self.binary)
        self._stopping = True
        starting = self.started
        if starting is not None and not starting.called:
            starting.cancel()
        else:
            starting = defer.succeed(None)
        starting.addCallback(lambda _: super(NovaService, self).stopService())
        starting.addCallback(lambda _: LOG.info("%s stopped", self.binary))
        return starting


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
        try:
            conf = configure(self.tapname, options["argv"], route_twisted=False)
        except exception.ConfigError as e:
            # twistd prints a SystemExit's message and exits 1: the one line we want.
            raise SystemExit("%s: %s" % (self.tapname, e.format_message())) from None
        from twisted.internet import reactor

        daemon = build_service(self.tapname, conf)
        reactor.callWhenRunning(install_sighup, reactor, conf, daemon)
        return daemon


def configure(binary: str, argv: Sequence[str], *, route_twisted: bool = True
              ) -> cfg.ConfigOpts:
    """Parse the daemon's command line and configuration files and set up logging."""
    from nova_tx.conf import CONF

    config.parse_args([binary, *argv], conf=CONF)
    log.setup(CONF, route_twisted=route_twisted)
    attach_remote_debugger(CONF)
    return CONF


def attach_remote_debugger(conf: cfg.ConfigOpts) -> None:
    """Connect to the pydevd debugger named by ``--remote_debug-host/-port``, if any."""
    host, port = conf.remote_debug.host, conf.remote_debug.port
    if not (host and port):
        return
    try:
        import pydevd
    except ImportError:
        raise exception.ConfigError(
            reason="--remote_debug-host/--remote_debug-port need the pydevd package, "
            "which is not installed") from None
    LOG.warning("Connecting to the remote debugger at %s:%s", host, port)
    try:
        pydevd.settrace(host, port=port, stdoutToServer=False, stderrToServer=False,
                        suspend=False)
    except Exception as e:
        raise exception.ConfigError(
            reason="cannot reach the remote debugger at %s:%s: %s"
            % (host, port, exception.one_line(e))) from None


def reload_config(conf: cfg.ConfigOpts) -> None:
    """What SIGHUP does: re-read the files and apply the options marked mutable.

    oslo.config calls the registered mutate hooks (oslo.log's applies ``debug`` and
    ``log_config_append``); options that cannot change at run time (database and bus
    URLs among them) keep their values and oslo.config warns about them.
    """
    LOG.info("Caught SIGHUP, reloading configuration files: %s", ", ".join(conf.config_file))
    try:
        conf.mutate_config_files()
    except Exception as e:  # a broken file on reload must not kill a running service
        LOG.error("Configuration not reloaded: %s", exception.one_line(e))
        return
    LOG.debug("Configuration reloaded; mutable options applied")


def install_sighup(reactor, conf: cfg.ConfigOpts, daemon: NovaService | None = None
                   ) -> None:
    """Make SIGHUP reload the configuration and reset ``daemon`` (call once the
    reactor runs)."""

    def hangup() -> None:
        reload_config(conf)
        if daemon is not None:
            daemon.reset()

    def handler(signum, frame):
        # Signal handlers run between bytecodes of the reactor thread: hand the work
        # to the reactor rather than doing it here.
        reactor.callFromThread(hangup)

    signal.signal(signal.SIGHUP, handler)
