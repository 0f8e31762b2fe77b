"""Options of the compute node's resource tracking (Nova's ``nova/conf/compute.py``):
how often ``update_available_resource`` runs and where provider config files live.

The CPU layout, reserved amounts and allocation ratios the tracker reads are
registered by ``nova_tx.conf.compute``; this module adds only what it lacks.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts
from nova_tx.conf.compute import compute_group

interval_opts = [
    cfg.IntOpt(
        "update_resources_interval",
        default=0,
        help="Interval for updating compute resources.\n\n"
        "This option specifies how often the update_available_resource periodic task "
        "should run. A number less than 0 means to disable the task completely. Leaving "
        "this at the default of 0 will cause this to run at the default periodic "
        "interval. Setting it to any positive value will cause it to run at "
        "approximately that number of seconds.\n\n"
        "Possible values:\n\n"
        "* 0: Will run at the default periodic interval.\n"
        "* Any value < 0: Disables the option.\n"
        "* Any positive integer in seconds.",
    ),
]

provider_config_opts = [
    cfg.StrOpt(
        "provider_config_location",
        default="/etc/nova/provider_config/",
        help="Location of YAML files containing resource provider configuration data.\n\n"
        "These files allow the operator to specify additional custom inventory and "
        "traits to assign to one or more resource providers.\n\n"
        "Additional documentation is available here:\n\n"
        "  https://docs.openstack.org/nova/latest/admin/managing-resource-providers.html",
    ),
]

#: Nova's default spacing of periodic tasks (``oslo_service.periodic_task``), used when
#: ``update_resources_interval`` is 0.
DEFAULT_PERIODIC_INTERVAL = 60


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(interval_opts)
    register_group_opts(conf, compute_group, provider_config_opts)


def list_opts() -> dict:
    return {"DEFAULT": interval_opts, compute_group: provider_config_opts}
