"""``[remote_debug]``: attach a daemon to a remote pydevd debugger (command line only).

Operators' unit files carry ``--remote_debug-host``/``--remote_debug-port``, so the
daemons accept them as Nova's do; nothing else reads them.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

remote_debug = cfg.OptGroup(
    "remote_debug",
    title="Remote debugging",
    help="Connect a daemon to a pydevd debugger listening on another host; set both "
    "options on the command line (--remote_debug-host, --remote_debug-port). The "
    "pydevd package must be installed.",
)

cli_opts = [
    cfg.HostAddressOpt(
        "host",
        help="Address of the host where the debugger listens.",
    ),
    cfg.PortOpt(
        "port",
        help="Port on which the debugger listens.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, remote_debug, cli_opts, cli=True)


def list_opts() -> dict:
    return {remote_debug: cli_opts}
