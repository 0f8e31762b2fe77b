"""``[neutron]``: how Nova's services reach the network service (Nova's names, defaults).

The endpoint is ``endpoint_override``, else the service catalog of the caller's token
(``service_type`` / ``valid_interfaces`` / ``region_name``), else the embedded network
service at ``[embedded] network_listen`` / ``network_port`` (nova-tx's last resort).
Nova calls Neutron with the caller's token for user actions and with the service user
of the auth options below for admin ones (port binding); with no ``auth_type`` the
caller's token serves both (enough for noauth2 and the embedded service).
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

neutron = cfg.OptGroup(
    "neutron",
    title="Neutron Options",
    help="Configuration options for neutron (network connectivity as a service).",
)

neutron_opts = [
    cfg.StrOpt("ovs_bridge", default="br-int",
               help="Default name for the Open vSwitch integration bridge."),
    cfg.StrOpt("default_floating_pool", default="nova",
               help="Default name for the floating IP pool."),
    cfg.IntOpt("extension_sync_interval", default=600, min=0,
               help="Integer value representing the number of seconds to wait before "
               "querying Neutron for extensions."),
    cfg.ListOpt("physnets", default=[],
                help="List of physnets present on this host."),
    cfg.IntOpt("http_retries", default=3, min=0,
               help="Number of times neutronclient should retry on any failed http "
               "call. 0 means connection is attempted only once."),
    cfg.BoolOpt("service_metadata_proxy", default=False,
                help="When set to True, this option indicates that Neutron will be used "
                "to proxy metadata requests and resolve instance ids."),
    cfg.StrOpt("metadata_proxy_shared_secret", default="", secret=True,
               help="This option holds the shared secret string used to validate proxy "
               "requests to Neutron metadata requests."),
]

session_opts = [
    cfg.StrOpt("cafile", help="PEM encoded Certificate Authority to use when verifying "
               "HTTPs connections."),
    cfg.StrOpt("certfile", help="PEM encoded client certificate cert file"),
    cfg.StrOpt("keyfile", help="PEM encoded client certificate key file"),
    cfg.BoolOpt("insecure", default=False, help="Verify HTTPS connections."),
    cfg.IntOpt("timeout", help="Timeout value for http requests"),
]

auth_opts = [
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
    cfg.StrOpt("user_id", help="User ID"),
    cfg.StrOpt("username", help="Username"),
    cfg.StrOpt("user_domain_id", help="User's domain id"),
    cfg.StrOpt("user_domain_name", help="User's domain name"),
    cfg.StrOpt("password", secret=True, help="User's password"),
]

adapter_opts = [
    cfg.StrOpt("service_type", default="network",
               help="The default service_type for endpoint URL discovery."),
    cfg.StrOpt("service_name", help="The default service_name for endpoint URL discovery."),
    cfg.ListOpt("valid_interfaces", default=["internal", "public"],
                help="List of interfaces, in order of preference, for endpoint URL."),
    cfg.StrOpt("region_name", help="The default region_name for endpoint URL discovery."),
    cfg.StrOpt("endpoint_override",
               help="Always use this endpoint URL for requests for this client."),
    cfg.IntOpt("connect_retries",
               help="The maximum number of retries that should be attempted for "
               "connection errors."),
]

ALL_OPTS = neutron_opts + session_opts + auth_opts + adapter_opts


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, neutron, ALL_OPTS)


def list_opts() -> dict:
    return {neutron: ALL_OPTS}
