"""The API database of Nova (``[api_database] connection``), as in Nova Zed.

Table, column, index and constraint names are Nova's, so that an operator's queries,
``nova-manage`` habits and a database dumped from Nova read the same here. Nova's API
database has no soft delete: rows are removed, and every table has ``created_at`` and
``updated_at`` (oslo.db's ``TimestampMixin``).

Left out on purpose: the placement tables Nova still carries in this schema after the
placement split (``resource_providers``, ``inventories``, ``allocations``, ``traits``,
``consumers``, ``projects``, ``users``, ...); Nova no longer uses them and nova-tx's
placement owns its own schema.
"""
from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from nova_tx.db.types import MediumText, utcnow

# Nova's API database tables are InnoDB. nova-tx uses utf8mb4 (Nova's migration says
# utf8, i.e. utf8mb3, which cannot store every name a user may type).
MYSQL_TABLE_ARGS: dict[str, str] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


class APIBase(DeclarativeBase):
    """Declarative base of the API database; its ``metadata`` is what Alembic compares."""

    metadata = sa.MetaData()

    # oslo.db's TimestampMixin: Python-side defaults, no server defaults, nullable.
    created_at: Mapped[datetime.datetime | None] = mapped_column(
        sa.DateTime, default=utcnow, sort_order=-1)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        sa.DateTime, onupdate=utcnow, sort_order=-1)


