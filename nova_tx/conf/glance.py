"""``[glance]``: how Nova's services reach the image service (Nova's names and defaults).

Nova's image client takes its endpoint from the deprecated ``api_servers`` when set
(the first one; the others are tried in turn on connection errors), else from
``endpoint_override``, else from the service catalog of the caller's token
(``service_type`` / ``valid_interfaces`` / ``region_name``); nova-tx adds a last resort, the embedded image store at
``[embedded] image_listen`` / ``image_port``. The caller's token is passed through, as
Nova does. Signature verification, certificate validation and RBD download are read but
not implemented.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

glance = cfg.OptGroup(
    "glance",
    title="Glance Options",
    help="Configuration options for the Image service",
)

glance_opts = [
    cfg.ListOpt("api_servers", deprecated_for_removal=True,
                deprecated_since="21.0.0",
                deprecated_reason="Support for image service configuration via standard "
                "keystoneauth1 Adapter options was added in the 17.0.0 Queens release.",
                help="List of glance api servers endpoints available to nova, as fully "
                "qualified URLs (\"http://10.0.1.0:9292\")."),
    cfg.IntOpt("num_retries", default=3, min=0,
               help="Enable glance operation retries: the number of retries when "
               "uploading / downloading an image to / from glance. 0 means no retries."),
    cfg.BoolOpt("verify_glance_signatures", default=False,
                help="Enable image signature verification (not implemented in nova-tx)."),
    cfg.BoolOpt("enable_certificate_validation", default=False,
                deprecated_for_removal=True, deprecated_since="16.0.0",
                deprecated_reason="This option is intended to ease the transition for "
                "deployments leveraging image signature verification.",
                help="Enable certificate validation for image signature verification."),
    cfg.ListOpt("default_trusted_certificate_ids", default=[],
                help="List of certificate IDs for certificates that should be trusted."),
    cfg.BoolOpt("enable_rbd_download", default=False,
                help="Enable Glance image downloads directly via RBD (not implemented)."),
    cfg.StrOpt("rbd_user", default="", help="The RADOS client name for accessing Glance "
               "images stored as rbd volumes."),
    cfg.IntOpt("rbd_connect_timeout", default=5,
               help="The RADOS client timeout in seconds when initially connecting to the "
               "cluster."),
    cfg.StrOpt("rbd_pool", default="", help="The RADOS pool in which the Glance images are "
               "stored as rbd volumes."),
    cfg.StrOpt("rbd_ceph_conf", default="", help="Path to the ceph configuration file to "
               "use."),
    cfg.BoolOpt("debug", default=False, help="Enable or disable debug logging with "
                "glanceclient."),
]

session_opts = [
    cfg.StrOpt("cafile", help="PEM encoded Certificate Authority to use when verifying "
               "HTTPs connections."),
    cfg.StrOpt("certfile", help="PEM encoded client certificate cert file"),
    cfg.StrOpt("keyfile", help="PEM encoded client certificate key file"),
    cfg.BoolOpt("insecure", default=False, help="Verify HTTPS connections."),
    cfg.IntOpt("timeout", help="Timeout value for http requests"),
]

adapter_opts = [
    cfg.StrOpt("service_type", default="image",
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

ALL_OPTS = glance_opts + session_opts + adapter_opts


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, glance, ALL_OPTS)


def list_opts() -> dict:
    return {glance: ALL_OPTS}
