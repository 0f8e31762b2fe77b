"""``[DEFAULT]`` options that nova-tx reads, with Nova's names and defaults."""
import os
import socket

from oslo_config import cfg

_PACKAGE_PARENT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

path_opts = [
    cfg.StrOpt(
        "pybasedir",
        default=_PACKAGE_PARENT,
        sample_default="<Path>",
        help="Directory where the nova_tx package is installed; the base of other paths.",
    ),
    cfg.StrOpt(
        "state_path",
        default="$pybasedir",
        help="Top-level directory for the state nova keeps on disk (the all-in-one keeps "
        "its SQLite databases here).",
    ),
]

service_opts = [
    cfg.HostDomainOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<current_hostname>",
        help="Name of this node, as it appears in service records, compute node records "
        "and RPC topics. Must be unique per service kind and valid in an AMQP key.",
    ),
    cfg.StrOpt(
        "osapi_compute_listen",
        default="0.0.0.0",
        help="IP address on which the OpenStack Compute API listens.",
    ),
    cfg.PortOpt(
        "osapi_compute_listen_port",
        default=8774,
        help="Port on which the OpenStack Compute API listens.",
    ),
]

messaging_opts = [
    cfg.StrOpt(
        "transport_url",
        secret=True,
        default="rabbit://",
        help="URL of the message bus: rabbit://user:pass@host:port/vhost (several hosts "
        "separated by commas) or memory:// for the in-process bus of the all-in-one. "
        "Cell mappings record it to tell which bus a cell's services share.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(path_opts + service_opts + messaging_opts)


def list_opts() -> dict:
    return {"DEFAULT": path_opts + service_opts + messaging_opts}
