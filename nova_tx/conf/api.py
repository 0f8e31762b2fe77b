"""``[api]`` options, and the options of the API processes kept elsewhere in Nova.

``[api]`` carries Zed's names and defaults (the metadata and vendordata options among
them, read by ``nova-api-metadata``). ``[DEFAULT] osapi_compute_workers`` is Nova's
(``nova/conf/service.py``); ``[oslo_middleware] max_request_body_size`` and
``enable_proxy_headers_parsing`` are oslo.middleware's, which Nova's paste pipeline
reads through its ``sizelimit`` and ``http_proxy_to_wsgi`` filters.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

api_group = cfg.OptGroup(
    "api",
    title="API options",
    help="Options under this group are used to define Nova API.",
)
oslo_middleware_group = cfg.OptGroup(
    "oslo_middleware",
    title="oslo.middleware options",
    help="Options of the request pipeline (oslo.middleware's names).",
)

auth_opts = [
    cfg.StrOpt(
        "auth_strategy",
        default="keystone",
        choices=[
            ("keystone", "Use keystone for authentication."),
            ("noauth2", "Designed for testing only, as it does no actual credential "
             "checking. 'noauth2' provides administrative credentials only if 'admin' "
             "is specified as the username."),
        ],
        deprecated_for_removal=True,
        deprecated_since="21.0.0",
        deprecated_reason="The only non-default choice, ``noauth2``, is for internal "
        "development and testing purposes only and should not be used in deployments.",
        help="Determine the strategy to use for authentication.",
    ),
    cfg.BoolOpt(
        "use_forwarded_for",
        default=False,
        deprecated_group="default",
        deprecated_for_removal=True,
        deprecated_since="26.0.0",
        deprecated_reason="This feature is duplicate of the HTTPProxyToWSGI middleware "
        "in oslo.middleware",
        help="When True, the 'X-Forwarded-For' header is treated as the canonical remote "
        "address. When False (the default), the 'remote_address' header is used. You "
        "should only enable this if you have an HTML sanitizing proxy.",
    ),
]

metadata_opts = [
    cfg.StrOpt(
        "config_drive_skip_versions",
        default="1.0 2007-01-19 2007-03-01 2007-08-29 2007-10-10 2007-12-15 "
        "2008-02-01 2008-09-01",
        deprecated_group="default",
        help="When gathering the existing metadata for a config drive, the EC2-style "
        "metadata is returned for all versions that don't appear in this option "
        "(versions separated by spaces).",
    ),
    cfg.ListOpt(
        "vendordata_providers",
        item_type=cfg.types.String(choices=[
            ("StaticJSON", "Load a JSON file from the path configured by "
             "``vendordata_jsonfile_path`` and use this as the source for "
             "``vendor_data.json`` and ``vendor_data2.json``."),
            ("DynamicJSON", "Build a JSON file using values defined in "
             "``vendordata_dynamic_targets`` and use this as the source for "
             "``vendor_data2.json``."),
        ]),
        default=["StaticJSON"],
        deprecated_group="default",
        help="A list of vendordata providers.",
    ),
    cfg.ListOpt(
        "vendordata_dynamic_targets",
        default=[],
        deprecated_group="default",
        help="A list of targets for the dynamic vendordata provider, of the form "
        "``<name>@<url>``.",
    ),
    cfg.StrOpt(
        "vendordata_dynamic_ssl_certfile",
        default="",
        deprecated_group="default",
        help="Path to an optional certificate file or CA bundle to verify dynamic "
        "vendordata REST services ssl certificates against.",
    ),
    cfg.IntOpt(
        "vendordata_dynamic_connect_timeout",
        default=5,
        min=3,
        deprecated_group="default",
        help="Maximum wait time for an external REST service to connect.",
    ),
    cfg.IntOpt(
        "vendordata_dynamic_read_timeout",
        default=5,
        min=0,
        deprecated_group="default",
        help="Maximum wait time for an external REST service to return data once "
        "connected.",
    ),
    cfg.BoolOpt(
        "vendordata_dynamic_failure_fatal",
        default=False,
        help="Should failures to fetch dynamic vendordata be fatal to instance boot?",
    ),
    cfg.IntOpt(
        "metadata_cache_expiration",
        default=15,
        min=0,
        deprecated_group="default",
        help="This option is the time (in seconds) to cache metadata. When set to 0, "
        "metadata caching is disabled entirely.",
    ),
    cfg.BoolOpt(
        "local_metadata_per_cell",
        default=False,
        help="Indicates that the nova-metadata API service has been deployed per-cell.",
    ),
    cfg.StrOpt(
        "dhcp_domain",
        deprecated_group="DEFAULT",
        default="novalocal",
        help="Domain name used to configure FQDN for instances. If unset, only the "
        "hostname without a domain will be configured.",
    ),
    cfg.StrOpt(
        "vendordata_jsonfile_path",
        deprecated_group="DEFAULT",
        help="Path of the JSON file the StaticJSON vendordata provider loads.",
    ),
]

common_opts = [
    cfg.IntOpt(
        "max_limit",
        min=0,
        default=1000,
        deprecated_group="default",
        deprecated_name="osapi_max_limit",
        help="As a query can potentially return many thousands of items, you can limit "
        "the maximum number of items in a single response by setting this option.",
    ),
    cfg.StrOpt(
        "compute_link_prefix",
        deprecated_group="default",
        deprecated_name="osapi_compute_link_prefix",
        help="This string is prepended to the normal URL that is returned in links to "
        "the OpenStack Compute API. If it is empty (the default), the URLs are returned "
        "unchanged.",
    ),
    cfg.StrOpt(
        "glance_link_prefix",
        deprecated_group="default",
        deprecated_name="osapi_glance_link_prefix",
        help="This string is prepended to the normal URL that is returned in links to "
        "Glance resources. If it is empty (the default), the URLs are returned "
        "unchanged.",
    ),
    cfg.BoolOpt(
        "instance_list_per_project_cells",
        default=False,
        help="When enabled, this will cause the API to only query cell databases in "
        "which the tenant has mapped instances.",
    ),
    cfg.StrOpt(
        "instance_list_cells_batch_strategy",
        default="distributed",
        choices=[
            ("distributed", "Divide the limit requested by the user by the number of "
             "cells in the system."),
            ("fixed", "Request fixed-size batches from each cell, as defined by "
             "``instance_list_cells_batch_fixed_size``."),
        ],
        help="This controls the method by which the API queries cell databases in "
        "smaller batches during large instance list operations.",
    ),
    cfg.IntOpt(
        "instance_list_cells_batch_fixed_size",
        min=100,
        default=100,
        help="This controls the batch size of instances requested from each cell "
        "database if ``instance_list_cells_batch_strategy`` is set to ``fixed``.",
    ),
    cfg.BoolOpt(
        "list_records_by_skipping_down_cells",
        default=True,
        help="When set to False, this will cause the API to return a 500 error if there "
        "is an infrastructure failure like non-responsive cells.",
    ),
]

network_opts = [
    cfg.BoolOpt(
        "use_neutron_default_nets",
        default=False,
        deprecated_group="default",
        help="When True, the TenantNetworkController will query the Neutron API to get "
        "the default networks to use.",
    ),
    cfg.StrOpt(
        "neutron_default_tenant_id",
        default="default",
        deprecated_group="default",
        help="Tenant ID for getting the default network from Neutron API (also referred "
        "in some places as the 'project ID') to use.",
    ),
]

password_opts = [
    cfg.BoolOpt(
        "enable_instance_password",
        default=True,
        deprecated_group="default",
        help="Enables returning of the instance password by the relevant server API "
        "calls such as create, rebuild, evacuate, or rescue.",
    ),
]

API_OPTS = auth_opts + metadata_opts + common_opts + network_opts + password_opts

service_opts = [
    cfg.IntOpt(
        "osapi_compute_workers",
        min=1,
        help="Number of workers for OpenStack API service. The default will be the "
        "number of CPUs available. The workers are processes sharing one listening "
        "socket.",
    ),
]

sizelimit_opts = [
    # oslo.middleware's definition, so the value a deployment already sets is read.
    cfg.IntOpt(
        "max_request_body_size",
        default=114688,
        deprecated_opts=[
            cfg.DeprecatedOpt("osapi_max_request_body_size", group="DEFAULT"),
            cfg.DeprecatedOpt("max_request_body_size", group="DEFAULT"),
        ],
        help="The maximum body size for each  request, in bytes.",
    ),
]

proxy_opts = [
    # oslo.middleware's HTTPProxyToWSGI option, which Nova's pipeline includes.
    cfg.BoolOpt(
        "enable_proxy_headers_parsing",
        default=False,
        help="Whether the application is behind a proxy or not. This determines if the "
        "middleware should parse the headers or not.",
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the options (again on the same ConfigOpts is harmless)."""
    if "api" not in conf:
        register_group_opts(conf, api_group, API_OPTS)
    if "oslo_middleware" not in conf or "max_request_body_size" not in conf.oslo_middleware:
        register_group_opts(conf, oslo_middleware_group, sizelimit_opts + proxy_opts)
    conf.register_opts(service_opts)


def list_opts() -> dict:
    return {
        "DEFAULT": service_opts,
        api_group: API_OPTS,
        oslo_middleware_group: sizelimit_opts + proxy_opts,
    }
