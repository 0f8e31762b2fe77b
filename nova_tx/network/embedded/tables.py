"""The embedded network service's own tables (``[embedded] network_database``).

Created with ``metadata.create_all`` when the service starts. The allocation rules
that must hold under concurrency are constraints: an address is allocated once per
subnet (``ip_allocations`` primary key), a MAC once per network, and a project has one
default security group (``default_security_groups`` primary key).
"""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.db.types import utcnow

metadata = sa.MetaData()


def _standard() -> list[sa.Column]:
    return [
        sa.Column("description", sa.String(255), nullable=False, default=""),
        sa.Column("created_at", sa.DateTime, nullable=False, default=utcnow),
        sa.Column("updated_at", sa.DateTime, nullable=False, default=utcnow),
        sa.Column("revision_number", sa.Integer, nullable=False, default=1),
    ]


networks = sa.Table(
    "networks", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("project_id", sa.String(255), index=True),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("admin_state_up", sa.Boolean, nullable=False, default=True),
    sa.Column("shared", sa.Boolean, nullable=False, default=False),
    sa.Column("external", sa.Boolean, nullable=False, default=False),
    sa.Column("mtu", sa.Integer, nullable=False),
    sa.Column("port_security_enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("network_type", sa.String(32), nullable=False, default="flat"),
    sa.Column("physical_network", sa.String(64)),
    sa.Column("segmentation_id", sa.Integer),
    *_standard(),
)

subnets = sa.Table(
    "subnets", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("network_id", sa.String(36), sa.ForeignKey("networks.id"), nullable=False,
              index=True),
    sa.Column("project_id", sa.String(255), index=True),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("ip_version", sa.Integer, nullable=False),
    sa.Column("cidr", sa.String(64), nullable=False),
    sa.Column("gateway_ip", sa.String(64)),
    sa.Column("enable_dhcp", sa.Boolean, nullable=False, default=True),
    sa.Column("ipv6_ra_mode", sa.String(32)),
    sa.Column("ipv6_address_mode", sa.String(32)),
    #: JSON lists: [{"start", "end"}], [address], [{"destination", "nexthop"}]
    sa.Column("allocation_pools", sa.Text, nullable=False),
    sa.Column("dns_nameservers", sa.Text, nullable=False, default="[]"),
    sa.Column("host_routes", sa.Text, nullable=False, default="[]"),
    *_standard(),
)

ports = sa.Table(
    "ports", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("network_id", sa.String(36), sa.ForeignKey("networks.id"), nullable=False,
              index=True),
    sa.Column("project_id", sa.String(255), index=True),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("mac_address", sa.String(32), nullable=False),
    sa.Column("admin_state_up", sa.Boolean, nullable=False, default=True),
    sa.Column("status", sa.String(16), nullable=False, default="DOWN"),
    sa.Column("device_id", sa.String(255), nullable=False, default="", index=True),
    sa.Column("device_owner", sa.String(255), nullable=False, default=""),
    sa.Column("binding_host_id", sa.String(255), nullable=False, default=""),
    sa.Column("binding_vnic_type", sa.String(64), nullable=False, default="normal"),
    sa.Column("binding_profile", sa.Text, nullable=False, default="{}"),
    sa.Column("port_security_enabled", sa.Boolean, nullable=False, default=True),
    #: JSON lists: [{"ip_address", "mac_address"}], [{"opt_name", "opt_value"}]
    sa.Column("allowed_address_pairs", sa.Text, nullable=False, default="[]"),
    *_standard(),
    sa.UniqueConstraint("network_id", "mac_address", name="uniq_ports0network_id0mac"),
)

ip_allocations = sa.Table(
    "ip_allocations", metadata,
    sa.Column("subnet_id", sa.String(36), sa.ForeignKey("subnets.id"), primary_key=True),
    sa.Column("ip_address", sa.String(64), primary_key=True),
    sa.Column("port_id", sa.String(36), sa.ForeignKey("ports.id"), nullable=False,
              index=True),
    sa.Column("network_id", sa.String(36), nullable=False),
)

security_groups = sa.Table(
    "security_groups", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("project_id", sa.String(255), index=True),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("stateful", sa.Boolean, nullable=False, default=True),
    *_standard(),
)

default_security_groups = sa.Table(
    "default_security_groups", metadata,
    sa.Column("project_id", sa.String(255), primary_key=True),
    sa.Column("security_group_id", sa.String(36), sa.ForeignKey("security_groups.id"),
              nullable=False),
)

security_group_rules = sa.Table(
    "security_group_rules", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("security_group_id", sa.String(36), sa.ForeignKey("security_groups.id"),
              nullable=False, index=True),
    sa.Column("project_id", sa.String(255)),
    sa.Column("direction", sa.String(16), nullable=False),
    sa.Column("ethertype", sa.String(8), nullable=False),
    sa.Column("protocol", sa.String(40)),
    sa.Column("port_range_min", sa.Integer),
    sa.Column("port_range_max", sa.Integer),
    sa.Column("remote_ip_prefix", sa.String(64)),
    sa.Column("remote_group_id", sa.String(36)),
    *_standard(),
)

port_security_groups = sa.Table(
    "port_security_groups", metadata,
    sa.Column("port_id", sa.String(36), sa.ForeignKey("ports.id"), primary_key=True),
    sa.Column("security_group_id", sa.String(36), sa.ForeignKey("security_groups.id"),
              primary_key=True),
)

facts = sa.Table(
    "network_service_facts", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)
