"""The options of ``nova-api-metadata`` and of config drives that Nova keeps in
``[DEFAULT]`` (``nova/conf/service.py`` and ``nova/conf/configdrive.py``).

``[vendordata_dynamic_auth]`` is the service user DynamicJSON vendordata targets are
called as. The ``[api]`` metadata options (cache, vendordata, ``dhcp_domain``,
``config_drive_skip_versions``) and ``[neutron] service_metadata_proxy`` /
``metadata_proxy_shared_secret`` are registered by ``nova_tx.conf.api`` and
``nova_tx.conf.neutron``.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

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

vendordata_dynamic_auth = cfg.OptGroup(
    "vendordata_dynamic_auth",
    title="Vendordata dynamic fetch auth options",
    help="Options within this group control the authentication of the vendordata "
    "subsystem of the metadata API server (and config drive) with external systems.",
)

#: keystoneauth's session and password-plugin options, as Nova registers them; nova-tx
#: authenticates with ``auth_type = password`` (Keystone v3).
vendordata_dynamic_auth_opts = [
    cfg.StrOpt("cafile", help="PEM encoded Certificate Authority to use when verifying "
               "HTTPs connections."),
    cfg.StrOpt("certfile", help="PEM encoded client certificate cert file"),
    cfg.StrOpt("keyfile", help="PEM encoded client certificate key file"),
    cfg.BoolOpt("insecure", default=False, help="Verify HTTPS connections."),
    cfg.IntOpt("timeout", help="Timeout value for http requests"),
    cfg.BoolOpt("collect_timing", default=False,
                help="Collect per-API call timing information."),
    cfg.BoolOpt("split_loggers", default=False,
                help="Log requests to multiple loggers."),
    cfg.StrOpt("auth_type", help="Authentication type to load"),
    cfg.StrOpt("auth_section", help="Config Section from which to load plugin specific "
               "options"),
    cfg.StrOpt("auth_url", help="Authentication URL"),
    cfg.StrOpt("system_scope", help="Scope for system operations"),
    cfg.StrOpt("domain_id", help="Domain ID to scope to"),
    cfg.StrOpt("domain_name", help="Domain name to scope to"),
    cfg.StrOpt("project_id", help="Project ID to scope to"),
    cfg.StrOpt("project_name", help="Project name to scope to"),
    cfg.StrOpt("project_domain_id", help="Domain ID containing project"),
    cfg.StrOpt("project_domain_name", help="Domain name containing project"),
    cfg.StrOpt("trust_id", help="ID of the trust to use as a trustee use"),
    cfg.StrOpt("default_domain_id", help="Optional domain ID to use with v3 and v2 "
               "parameters. It will be used for both the user and project domain in v3 "
               "and ignored in v2 authentication."),
    cfg.StrOpt("default_domain_name", help="Optional domain name to use with v3 API and "
               "v2 parameters. It will be used for both the user and project domain in "
               "v3 and ignored in v2 authentication."),
    cfg.StrOpt("user_id", help="User ID"),
    cfg.StrOpt("username", help="Username"),
    cfg.StrOpt("user_domain_id", help="User's domain id"),
    cfg.StrOpt("user_domain_name", help="User's domain name"),
    cfg.StrOpt("password", secret=True, help="User's password"),
    cfg.StrOpt("tenant_id", help="Tenant ID"),
    cfg.StrOpt("tenant_name", help="Tenant Name"),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the options (again on the same ConfigOpts is harmless)."""
    conf.register_opts(ALL_OPTS)
    if "vendordata_dynamic_auth" not in conf:
        register_group_opts(conf, vendordata_dynamic_auth, vendordata_dynamic_auth_opts)


def list_opts() -> dict:
    return {"DEFAULT": ALL_OPTS, vendordata_dynamic_auth: vendordata_dynamic_auth_opts}
