"""``[placement]``, ``[placement_database]`` and ``[embedded] placement*`` options.

``[placement]`` carries Nova's client options (how services reach Placement, embedded
or real: keystoneauth's names) and the server options of the embedded Placement with
OpenStack Placement's names (``randomize_allocation_candidates``,
``incomplete_consumer_project_id``, ...). ``[embedded] placement`` serves Placement in
this process; ``placement_listen`` and ``placement_port`` are where it listens, also for
the standalone ``nova-tx-placement``. ``[cors]`` is oslo.middleware's CORS section,
read by the embedded Placement (Placement's API has it).
"""
from oslo_config import cfg

from nova_tx.conf import database
from nova_tx.conf.base import register_group_opts

placement = cfg.OptGroup(
    "placement",
    title="Placement service options",
    help="How services reach Placement (the embedded one or OpenStack Placement), and "
    "the behaviour of the embedded Placement.",
)
placement_database = cfg.OptGroup(
    "placement_database",
    title="Placement database options",
    help="Placement's own database. Unset, Placement's tables live in the API database "
    "([api_database] connection).",
)
cors = cfg.OptGroup(
    "cors",
    title="CORS options",
    help="Cross-Origin Resource Sharing of the embedded Placement API (oslo.middleware's "
    "options and defaults).",
)
embedded = cfg.OptGroup(
    "embedded",
    title="Embedded companion services",
    help="Companion services nova-tx can serve itself (nova-tx extension).",
)

client_opts = [
    cfg.StrOpt("endpoint_override",
               help="URL of the Placement API, e.g. http://controller:8778. Unset: the "
               "embedded Placement of this process when there is one, otherwise "
               "http://<[embedded] placement_listen>:<[embedded] placement_port>."),
    cfg.StrOpt("region_name", help="The default region_name for endpoint URL discovery."),
    cfg.StrOpt("service_type", default="placement",
               help="The default service_type for endpoint URL discovery."),
    cfg.ListOpt("valid_interfaces", default=["internal", "public"],
                help="List of interfaces, in order of preference, for endpoint URL."),
    cfg.IntOpt("timeout", help="Timeout value for http requests."),
    cfg.BoolOpt("insecure", default=False, help="Verify HTTPS connections."),
    cfg.StrOpt("cafile", help="PEM encoded Certificate Authority to use when verifying "
               "HTTPs connections."),
    cfg.StrOpt("auth_type", help="Authentication type to load."),
    cfg.StrOpt("auth_url", help="Authentication URL."),
    cfg.StrOpt("username", help="Username."),
    cfg.StrOpt("password", secret=True, help="User's password."),
    cfg.StrOpt("project_name", help="Project name to scope to."),
    cfg.StrOpt("user_domain_name", help="User's domain name."),
    cfg.StrOpt("project_domain_name", help="Domain name containing project."),
]

server_opts = [
    cfg.BoolOpt("randomize_allocation_candidates", default=False,
                help="If True, when limiting allocation candidate results, the results "
                "will be a random sampling of the full result set. If False, allocation "
                "candidates are returned in a deterministic but undefined order."),
    cfg.StrOpt("incomplete_consumer_project_id",
               default="00000000-0000-0000-0000-000000000000",
               help="Early API microversions (<1.8) allowed creating allocations and not "
               "specifying a project or user identifier for the consumer; this project "
               "identifier is used for them."),
    cfg.StrOpt("incomplete_consumer_user_id",
               default="00000000-0000-0000-0000-000000000000",
               help="The user identifier used for such consumers (see "
               "incomplete_consumer_project_id)."),
]

database_opts = database._db_opts() + [
    cfg.BoolOpt("sync_on_startup", default=False,
                help="If True, the embedded Placement upgrades its tables to the newest "
                "revision when it starts."),
]

embedded_opts = [
    cfg.BoolOpt("placement", default=False,
                help="Serve the Placement API in this process (the all-in-one's "
                "generated configuration sets it)."),
    cfg.StrOpt("placement_listen", default="0.0.0.0",
               help="IP address on which the embedded Placement API listens."),
    cfg.PortOpt("placement_port", default=8778,
                help="Port on which the embedded Placement API listens."),
]


cors_opts = [
    cfg.ListOpt("allowed_origin",
                help="Indicate whether this resource may be shared with the domain received "
                "in the requests \"origin\" header. Format: \"<protocol>://<host>[:<port>]\", "
                "no trailing slash. Example: https://horizon.example.com"),
    cfg.BoolOpt("allow_credentials", default=True,
                help="Indicate that the actual request can include user credentials"),
    cfg.ListOpt("expose_headers", default=[],
                help="Indicate which headers are safe to expose to the API. Defaults to "
                "HTTP Simple Headers."),
    cfg.IntOpt("max_age", default=3600,
               help="Maximum cache age of CORS preflight requests."),
    cfg.ListOpt("allow_methods",
                default=["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "PATCH"],
                help="Indicate which methods can be used during the actual request."),
    cfg.ListOpt("allow_headers", default=[],
                help="Indicate which header field names may be used during the actual "
                "request."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, placement, client_opts + server_opts)
    register_group_opts(conf, cors, cors_opts)
    register_group_opts(conf, placement_database, database_opts)
    register_group_opts(conf, embedded, embedded_opts)


def list_opts() -> dict:
    return {placement: client_opts + server_opts, placement_database: database_opts,
            embedded: embedded_opts, cors: cors_opts}
