"""``[embedded]``: the companion services nova-tx serves itself (nova-tx extension).

Nova has no such section (spec/DECISIONS.md, item 3). This module holds the embedded
identity's options: ``identity`` serves a Keystone v3 subset in this process (the
all-in-one's generated configuration sets it), ``identity_listen`` and
``identity_port`` are where it listens, also for the standalone ``nova-tx-identity``.

Its users, projects and roles come from ``identity_users``; every one lives in the
domain ``default`` (named ``Default``), as Keystone's bootstrap makes it. Roles imply
others as Keystone's default inference rules say: ``admin`` implies ``member``, which
implies ``reader``. Tokens are random strings kept in the identity process's memory
for ``identity_token_expiration`` seconds (a restart invalidates them; clients simply
authenticate again). The service catalog lists the all-in-one's endpoints; see
``identity_endpoint_host`` and ``identity_catalog``. SIGHUP re-reads the users, the
catalog and the token lifetime (issued tokens stay valid until they expire).

The placement options of this section live in ``nova_tx.conf.placement``.
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

embedded = cfg.OptGroup(
    "embedded",
    title="Embedded companion services",
    help="Companion services nova-tx can serve itself (nova-tx extension).",
)

identity_opts = [
    cfg.BoolOpt("identity", default=False,
                help="Serve the embedded identity service (a Keystone v3 subset: version "
                "discovery, password and token authentication, token validation and "
                "the service catalog) in this process. The all-in-one's generated "
                "configuration sets it."),
    cfg.StrOpt("identity_listen", default="0.0.0.0",
               help="IP address on which the embedded identity service listens."),
    cfg.PortOpt("identity_port", default=5000,
                help="Port on which the embedded identity service listens."),
    cfg.ListOpt("identity_users", default=[], secret=True, mutable=True,
                help="The users of the embedded identity service, each as "
                "'name:password:project:role1+role2'. The project is created if no "
                "entry named it before; the first entry of a user names its default "
                "project, and further entries of the same name (with the same password) "
                "give it roles in other projects. A password may contain ':' but not "
                "','. Roles imply others as in Keystone: admin implies member, member "
                "implies reader. Names are unique within the one domain, 'default'. "
                "Example: admin:s3cret:admin:admin,nova:s3cret2:service:admin+service"),
    cfg.IntOpt("identity_token_expiration", default=3600, min=1, mutable=True,
               help="Seconds a token issued by the embedded identity service stays "
               "valid (Keystone's [token] expiration)."),
    cfg.StrOpt("identity_region", default="RegionOne", mutable=True,
               help="Region of every endpoint in the embedded identity's catalog."),
    cfg.StrOpt("identity_endpoint_host", default="127.0.0.1", mutable=True,
               help="Host name or address clients reach the all-in-one's services at; "
               "the catalog's default URLs are built from it and each service's "
               "port: identity http://HOST:5000/v3, compute http://HOST:8774/v2.1, "
               "placement http://HOST:8778, image http://HOST:9292, network "
               "http://HOST:9696 (the ports are those of [embedded] *_port and "
               "[DEFAULT] osapi_compute_listen_port when registered)."),
    cfg.ListOpt("identity_catalog", default=[], mutable=True,
                help="Catalog entries that replace or add to the defaults, each as "
                "'type=url' for the public, internal and admin interfaces alike, or "
                "'type:interface=url' for one interface; 'type=' removes a service. "
                "Types: identity, compute, placement, image, network, or any other "
                "(its service name is then the type)."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, embedded, identity_opts)


def list_opts() -> dict:
    return {embedded: identity_opts}
