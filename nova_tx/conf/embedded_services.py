"""``[embedded] image*`` and ``network*``: the embedded image store and flat network.

``[embedded] image`` / ``network`` serve them in this process (the all-in-one's
generated configuration sets both); ``*_listen`` and ``*_port`` are where they listen,
also for the standalone ``nova-tx-image`` and ``nova-tx-network``. Everything else
reaches them, embedded or real, through Nova's own ``[glance]`` and ``[neutron]``
options (``nova_tx.conf.glance``, ``nova_tx.conf.neutron``).
"""
from oslo_config import cfg

from nova_tx.conf.base import register_group_opts

embedded = cfg.OptGroup(
    "embedded",
    title="Embedded companion services",
    help="Companion services nova-tx can serve itself (nova-tx extension).",
)

image_opts = [
    cfg.BoolOpt("image", default=False,
                help="Serve the image store (a Glance v2 API subset) in this process (the "
                "all-in-one's generated configuration sets it)."),
    cfg.StrOpt("image_listen", default="0.0.0.0",
               help="IP address on which the embedded image store listens."),
    cfg.PortOpt("image_port", default=9292,
                help="Port on which the embedded image store listens."),
    cfg.StrOpt("image_database", default="sqlite:///$state_path/image.sqlite",
               help="SQLAlchemy URL of the embedded image store's metadata database."),
    cfg.StrOpt("image_dir", default="$state_path/images",
               help="Directory where the embedded image store keeps image data, one file "
               "per image named by its id."),
    cfg.BoolOpt("image_seed", default=True,
                help="On first start, add a small public placeholder image "
                "(``nova-tx-tiny``: a raw disk whose boot sector prints a line and halts; "
                "not an operating system) so that servers can be booted at once."),
    cfg.IntOpt("image_size_cap", default=1099511627776, min=1,
               help="Largest image upload accepted, in bytes (Glance's image_size_cap)."),
    cfg.IntOpt("image_limit_param_default", default=25, min=1,
               help="Page size of an image list without a limit (Glance's "
               "limit_param_default)."),
    cfg.IntOpt("image_api_limit_max", default=1000, min=1,
               help="Largest page of an image list (Glance's api_limit_max)."),
]

network_opts = [
    cfg.BoolOpt("network", default=False,
                help="Serve the flat network service (a Neutron v2.0 API subset) in this "
                "process (the all-in-one's generated configuration sets it)."),
    cfg.StrOpt("network_listen", default="0.0.0.0",
               help="IP address on which the embedded network service listens."),
    cfg.PortOpt("network_port", default=9696,
                help="Port on which the embedded network service listens."),
    cfg.StrOpt("network_database", default="sqlite:///$state_path/network.sqlite",
               help="SQLAlchemy URL of the embedded network service's database."),
    cfg.StrOpt("network_base_mac", default="fa:16:3e:00:00:00",
               help="Base MAC address of ports (Neutron's base_mac): the first three "
               "octets are kept, the others are drawn at random."),
    cfg.BoolOpt("network_seed", default=True,
                help="On first start, create the shared external network ``public`` and "
                "the network ``private`` with the subnets below."),
    cfg.StrOpt("network_public_cidr", default="172.24.4.0/24",
               help="CIDR of the seeded ``public-subnet`` (empty: no subnet)."),
    cfg.StrOpt("network_private_cidr", default="10.0.0.0/24",
               help="CIDR of the seeded ``private-subnet`` (empty: no subnet)."),
    cfg.StrOpt("network_private_cidr_v6", default="",
               help="CIDR of a seeded IPv6 ``ipv6-private-subnet`` on ``private`` "
               "(empty: none), e.g. fd00:10::/64."),
    cfg.ListOpt("network_dns_nameservers", default=[],
                help="DNS servers of the seeded subnets."),
    cfg.IntOpt("network_mtu", default=1500, min=68,
               help="MTU reported for networks."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, embedded, image_opts + network_opts)


def list_opts() -> dict:
    return {embedded: image_opts + network_opts}