class AggregateHost(APIBase):
    """A host that is member of an aggregate."""

    __tablename__ = "aggregate_hosts"
    __table_args__ = (
        sa.UniqueConstraint("host", "aggregate_id", name="uniq_aggregate_hosts0host0aggregate_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    host: Mapped[str | None] = mapped_column(sa.String(255))
    aggregate_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("aggregates.id"), nullable=False)


class AggregateMetadata(APIBase):
    """A key/value pair of an aggregate (``availability_zone`` is one of them)."""

    __tablename__ = "aggregate_metadata"
    __table_args__ = (
        sa.UniqueConstraint("aggregate_id", "key", name="uniq_aggregate_metadata0aggregate_id0key"),
        sa.Index("aggregate_metadata_key_idx", "key"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    value: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    aggregate_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("aggregates.id"), nullable=False)


class Aggregate(APIBase):
    """A group of hosts; its metadata may name an availability zone."""

    __tablename__ = "aggregates"
    __table_args__ = (
        sa.Index("aggregate_uuid_idx", "uuid"),
        sa.UniqueConstraint("name", name="uniq_aggregate0name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str | None] = mapped_column(sa.String(36))
    name: Mapped[str | None] = mapped_column(sa.String(255))

    _hosts: Mapped[list[AggregateHost]] = relationship(
        AggregateHost, cascade="delete", lazy="selectin")
    _metadata: Mapped[list[AggregateMetadata]] = relationship(
        AggregateMetadata, cascade="delete", lazy="selectin")


class CellMapping(APIBase):
    """How to reach one cell: its message bus and its database."""

    __tablename__ = "cell_mappings"
    __table_args__ = (
        sa.Index("uuid_idx", "uuid"),
        sa.UniqueConstraint("uuid", name="uniq_cell_mappings0uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    transport_url: Mapped[str | None] = mapped_column(sa.Text())
    database_connection: Mapped[str | None] = mapped_column(sa.Text())
    disabled: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)


class InstanceMapping(APIBase):
    """Which cell an instance lives in (no cell yet while it is being scheduled)."""

    __tablename__ = "instance_mappings"
    __table_args__ = (
        sa.Index("project_id_idx", "project_id"),
        sa.Index("instance_uuid_idx", "instance_uuid"),
        sa.UniqueConstraint("instance_uuid", name="uniq_instance_mappings0instance_uuid"),
        sa.Index("instance_mappings_user_id_project_id_idx", "user_id", "project_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    cell_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("cell_mappings.id"), nullable=True)
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    # Nullable as in Nova, which never finished the transition to NOT NULL.
    user_id: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    queued_for_delete: Mapped[bool | None] = mapped_column(sa.Boolean)

    cell_mapping: Mapped[CellMapping | None] = relationship(CellMapping, lazy="joined")


class HostMapping(APIBase):
    """Which cell a compute host belongs to."""

    __tablename__ = "host_mappings"
    __table_args__ = (
        sa.Index("host_idx", "host"),
        sa.UniqueConstraint("host", name="uniq_host_mappings0host"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    cell_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("cell_mappings.id"), nullable=False)
    host: Mapped[str] = mapped_column(sa.String(255), nullable=False)

    cell_mapping: Mapped[CellMapping] = relationship(CellMapping, lazy="joined")


class RequestSpec(APIBase):
    """The serialised ``RequestSpec`` the scheduler works from, kept for moves."""

    __tablename__ = "request_specs"
    __table_args__ = (
        sa.Index("request_spec_instance_uuid_idx", "instance_uuid"),
        sa.UniqueConstraint("instance_uuid", name="uniq_request_specs0instance_uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    spec: Mapped[str] = mapped_column(MediumText(), nullable=False)


class Flavors(APIBase):
    """A flavor: the size of an instance."""

    __tablename__ = "flavors"
    __table_args__ = (
        sa.UniqueConstraint("flavorid", name="uniq_flavors0flavorid"),
        sa.UniqueConstraint("name", name="uniq_flavors0name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    memory_mb: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    vcpus: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    root_gb: Mapped[int | None] = mapped_column(sa.Integer)
    ephemeral_gb: Mapped[int | None] = mapped_column(sa.Integer)
    flavorid: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    swap: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    rxtx_factor: Mapped[float | None] = mapped_column(sa.Float, default=1)
    vcpu_weight: Mapped[int | None] = mapped_column(sa.Integer)
    disabled: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    is_public: Mapped[bool | None] = mapped_column(sa.Boolean, default=True)
    description: Mapped[str | None] = mapped_column(sa.Text)

    extra_specs: Mapped[list[FlavorExtraSpecs]] = relationship(
        "FlavorExtraSpecs", back_populates="flavor", lazy="selectin")
    projects: Mapped[list[FlavorProjects]] = relationship(
        "FlavorProjects", back_populates="flavor", lazy="selectin")


class FlavorExtraSpecs(APIBase):
    """An extra spec of a flavor (``hw:cpu_policy``, ``resources:VGPU``, ...)."""

    __tablename__ = "flavor_extra_specs"
    __table_args__ = (
        sa.Index("flavor_extra_specs_flavor_id_key_idx", "flavor_id", "key"),
        sa.UniqueConstraint("flavor_id", "key", name="uniq_flavor_extra_specs0flavor_id0key"),
        # Keys are case sensitive (Nova uses utf8_bin here).
        {**MYSQL_TABLE_ARGS, "mysql_collate": "utf8mb4_bin"},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    value: Mapped[str | None] = mapped_column(sa.String(255))
    flavor_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("flavors.id"), nullable=False)

    flavor: Mapped[Flavors] = relationship(Flavors, back_populates="extra_specs")


class FlavorProjects(APIBase):
    """A project that may use a private flavor."""

    __tablename__ = "flavor_projects"
    __table_args__ = (
        sa.UniqueConstraint(
            "flavor_id", "project_id", name="uniq_flavor_projects0flavor_id0project_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    flavor_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("flavors.id"), nullable=False)
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)

    flavor: Mapped[Flavors] = relationship(Flavors, back_populates="projects")


class BuildRequest(APIBase):
    """An instance accepted by the API and not yet in a cell."""

    __tablename__ = "build_requests"
    __table_args__ = (
        sa.Index("build_requests_instance_uuid_idx", "instance_uuid"),
        sa.Index("build_requests_project_id_idx", "project_id"),
        sa.UniqueConstraint("instance_uuid", name="uniq_build_requests0instance_uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    # Nullable as in Nova (a TODO there says it should not be).
    instance_uuid: Mapped[str | None] = mapped_column(sa.String(36))
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    instance: Mapped[str | None] = mapped_column(MediumText())
    block_device_mappings: Mapped[str | None] = mapped_column(MediumText())
    tags: Mapped[str | None] = mapped_column(sa.Text())


class KeyPair(APIBase):
    """A user's public key for ssh (or an x509 certificate for WinRM)."""

    __tablename__ = "key_pairs"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "name", name="uniq_key_pairs0user_id0name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    user_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    fingerprint: Mapped[str | None] = mapped_column(sa.String(255))
    public_key: Mapped[str | None] = mapped_column(sa.Text())
    type: Mapped[str] = mapped_column(
        sa.Enum("ssh", "x509", name="keypair_types"), nullable=False, server_default="ssh")


class InstanceGroupMember(APIBase):
    """An instance in a server group."""

    __tablename__ = "instance_group_member"
    __table_args__ = (
        sa.Index("instance_group_member_instance_idx", "instance_uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    instance_uuid: Mapped[str | None] = mapped_column(sa.String(255))
    group_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("instance_groups.id"), nullable=False)


class InstanceGroupPolicy(APIBase):
    """The policy of a server group (affinity, anti-affinity, soft-...) and its rules."""

    __tablename__ = "instance_group_policy"
    __table_args__ = (
        sa.Index("instance_group_policy_policy_idx", "policy"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    policy: Mapped[str | None] = mapped_column(sa.String(255))
    group_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("instance_groups.id"), nullable=False)
    rules: Mapped[str | None] = mapped_column(sa.Text)


class InstanceGroup(APIBase):
    """A server group."""

    __tablename__ = "instance_groups"
    __table_args__ = (
        sa.UniqueConstraint("uuid", name="uniq_instance_groups0uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    name: Mapped[str | None] = mapped_column(sa.String(255))

    _policies: Mapped[list[InstanceGroupPolicy]] = relationship(
        InstanceGroupPolicy, lazy="selectin")
    _members: Mapped[list[InstanceGroupMember]] = relationship(
        InstanceGroupMember, lazy="selectin")


class Quota(APIBase):
    """A project's quota override for one resource (NULL hard limit: unlimited)."""

    __tablename__ = "quotas"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "resource", name="uniq_quotas0project_id0resource"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    resource: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    hard_limit: Mapped[int | None] = mapped_column(sa.Integer)


class ProjectUserQuota(APIBase):
    """A quota override for one user within a project."""

    __tablename__ = "project_user_quotas"
    __table_args__ = (
        sa.UniqueConstraint(
            "user_id", "project_id", "resource",
            name="uniq_project_user_quotas0user_id0project_id0resource"),
        sa.Index("project_user_quotas_project_id_idx", "project_id"),
        sa.Index("project_user_quotas_user_id_idx", "user_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    project_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    user_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    resource: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    hard_limit: Mapped[int | None] = mapped_column(sa.Integer)


class QuotaClass(APIBase):
    """A quota class's limit for one resource (``default`` is the only class used)."""

    __tablename__ = "quota_classes"
    __table_args__ = (
        sa.Index("quota_classes_class_name_idx", "class_name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    class_name: Mapped[str | None] = mapped_column(sa.String(255))
    resource: Mapped[str | None] = mapped_column(sa.String(255))
    hard_limit: Mapped[int | None] = mapped_column(sa.Integer)


class QuotaUsage(APIBase):
    """Usage counted by the legacy reservation-based quota engine (kept as Nova does)."""

    __tablename__ = "quota_usages"
    __table_args__ = (
        sa.Index("quota_usages_project_id_idx", "project_id"),
        sa.Index("quota_usages_user_id_idx", "user_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    resource: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    in_use: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    reserved: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    until_refresh: Mapped[int | None] = mapped_column(sa.Integer)


class Reservation(APIBase):
    """A reservation of the legacy quota engine (kept as Nova does)."""

    __tablename__ = "reservations"
    __table_args__ = (
        sa.Index("reservations_project_id_idx", "project_id"),
        sa.Index("reservations_uuid_idx", "uuid"),
        sa.Index("reservations_expire_idx", "expire"),
        sa.Index("reservations_user_id_idx", "user_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    usage_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("quota_usages.id"), nullable=False)
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    resource: Mapped[str | None] = mapped_column(sa.String(255))
    delta: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    expire: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)

    usage: Mapped[QuotaUsage] = relationship(QuotaUsage)


__all__ = [
    "MYSQL_TABLE_ARGS", "APIBase", "Aggregate", "AggregateHost", "AggregateMetadata",
    "BuildRequest", "CellMapping", "FlavorExtraSpecs", "FlavorProjects", "Flavors",
    "HostMapping", "InstanceGroup", "InstanceGroupMember", "InstanceGroupPolicy",
    "InstanceMapping", "KeyPair", "ProjectUserQuota", "Quota", "QuotaClass", "QuotaUsage",
    "RequestSpec", "Reservation",
]
