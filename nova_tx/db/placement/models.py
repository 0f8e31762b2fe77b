"""The tables of the embedded Placement service, as OpenStack Placement names them.

Table, column, index and constraint names are Placement's (``placement/db/sqlalchemy/
models.py``), so a database dumped from Placement reads the same here. They live in the
API database unless ``[placement_database] connection`` names another, with their own
Alembic tree and version table (``placement_alembic_version``).

Standard resource classes and traits are rows too (synchronised from os-resource-classes
and os-traits when the service starts): a standard class has the id of its position in
``os_resource_classes.STANDARDS``, custom classes start at 10000, as in Placement.
"""
from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nova_tx.db.types import utcnow

MYSQL_TABLE_ARGS: dict[str, str] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


class PlacementBase(DeclarativeBase):
    metadata = sa.MetaData()

    created_at: Mapped[datetime.datetime | None] = mapped_column(
        sa.DateTime, default=utcnow, sort_order=-1)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        sa.DateTime, onupdate=utcnow, sort_order=-1)


class ResourceProvider(PlacementBase):
    __tablename__ = "resource_providers"
    __table_args__ = (
        sa.Index("resource_providers_name_idx", "name"),
        sa.Index("resource_providers_root_provider_id_idx", "root_provider_id"),
        sa.Index("resource_providers_parent_provider_id_idx", "parent_provider_id"),
        sa.UniqueConstraint("uuid", name="uniq_resource_providers0uuid"),
        sa.UniqueConstraint("name", name="uniq_resource_providers0name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    name: Mapped[str | None] = mapped_column(sa.Unicode(200))
    generation: Mapped[int | None] = mapped_column(sa.Integer, default=0)
    root_provider_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("resource_providers.id"))
    parent_provider_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("resource_providers.id"))


class Inventory(PlacementBase):
    __tablename__ = "inventories"
    __table_args__ = (
        sa.Index("inventories_resource_provider_id_idx", "resource_provider_id"),
        sa.Index("inventories_resource_class_id_idx", "resource_class_id"),
        sa.Index("inventories_resource_provider_resource_class_idx",
                 "resource_provider_id", "resource_class_id"),
        sa.UniqueConstraint("resource_provider_id", "resource_class_id",
                            name="uniq_inventories0resource_provider_resource_class"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    resource_class_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    total: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    reserved: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    min_unit: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    max_unit: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    step_size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    allocation_ratio: Mapped[float] = mapped_column(sa.Float, nullable=False)


class Allocation(PlacementBase):
    __tablename__ = "allocations"
    __table_args__ = (
        sa.Index("allocations_resource_provider_class_used_idx",
                 "resource_provider_id", "resource_class_id", "used"),
        sa.Index("allocations_resource_class_id_idx", "resource_class_id"),
        sa.Index("allocations_consumer_id_idx", "consumer_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    consumer_id: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    resource_class_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    used: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class ResourceProviderAggregate(PlacementBase):
    __tablename__ = "resource_provider_aggregates"
    __table_args__ = (
        sa.Index("resource_provider_aggregates_aggregate_id_idx", "aggregate_id"),
        MYSQL_TABLE_ARGS,
    )

    resource_provider_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    aggregate_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)


class PlacementAggregate(PlacementBase):
    __tablename__ = "placement_aggregates"
    __table_args__ = (
        sa.UniqueConstraint("uuid", name="uniq_placement_aggregates0uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str | None] = mapped_column(sa.String(36))


class ResourceClass(PlacementBase):
    __tablename__ = "resource_classes"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uniq_resource_classes0name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(255), nullable=False)


class Trait(PlacementBase):
    __tablename__ = "traits"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uniq_traits0name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.Unicode(255), nullable=False)


class ResourceProviderTrait(PlacementBase):
    __tablename__ = "resource_provider_traits"
    __table_args__ = (
        sa.Index("resource_provider_traits_resource_provider_trait_idx",
                 "resource_provider_id", "trait_id"),
        MYSQL_TABLE_ARGS,
    )

    trait_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("traits.id"), primary_key=True)
    resource_provider_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("resource_providers.id"), primary_key=True)


class Project(PlacementBase):
    __tablename__ = "projects"
    __table_args__ = (
        sa.UniqueConstraint("external_id", name="uniq_projects0external_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)


class User(PlacementBase):
    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("external_id", name="uniq_users0external_id"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)


class ConsumerType(PlacementBase):
    __tablename__ = "consumer_types"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uniq_consumer_types0name"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.Unicode(255), nullable=False)


class Consumer(PlacementBase):
    __tablename__ = "consumers"
    __table_args__ = (
        sa.Index("consumers_project_id_uuid_idx", "project_id", "uuid"),
        sa.Index("consumers_project_id_user_id_uuid_idx", "project_id", "user_id", "uuid"),
        sa.UniqueConstraint("uuid", name="uniq_consumers0uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    project_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    user_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    generation: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default=sa.text("0"))
    consumer_type_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("consumer_types.id"))


resource_providers = ResourceProvider.__table__
inventories = Inventory.__table__
allocations = Allocation.__table__
rp_aggregates = ResourceProviderAggregate.__table__
aggregates = PlacementAggregate.__table__
resource_classes = ResourceClass.__table__
traits = Trait.__table__
rp_traits = ResourceProviderTrait.__table__
projects = Project.__table__
users = User.__table__
consumer_types = ConsumerType.__table__
consumers = Consumer.__table__
