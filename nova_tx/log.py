"""One log stream for a process: oslo.log's handlers, fed by stdlib and Twisted alike.

Nova's documented logging options (``--debug``, ``--log-file``, ``--log-dir``,
``--use-json``, ``--log-config-append`` ...) are oslo.log's, so oslo.log formats and
writes every record. Twisted's own logger is pointed at the standard library, so a
Twisted event (a listening port, an unhandled error in a Deferred) comes out in the same
file with the same format as ours.
"""
import logging as std_logging

from oslo_config import cfg
from oslo_log import log as oslo_logging
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    STDLibLogObserver,
    globalLogBeginner,
    globalLogPublisher,
)

from nova_tx import version

getLogger = oslo_logging.getLogger

_twisted_routed = False


def setup(conf: cfg.ConfigOpts, *, route_twisted: bool = True) -> None:
    """Configure logging from ``conf`` and route Twisted into it.

    Under twistd, twistd owns Twisted's log (``route_twisted=False``); pass it
    ``--logger nova_tx.log.twistd_observer`` to get the one stream there too.
    """
    oslo_logging.setup(conf, "nova", version=version.version_string, fix_eventlet=False)
    quiet_alembic()
    if route_twisted:
        route_twisted_logging()


def _stdlib_observer() -> FilteringLogObserver:
    return FilteringLogObserver(
        STDLibLogObserver(name="twisted"),
        [LogLevelFilterPredicate(defaultLogLevel=LogLevel.debug)],
    )


def twistd_observer() -> FilteringLogObserver:
    """The log observer factory for ``twistd --logger nova_tx.log.twistd_observer``."""
    return _stdlib_observer()


def route_twisted_logging() -> None:
    """Send Twisted's log events to the standard library (idempotent)."""
    global _twisted_routed
    if _twisted_routed:
        return
    observer = _stdlib_observer()
    if globalLogBeginner._temporaryObserver is not None:
        # Nothing has begun logging yet: make our observer the first and only one, and
        # let Twisted replay what it buffered.
        globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
    else:
        globalLogPublisher.addObserver(observer)
    std_logging.getLogger("twisted").setLevel(std_logging.NOTSET)
    _twisted_routed = True


def quiet_alembic() -> None:
    """Keep Alembic's "Running upgrade ..." lines but not its per-connection chatter."""
    migration_logger = std_logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _AlembicChatter) for f in migration_logger.filters):
        migration_logger.addFilter(_AlembicChatter())


class _AlembicChatter(std_logging.Filter):
    """Drops what Alembic logs each time it looks at a database.

    ``Context impl SQLiteImpl.`` and ``Will assume transactional DDL.`` would otherwise
    precede the output of ``db version`` or ``upgrade check`` on stdout, where scripts
    read it; ``Running upgrade ...`` lines still show what a sync does.
    """

    def filter(self, record: std_logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))
