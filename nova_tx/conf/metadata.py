"""The options of ``nova-api-metadata`` and of config drives that Nova keeps in
``[DEFAULT]`` (``nova/conf/service.py`` and ``nova/conf/configdrive.py``).

The ``[api]`` metadata options (cache, vendordata, ``dhcp_domain``,
``config_drive_skip_versions``) and ``[neutron] service_metadata_proxy`` /
``metadata_proxy_shared_secret`` are registered by ``nova_tx.conf.api`` and
``nova_tx.conf.neutron``.
"""
from oslo_config import cfg

service_opts = [
    cfg.StrOpt(
        "metadata_listen",
        default="0.0.0.0",
        help="IP address on which the metadata API will listen.\n\nThe metadata API "
        "service listens on this IP address for incoming requests.",
    ),
    cfg.PortOpt(
        "metadata_listen_port",
        default=8775,
        help="Port on which the metadata API will listen.\n\nThe metadata API service "
        "listens on this port number for incoming requests.",
    ),
    cfg.IntOpt(
        "metadata_workers",
        min=1,
        help="Number of workers for metadata service. If not specified the number of "
        "available CPUs will be used.\n\nThe metadata service can be configured to run "
        "as multi-process (workers). This overcomes the problem of reduction in "
        "throughput when API request concurrency increases. The metadata service will "
        "run in the specified number of processes.",
    ),
]

config_drive_opts = [
    cfg.BoolOpt(
        "force_config_drive",
        default=False,
        help="Force injection to take place on a config drive\n\nWhen this option is "
        "set to true config drive functionality will be forced enabled by default, "
        "otherwise users can still enable config drives via the REST API or image "
        "metadata properties. Launched instances are not affected by this option.",
    ),
]

ALL_OPTS = service_opts + config_drive_opts


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the options (again on the same ConfigOpts is harmless)."""
    conf.register_opts(ALL_OPTS)


def list_opts() -> dict:
    return {"DEFAULT": ALL_OPTS}
