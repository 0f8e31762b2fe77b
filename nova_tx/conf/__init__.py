"""Every option nova-tx reads, one module per ``nova.conf`` section, on one ``CONF``.

Importing this package registers all of them, so a module that reads an option only
needs ``from nova_tx.conf import CONF``.
"""
from oslo_config import cfg

from nova_tx.conf import compute, database, default, messaging, remote_debug, servicegroup

CONF = cfg.CONF

#: The section modules, in the order their options are registered and listed.
MODULES = (default, compute, database, messaging, remote_debug, servicegroup)

for _module in MODULES:
    _module.register_opts(CONF)
