"""``[keystone_authtoken]``: how ``auth_strategy = keystone`` validates tokens.

The names are keystonemiddleware's (``auth_token``) plus those of keystoneauth's
``password`` plugin, which Nova deployments set in this section for the service user
(``auth_url``, ``username``, ``password``, ``project_name``, ``user_domain_name``,
``project_domain_name``, ...). nova-tx's validator (``nova_tx.api.keystone``) reads:

- ``auth_url``: the Identity API it validates against. A URL ending in ``/v3`` is
  used as it is; otherwise ``/v3`` is appended (no version discovery).
- ``www_authenticate_uri``: what a 401's ``WWW-Authenticate: Keystone uri="..."``
  names (``auth_url`` when unset).
- the service credentials, ``token_cache_time``, ``http_connect_timeout``,
  ``http_request_max_retries``, ``include_service_catalog``, ``cafile``,
  ``insecure``, ``certfile`` and ``keyfile``.

The memcache options are accepted so that an existing ``nova.conf`` reads, and ignored:
the cache is the process's memory.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

keystone_authtoken = cfg.OptGroup(
    "keystone_authtoken",
    title="Keystone token validation",
    help="How the API validates the tokens of its callers against Keystone "
    "([api] auth_strategy = keystone), with keystonemiddleware's option names.",
)

middleware_opts = [
    cfg.StrOpt("www_authenticate_uri",
               deprecated_name="auth_uri",
               help='Complete "public" Identity API endpoint. This endpoint should not '
               'be an "admin" endpoint, as it should be accessible by all end users. '
               "Unauthenticated clients are redirected to this endpoint to "
               "authenticate. Although this endpoint should ideally be unversioned, "
               "client support in the wild varies."),
    cfg.StrOpt("auth_version", help="API version of the Identity API endpoint."),
    cfg.StrOpt("interface", default="internal",
               help='Interface to use for the Identity API endpoint. Valid values are '
               '"public", "internal" (default) or "admin".'),
    cfg.BoolOpt("delay_auth_decision", default=False,
                help="Do not handle authorization requests within the middleware, but "
                "delegate the authorization decision to downstream WSGI components."),
    cfg.IntOpt("http_connect_timeout",
               help="Request timeout value for communicating with Identity API server."),
    cfg.IntOpt("http_request_max_retries", default=3,
               help="How many times are we trying to reconnect when communicating "
               "with Identity API Server."),
    cfg.StrOpt("cache", help="Request environment key where the Swift cache object is "
               "stored (ignored by nova-tx)."),
    cfg.StrOpt("certfile", help="Required if identity server requires client "
               "certificate."),
    cfg.StrOpt("keyfile", help="Required if identity server requires client "
               "certificate."),
    cfg.StrOpt("cafile", help="A PEM encoded Certificate Authority to use when verifying "
               "HTTPs connections. Defaults to system CAs."),
    cfg.BoolOpt("insecure", default=False, help="Verify HTTPS connections."),
    cfg.StrOpt("region_name", help="The region in which the identity server can be "
               "found."),
    cfg.ListOpt("memcached_servers", deprecated_name="memcache_servers",
                help="Optionally specify a list of memcached server(s) to use for "
                "caching (ignored by nova-tx: tokens are cached in-process)."),
    cfg.IntOpt("token_cache_time", default=300,
               help="In order to prevent excessive effort spent validating tokens, the "
               "middleware caches previously-seen tokens for a configurable duration "
               "(in seconds). Set to -1 to disable caching completely."),
    cfg.BoolOpt("include_service_catalog", default=True,
                help="(Optional) Indicate whether to set the X-Service-Catalog header. "
                "If False, middleware will not ask for service catalog on token "
                "validation and will not set the X-Service-Catalog header."),
    cfg.StrOpt("enforce_token_bind", default="permissive",
               help="Used to control the use and type of token binding (ignored by "
               "nova-tx, whose tokens are not bound)."),
    cfg.ListOpt("service_token_roles", default=["service"],
                help="A choice of roles that must be present in a service token."),
    cfg.BoolOpt("service_token_roles_required", default=True,
                help="When set to True, service tokens must contain a role from the "
                "service_token_roles list to be considered valid."),
    cfg.StrOpt("service_type", help="The name or type of the service as it appears in "
               "the service catalog."),
    cfg.StrOpt("auth_type", deprecated_name="auth_plugin",
               help="Authentication type to load (nova-tx knows 'password', the "
               "default)."),
    cfg.StrOpt("auth_section", help="Config Section from which to load plugin specific "
               "options."),
]

#: keystoneauth's ``password`` plugin: the service user nova-api validates tokens as.
password_opts = [
    cfg.StrOpt("auth_url", help="Authentication URL."),
    cfg.StrOpt("system_scope", help="Scope for system operations."),
    cfg.StrOpt("domain_id", help="Domain ID to scope to."),
    cfg.StrOpt("domain_name", help="Domain name to scope to."),
    cfg.StrOpt("project_id", help="Project ID to scope to."),
    cfg.StrOpt("project_name", help="Project name to scope to."),
    cfg.StrOpt("project_domain_id", help="Domain ID containing project."),
    cfg.StrOpt("project_domain_name", help="Domain name containing project."),
    cfg.StrOpt("user_id", help="User ID."),
    cfg.StrOpt("username", deprecated_name="user_name", help="Username."),
    cfg.StrOpt("user_domain_id", help="User's domain id."),
    cfg.StrOpt("user_domain_name", help="User's domain name."),
    cfg.StrOpt("password", secret=True, help="User's password."),
]

ALL_OPTS = middleware_opts + password_opts


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, keystone_authtoken, ALL_OPTS)


def list_opts() -> dict:
    return {keystone_authtoken: ALL_OPTS}
