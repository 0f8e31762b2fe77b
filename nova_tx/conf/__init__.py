"""Every option nova-tx reads, one module per ``nova.conf`` section, on one ``CONF``.

Importing this package registers all of them, so a module that reads an option only
needs ``from nova_tx.conf import CONF``.
"""
from oslo_config import cfg

from nova_tx.conf import (
    api,
    availability_zone,
    compute,
    compute_manager,
    compute_node,
    database,
    default,
    embedded,
    embedded_services,
    fake,
    glance,
    keystone_authtoken,
    libvirt,
    messaging,
    metadata,
    metrics,
    neutron,
    placement,
    quota,
    remote_debug,
    scheduler,
    servers,
    servicegroup,
    virt,
    workarounds,
)

#: nova-tx's own ConfigOpts, not oslo.config's process-wide ``cfg.CONF``: libraries
#: such as keystonemiddleware register their options there at import time, with
#: definitions that differ from ours, and would clash with ours on one object.
CONF = cfg.ConfigOpts()

#: The section modules, in the order their options are registered and listed.
MODULES = (default, api, availability_zone, compute, compute_manager, compute_node, database,
           embedded, embedded_services, fake, glance, keystone_authtoken, libvirt, messaging,
           metadata, metrics, neutron, placement, quota, remote_debug, scheduler, servers,
           servicegroup, virt, workarounds)

for _module in MODULES:
    _module.register_opts(CONF)


def register_policy_opts(conf: cfg.ConfigOpts) -> None:
    # [oslo_policy] is oslo.policy's group with Nova's defaults (nova_tx.policy), so
    # that parsing validates it like every other section.
    from nova_tx import policy

    policy.register_opts(conf)


register_policy_opts(CONF)
