"""The ``nova-api-metadata`` daemon: its service tree.

Issue by issue its children arrive here (RPC servers, periodic tasks, listeners); the
tree is what ``twistd nova-api-metadata``, the ``nova-api-metadata`` console script and the all-in-one run.
"""
from oslo_config import cfg

from nova_tx.service import NovaService


def make_service(conf: cfg.ConfigOpts) -> NovaService:
    return NovaService("nova-api-metadata", conf)
