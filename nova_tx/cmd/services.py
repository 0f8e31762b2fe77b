"""Console scripts of the daemons: ``nova-api``, ``nova-compute``, ... in the foreground.

They run the same service tree as the twistd plugins, but own the process: they parse
the documented options themselves (so ``-d`` is ``--debug`` as in Nova, not twistd's
``--rundir``), install the signal handlers (SIGTERM stops cleanly, SIGHUP re-reads the
configuration files and applies the mutable options) and return the exit status.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from nova_tx import exception, log
from nova_tx.service import build_service, configure, install_sighup

LOG = log.getLogger(__name__)


def run(binary: str, argv: Sequence[str] | None = None) -> int:
    """Run ``binary`` until it is stopped; return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if binary == "nova-allinone" and not _names_config(argv):
        from nova_tx import allinone

        argv += ["--config-file", allinone.ensure_config(allinone.default_state_dir())]
    try:
        conf = configure(binary, argv)
    except exception.ConfigError as e:
        print("%s: %s" % (binary, e.format_message()), file=sys.stderr)
        return 1
    from twisted.internet import reactor

    daemon = build_service(binary, conf)
    reactor.callWhenRunning(daemon.startService)
    reactor.callWhenRunning(install_sighup, reactor, conf, daemon)
    reactor.addSystemEventTrigger("before", "shutdown", daemon.stopService)
    reactor.run()
    return daemon.exit_code


def _names_config(argv: Sequence[str]) -> bool:
    return any(a.split("=", 1)[0] in ("--config-file", "--config-dir") for a in argv)


def _main(binary: str) -> None:
    sys.exit(run(binary))


def main_api() -> None:
    _main("nova-api")


def main_api_metadata() -> None:
    _main("nova-api-metadata")


def main_conductor() -> None:
    _main("nova-conductor")


def main_scheduler() -> None:
    _main("nova-scheduler")


def main_compute() -> None:
    _main("nova-compute")


def main_allinone() -> None:
    _main("nova-allinone")


def main_tx_placement() -> None:
    _main("nova-tx-placement")


def main_tx_identity() -> None:
    _main("nova-tx-identity")


def main_tx_image() -> None:
    _main("nova-tx-image")


def main_tx_network() -> None:
    _main("nova-tx-network")
