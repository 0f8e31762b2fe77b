"""The main (cell) database of Nova (``[database] connection``), as in Nova Zed.

Table, column, index and constraint names are Nova's (at Zed's head revision
``960aac0e09ea``). Most tables soft-delete as Nova does (oslo.db's ``SoftDeleteMixin``):
``deleted`` is 0 while a row is live and is set to the row's ``id`` when it is deleted,
and unique constraints include ``deleted``, so a live row may reuse the name of a deleted
one. Each soft-deletable table has a ``shadow_<name>`` twin that
``nova-manage db archive_deleted_rows`` moves deleted rows into; the twins are generated
from the models at import (:func:`_add_shadow_tables`) and live in the same ``MetaData``,
so Alembic sees them.

Kept beyond the tables the services need every day, for fidelity: ``pci_devices`` (PCI
passthrough), ``security_groups`` and ``security_group_instance_association`` (Nova still
records an instance's group names), ``instance_id_mappings`` and ``s3_images`` (the EC2
ids of the metadata service), ``task_log`` (the instance usage audit log API) and
``volume_usage_cache``.

Left out: nova-network's tables (``networks``, ``fixed_ips``, ``floating_ips``,
``dns_domains``, ``security_group_rules``, ``security_group_default_rules``,
``provider_fw_rules``), cells v1 (``cells``), XenAPI-only tables (``agent_builds``,
``bw_usage_cache``), nova-cert's ``certificates``, the xvp console tables (``consoles``,
``console_pools``), ``snapshots`` and the EC2 volume/snapshot id mappings, the
pre-API-database copies of API tables (``instance_types``, ``key_pairs``,
``aggregates``, ``instance_groups``, ``quotas``, ...) and the pre-split placement
tables. Nova keeps them only because it never dropped them; nothing in Zed reads them.
"""
from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from nova_tx.db.types import MediumText, utcnow

MYSQL_TABLE_ARGS: dict[str, str] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
SHADOW_TABLE_PREFIX = "shadow_"


def IPAddress() -> sa.types.TypeEngine:  # noqa: N802 - named like the type it stands for
    """An IPv4 or IPv6 address: ``INET`` on PostgreSQL, a 39-character string elsewhere."""
    return sa.String(39).with_variant(postgresql.INET(), "postgresql")


class MainBase(DeclarativeBase):
    """Declarative base of the cell database; its ``metadata`` is what Alembic compares."""

    metadata = sa.MetaData()


class TimestampMixin:
    """oslo.db's ``TimestampMixin``: Python-side defaults, nullable, no server default."""

    created_at: Mapped[datetime.datetime | None] = mapped_column(
        sa.DateTime, default=utcnow, sort_order=-1)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        sa.DateTime, onupdate=utcnow, sort_order=-1)


class SoftDeleteMixin:
    """oslo.db's ``SoftDeleteMixin``: ``deleted`` is 0 when live and ``id`` once deleted."""

    deleted_at: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime, sort_order=-1)
    deleted: Mapped[int | None] = mapped_column(sa.Integer, default=0)


class Service(TimestampMixin, SoftDeleteMixin, MainBase):
    """A service process (nova-compute, nova-conductor, ...) on a host."""

    __tablename__ = "services"
    __table_args__ = (
        sa.UniqueConstraint("host", "topic", "deleted", name="uniq_services0host0topic0deleted"),
        sa.UniqueConstraint(
            "host", "binary", "deleted", name="uniq_services0host0binary0deleted"),
        sa.Index("services_uuid_idx", "uuid", unique=True),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    uuid: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    host: Mapped[str | None] = mapped_column(sa.String(255))
    binary: Mapped[str | None] = mapped_column(sa.String(255))
    topic: Mapped[str | None] = mapped_column(sa.String(255))
    report_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    disabled: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(255))
    last_seen_up: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime, nullable=True)
    forced_down: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    version: Mapped[int | None] = mapped_column(sa.Integer, default=0)


class ComputeNode(TimestampMixin, SoftDeleteMixin, MainBase):
    """A hypervisor node reported by a nova-compute service (several for ironic)."""

    __tablename__ = "compute_nodes"
    __table_args__ = (
        sa.Index("compute_nodes_uuid_idx", "uuid", unique=True),
        sa.UniqueConstraint(
            "host", "hypervisor_hostname", "deleted",
            name="uniq_compute_nodes0host0hypervisor_hostname0deleted"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    service_id: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    # Nullable in Nova because Juno-era computes did not report it.
    host: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    uuid: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    vcpus: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    memory_mb: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    local_gb: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    vcpus_used: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    memory_mb_used: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    local_gb_used: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    hypervisor_type: Mapped[str] = mapped_column(MediumText(), nullable=False)
    hypervisor_version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    hypervisor_hostname: Mapped[str | None] = mapped_column(sa.String(255))
    free_ram_mb: Mapped[int | None] = mapped_column(sa.Integer)
    free_disk_gb: Mapped[int | None] = mapped_column(sa.Integer)
    current_workload: Mapped[int | None] = mapped_column(sa.Integer)
    running_vms: Mapped[int | None] = mapped_column(sa.Integer)
    # JSON: the <cpu> element of the hypervisor's capabilities.
    cpu_info: Mapped[str] = mapped_column(MediumText(), nullable=False)
    disk_available_least: Mapped[int | None] = mapped_column(sa.Integer)
    host_ip: Mapped[str | None] = mapped_column(IPAddress())
    supported_instances: Mapped[str | None] = mapped_column(sa.Text)
    metrics: Mapped[str | None] = mapped_column(sa.Text)
    pci_stats: Mapped[str | None] = mapped_column(sa.Text)
    extra_resources: Mapped[str | None] = mapped_column(sa.Text)
    stats: Mapped[str | None] = mapped_column(sa.Text, default="{}")
    # JSON of objects.NUMATopology, read by the scheduler's NUMA filter.
    numa_topology: Mapped[str | None] = mapped_column(sa.Text)
    ram_allocation_ratio: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    cpu_allocation_ratio: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    disk_allocation_ratio: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    # Set once `nova-manage cell_v2 discover_hosts` has created the host mapping.
    mapped: Mapped[int | None] = mapped_column(sa.Integer, nullable=True, default=0)


class Instance(TimestampMixin, SoftDeleteMixin, MainBase):
    """A server."""

    __tablename__ = "instances"
    __table_args__ = (
        # Nova Zed dropped the index named "uuid", a duplicate of the
        # unique constraint below.
        sa.Index("instances_project_id_idx", "project_id"),
        sa.Index("instances_project_id_deleted_idx", "project_id", "deleted"),
        sa.Index("instances_reservation_id_idx", "reservation_id"),
        sa.Index("instances_terminated_at_launched_at_idx", "terminated_at", "launched_at"),
        sa.Index("instances_uuid_deleted_idx", "uuid", "deleted"),
        sa.Index("instances_task_state_updated_at_idx", "task_state", "updated_at"),
        sa.Index("instances_host_node_deleted_idx", "host", "node", "deleted"),
        sa.Index("instances_host_deleted_cleaned_idx", "host", "deleted", "cleaned"),
        sa.Index("instances_deleted_created_at_idx", "deleted", "created_at"),
        sa.Index("instances_updated_at_project_id_idx", "updated_at", "project_id"),
        sa.UniqueConstraint("uuid", name="uniq_instances0uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    image_ref: Mapped[str | None] = mapped_column(sa.String(255))
    kernel_id: Mapped[str | None] = mapped_column(sa.String(255))
    ramdisk_id: Mapped[str | None] = mapped_column(sa.String(255))
    hostname: Mapped[str | None] = mapped_column(sa.String(255))
    launch_index: Mapped[int | None] = mapped_column(sa.Integer)
    key_name: Mapped[str | None] = mapped_column(sa.String(255))
    key_data: Mapped[str | None] = mapped_column(MediumText())
    power_state: Mapped[int | None] = mapped_column(sa.Integer)
    vm_state: Mapped[str | None] = mapped_column(sa.String(255))
    task_state: Mapped[str | None] = mapped_column(sa.String(255))
    memory_mb: Mapped[int | None] = mapped_column(sa.Integer)
    vcpus: Mapped[int | None] = mapped_column(sa.Integer)
    root_gb: Mapped[int | None] = mapped_column(sa.Integer)
    ephemeral_gb: Mapped[int | None] = mapped_column(sa.Integer)
    ephemeral_key_uuid: Mapped[str | None] = mapped_column(sa.String(36))
    # The compute service's host, not the guest's hostname (above).
    host: Mapped[str | None] = mapped_column(sa.String(255))
    # The compute node's hypervisor_hostname.
    node: Mapped[str | None] = mapped_column(sa.String(255))
    # The flavor's internal id (not flavorid); the flavor itself is in instance_extra.
    instance_type_id: Mapped[int | None] = mapped_column(sa.Integer)
    user_data: Mapped[str | None] = mapped_column(MediumText())
    reservation_id: Mapped[str | None] = mapped_column(sa.String(255))
    launched_at: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)
    terminated_at: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)
    # The zone the user asked for, not the zone of the host.
    availability_zone: Mapped[str | None] = mapped_column(sa.String(255))
    display_name: Mapped[str | None] = mapped_column(sa.String(255))
    display_description: Mapped[str | None] = mapped_column(sa.String(255))
    launched_on: Mapped[str | None] = mapped_column(MediumText())
    locked: Mapped[bool | None] = mapped_column(sa.Boolean)
    locked_by: Mapped[str | None] = mapped_column(
        sa.Enum("owner", "admin", name="instances0locked_by"))
    os_type: Mapped[str | None] = mapped_column(sa.String(255))
    architecture: Mapped[str | None] = mapped_column(sa.String(255))
    vm_mode: Mapped[str | None] = mapped_column(sa.String(255))
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    root_device_name: Mapped[str | None] = mapped_column(sa.String(255))
    default_ephemeral_device: Mapped[str | None] = mapped_column(sa.String(255))
    default_swap_device: Mapped[str | None] = mapped_column(sa.String(255))
    config_drive: Mapped[str | None] = mapped_column(sa.String(255))
    access_ip_v4: Mapped[str | None] = mapped_column(IPAddress())
    access_ip_v6: Mapped[str | None] = mapped_column(IPAddress())
    auto_disk_config: Mapped[bool | None] = mapped_column(sa.Boolean())
    progress: Mapped[int | None] = mapped_column(sa.Integer)
    shutdown_terminate: Mapped[bool | None] = mapped_column(sa.Boolean(), default=False)
    disable_terminate: Mapped[bool | None] = mapped_column(sa.Boolean(), default=False)
    # Cells v1; never set, kept because Nova keeps it.
    cell_name: Mapped[str | None] = mapped_column(sa.String(255))
    # Whether the instance's files were removed from its host after deletion.
    cleaned: Mapped[int | None] = mapped_column(sa.Integer, default=0)
    # True for the copy left in the source cell by a cross-cell resize.
    hidden: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)


class InstanceInfoCache(TimestampMixin, SoftDeleteMixin, MainBase):
    """The instance's network info as last seen from Neutron (JSON)."""

    __tablename__ = "instance_info_caches"
    __table_args__ = (
        sa.UniqueConstraint("instance_uuid", name="uniq_instance_info_caches0instance_uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    network_info: Mapped[str | None] = mapped_column(MediumText())
    instance_uuid: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"), nullable=False)


class InstanceExtra(TimestampMixin, SoftDeleteMixin, MainBase):
    """The instance's serialised objects (flavor, NUMA topology, PCI requests, ...)."""

    __tablename__ = "instance_extra"
    __table_args__ = (
        sa.Index("instance_extra_idx", "instance_uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"), nullable=False)
    device_metadata: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    numa_topology: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    pci_requests: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    flavor: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    vcpu_model: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    migration_context: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    keypairs: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    trusted_certs: Mapped[str | None] = mapped_column(sa.Text, deferred=True)
    resources: Mapped[str | None] = mapped_column(sa.Text, deferred=True)


class BlockDeviceMapping(TimestampMixin, SoftDeleteMixin, MainBase):
    """A disk of an instance: image, volume, snapshot, blank, ephemeral or swap."""

    __tablename__ = "block_device_mapping"
    __table_args__ = (
        sa.Index("snapshot_id", "snapshot_id"),
        sa.Index("volume_id", "volume_id"),
        sa.Index("block_device_mapping_instance_uuid_device_name_idx",
                 "instance_uuid", "device_name"),
        sa.Index("block_device_mapping_instance_uuid_volume_id_idx",
                 "instance_uuid", "volume_id"),
        sa.Index("block_device_mapping_instance_uuid_idx", "instance_uuid"),
        sa.UniqueConstraint("uuid", name="uniq_block_device_mapping0uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"))
    # The BDM's own uuid, not the image/volume/snapshot it is built from.
    uuid: Mapped[str | None] = mapped_column(sa.String(36))
    source_type: Mapped[str | None] = mapped_column(sa.String(255))
    destination_type: Mapped[str | None] = mapped_column(sa.String(255))
    guest_format: Mapped[str | None] = mapped_column(sa.String(255))
    device_type: Mapped[str | None] = mapped_column(sa.String(255))
    disk_bus: Mapped[str | None] = mapped_column(sa.String(255))
    boot_index: Mapped[int | None] = mapped_column(sa.Integer)
    device_name: Mapped[str | None] = mapped_column(sa.String(255))
    delete_on_termination: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    snapshot_id: Mapped[str | None] = mapped_column(sa.String(36))
    volume_id: Mapped[str | None] = mapped_column(sa.String(36))
    volume_size: Mapped[int | None] = mapped_column(sa.Integer)
    volume_type: Mapped[str | None] = mapped_column(sa.String(255))
    image_id: Mapped[str | None] = mapped_column(sa.String(36))
    no_device: Mapped[bool | None] = mapped_column(sa.Boolean)
    connection_info: Mapped[str | None] = mapped_column(MediumText())
    tag: Mapped[str | None] = mapped_column(sa.String(255))
    attachment_id: Mapped[str | None] = mapped_column(sa.String(36))
    # Ephemeral disk encryption (Nova ccb0fa1a2252, Yoga).
    encrypted: Mapped[bool | None] = mapped_column(sa.Boolean, nullable=True)
    encryption_secret_uuid: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    encryption_format: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    encryption_options: Mapped[str | None] = mapped_column(sa.String(4096), nullable=True)


class SecurityGroupInstanceAssociation(TimestampMixin, SoftDeleteMixin, MainBase):
    __tablename__ = "security_group_instance_association"
    __table_args__ = (
        sa.Index("security_group_instance_association_instance_uuid_idx", "instance_uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    security_group_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("security_groups.id"))
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"))


class SecurityGroup(TimestampMixin, SoftDeleteMixin, MainBase):
    """A security group name recorded for an instance (the rules live in Neutron)."""

    __tablename__ = "security_groups"
    __table_args__ = (
        sa.UniqueConstraint(
            "project_id", "name", "deleted", name="uniq_security_groups0project_id0name0deleted"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(255))
    description: Mapped[str | None] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))


class Migration(TimestampMixin, SoftDeleteMixin, MainBase):
    """A move of an instance between hosts: cold migration, resize, live migration, evacuation."""

    __tablename__ = "migrations"
    __table_args__ = (
        sa.Index("migrations_instance_uuid_and_status_idx", "deleted", "instance_uuid", "status"),
        # MySQL limits the key length of an index, hence Nova's 100-character prefixes.
        sa.Index(
            "migrations_by_host_nodes_and_status_idx",
            "deleted", "source_compute", "dest_compute", "source_node", "dest_node", "status",
            mysql_length={"source_compute": 100, "dest_compute": 100, "source_node": 100,
                          "dest_node": 100}),
        sa.Index("migrations_uuid", "uuid", unique=True),
        sa.Index("migrations_updated_at_idx", "updated_at"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    # The compute hosts (an instance's "host").
    source_compute: Mapped[str | None] = mapped_column(sa.String(255))
    dest_compute: Mapped[str | None] = mapped_column(sa.String(255))
    # The compute nodes (hypervisor_hostname).
    source_node: Mapped[str | None] = mapped_column(sa.String(255))
    dest_node: Mapped[str | None] = mapped_column(sa.String(255))
    # An IP address, despite its name.
    dest_host: Mapped[str | None] = mapped_column(sa.String(255))
    old_instance_type_id: Mapped[int | None] = mapped_column(sa.Integer())
    new_instance_type_id: Mapped[int | None] = mapped_column(sa.Integer())
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"))
    uuid: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    status: Mapped[str | None] = mapped_column(sa.String(255))
    migration_type: Mapped[str | None] = mapped_column(
        sa.Enum("migration", "resize", "live-migration", "evacuation", name="migration_type"),
        nullable=True)
    hidden: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    memory_total: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    memory_processed: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    memory_remaining: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    disk_total: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    disk_processed: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    disk_remaining: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    cross_cell_move: Mapped[bool | None] = mapped_column(sa.Boolean, default=False)
    user_id: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    project_id: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)


class VirtualInterface(TimestampMixin, SoftDeleteMixin, MainBase):
    """A port of an instance (its MAC address and device tag)."""

    __tablename__ = "virtual_interfaces"
    __table_args__ = (
        sa.UniqueConstraint(
            "address", "deleted", name="uniq_virtual_interfaces0address0deleted"),
        sa.Index("virtual_interfaces_network_id_idx", "network_id"),
        sa.Index("virtual_interfaces_instance_uuid_fkey", "instance_uuid"),
        sa.Index("virtual_interfaces_uuid_idx", "uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    address: Mapped[str | None] = mapped_column(sa.String(255))
    network_id: Mapped[int | None] = mapped_column(sa.Integer)
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"))
    uuid: Mapped[str | None] = mapped_column(sa.String(36))
    tag: Mapped[str | None] = mapped_column(sa.String(255))


class InstanceMetadata(TimestampMixin, SoftDeleteMixin, MainBase):
    """A user-provided key/value pair of an instance."""

    __tablename__ = "instance_metadata"
    __table_args__ = (
        sa.Index("instance_metadata_instance_uuid_idx", "instance_uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(sa.String(255))
    value: Mapped[str | None] = mapped_column(sa.String(255))
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"))


class InstanceSystemMetadata(TimestampMixin, SoftDeleteMixin, MainBase):
    """A key/value pair of an instance owned by Nova (image properties, ...)."""

    __tablename__ = "instance_system_metadata"
    __table_args__ = (
        sa.Index("instance_uuid", "instance_uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    value: Mapped[str | None] = mapped_column(sa.String(255))
    instance_uuid: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"), nullable=False)


class VolumeUsage(TimestampMixin, SoftDeleteMixin, MainBase):
    """Volume I/O counters polled from the hypervisor (``volume_usage_poll_interval``)."""

    __tablename__ = "volume_usage_cache"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    volume_id: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    instance_uuid: Mapped[str | None] = mapped_column(sa.String(36))
    project_id: Mapped[str | None] = mapped_column(sa.String(36))
    user_id: Mapped[str | None] = mapped_column(sa.String(64))
    availability_zone: Mapped[str | None] = mapped_column(sa.String(255))
    tot_last_refreshed: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)
    tot_reads: Mapped[int | None] = mapped_column(sa.BigInteger, default=0)
    tot_read_bytes: Mapped[int | None] = mapped_column(sa.BigInteger, default=0)
    tot_writes: Mapped[int | None] = mapped_column(sa.BigInteger, default=0)
    tot_write_bytes: Mapped[int | None] = mapped_column(sa.BigInteger, default=0)
    curr_last_refreshed: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)
    curr_reads: Mapped[int | None] = mapped_column(sa.BigInteger, default=0)
    curr_read_bytes: Mapped[int | None] = mapped_column(sa.BigInteger, default=0)
    curr_writes: Mapped[int | None] = mapped_column(sa.BigInteger, default=0)
    curr_write_bytes: Mapped[int | None] = mapped_column(sa.BigInteger, default=0)


class S3Image(TimestampMixin, SoftDeleteMixin, MainBase):
    """The integer behind an image's EC2 id (``ami-0000000N``) in the metadata service."""

    __tablename__ = "s3_images"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(
        sa.Integer, primary_key=True, nullable=False, autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)


class InstanceFault(TimestampMixin, SoftDeleteMixin, MainBase):
    """An error recorded against an instance (the server's ``fault``)."""

    __tablename__ = "instance_faults"
    __table_args__ = (
        sa.Index("instance_faults_host_idx", "host"),
        sa.Index("instance_faults_instance_uuid_deleted_created_at_idx",
                 "instance_uuid", "deleted", "created_at"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"))
    code: Mapped[int] = mapped_column(sa.Integer(), nullable=False)
    message: Mapped[str | None] = mapped_column(sa.String(255))
    details: Mapped[str | None] = mapped_column(MediumText())
    host: Mapped[str | None] = mapped_column(sa.String(255))


class InstanceAction(TimestampMixin, SoftDeleteMixin, MainBase):
    """One user request on an instance (``os-instance-actions``)."""

    __tablename__ = "instance_actions"
    __table_args__ = (
        sa.Index("instance_uuid_idx", "instance_uuid"),
        sa.Index("request_id_idx", "request_id"),
        sa.Index("instance_actions_instance_uuid_updated_at_idx", "instance_uuid", "updated_at"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(
        sa.Integer, primary_key=True, nullable=False, autoincrement=True)
    action: Mapped[str | None] = mapped_column(sa.String(255))
    instance_uuid: Mapped[str | None] = mapped_column(
        sa.String(36), sa.ForeignKey("instances.uuid"))
    request_id: Mapped[str | None] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.String(255))
    project_id: Mapped[str | None] = mapped_column(sa.String(255))
    start_time: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime, default=utcnow)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)
    message: Mapped[str | None] = mapped_column(sa.String(255))


class InstanceActionEvent(TimestampMixin, SoftDeleteMixin, MainBase):
    """A step of an instance action (``compute_build_and_run_instance``, ...)."""

    __tablename__ = "instance_actions_events"
    __table_args__ = (MYSQL_TABLE_ARGS,)

    id: Mapped[int] = mapped_column(
        sa.Integer, primary_key=True, nullable=False, autoincrement=True)
    event: Mapped[str | None] = mapped_column(sa.String(255))
    action_id: Mapped[int | None] = mapped_column(
        sa.Integer, sa.ForeignKey("instance_actions.id"))
    start_time: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime, default=utcnow)
    finish_time: Mapped[datetime.datetime | None] = mapped_column(sa.DateTime)
    result: Mapped[str | None] = mapped_column(sa.String(255))
    traceback: Mapped[str | None] = mapped_column(sa.Text)
    host: Mapped[str | None] = mapped_column(sa.String(255))
    details: Mapped[str | None] = mapped_column(sa.Text)


class InstanceIdMapping(TimestampMixin, SoftDeleteMixin, MainBase):
    """The integer behind an instance's EC2 id (``i-0000000N``) in the metadata service."""

    __tablename__ = "instance_id_mappings"
    __table_args__ = (
        sa.Index("ix_instance_id_mappings_uuid", "uuid"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(
        sa.Integer, primary_key=True, nullable=False, autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)


class TaskLog(TimestampMixin, SoftDeleteMixin, MainBase):
    """A run of a periodic audit task (``os-instance_usage_audit_log``)."""

    __tablename__ = "task_log"
    __table_args__ = (
        sa.UniqueConstraint(
            "task_name", "host", "period_beginning", "period_ending",
            name="uniq_task_log0task_name0host0period_beginning0period_ending"),
        sa.Index("ix_task_log_period_beginning", "period_beginning"),
        sa.Index("ix_task_log_host", "host"),
        sa.Index("ix_task_log_period_ending", "period_ending"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(
        sa.Integer, primary_key=True, nullable=False, autoincrement=True)
    task_name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    host: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    period_beginning: Mapped[datetime.datetime] = mapped_column(
        sa.DateTime, default=utcnow, nullable=False)
    period_ending: Mapped[datetime.datetime] = mapped_column(
        sa.DateTime, default=utcnow, nullable=False)
    message: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    task_items: Mapped[int | None] = mapped_column(sa.Integer(), default=0)
    errors: Mapped[int | None] = mapped_column(sa.Integer(), default=0)


class PciDevice(TimestampMixin, SoftDeleteMixin, MainBase):
    """A PCI device of a compute node that can be passed through to an instance."""

    __tablename__ = "pci_devices"
    __table_args__ = (
        sa.Index("ix_pci_devices_compute_node_id_deleted", "compute_node_id", "deleted"),
        sa.Index("ix_pci_devices_instance_uuid_deleted", "instance_uuid", "deleted"),
        sa.Index("ix_pci_devices_compute_node_id_parent_addr_deleted",
                 "compute_node_id", "parent_addr", "deleted"),
        sa.UniqueConstraint(
            "compute_node_id", "address", "deleted",
            name="uniq_pci_devices0compute_node_id0address0deleted"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    uuid: Mapped[str | None] = mapped_column(sa.String(36))
    compute_node_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("compute_nodes.id"), nullable=False)
    # domain:bus:slot.func, e.g. 0000:09:01.1
    address: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    vendor_id: Mapped[str] = mapped_column(sa.String(4), nullable=False)
    product_id: Mapped[str] = mapped_column(sa.String(4), nullable=False)
    dev_type: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    dev_id: Mapped[str | None] = mapped_column(sa.String(255))
    label: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    request_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    extra_info: Mapped[str | None] = mapped_column(sa.Text)
    instance_uuid: Mapped[str | None] = mapped_column(sa.String(36))
    numa_node: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    parent_addr: Mapped[str | None] = mapped_column(sa.String(12), nullable=True)


class Tag(MainBase):
    """A server tag. Neither timestamped nor soft-deleted, as in Nova."""

    __tablename__ = "tags"
    __table_args__ = (
        sa.Index("tags_tag_idx", "tag"),
        MYSQL_TABLE_ARGS,
    )

    resource_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, nullable=False)
    tag: Mapped[str] = mapped_column(sa.Unicode(80), primary_key=True, nullable=False)


class ConsoleAuthToken(TimestampMixin, MainBase):
    """A console token (stored hashed); expired rows are deleted, not soft-deleted."""

    __tablename__ = "console_auth_tokens"
    __table_args__ = (
        # Zed dropped console_auth_tokens_token_hash_idx, a duplicate of
        # the unique constraint.
        sa.Index("console_auth_tokens_instance_uuid_idx", "instance_uuid"),
        sa.Index("console_auth_tokens_host_expires_idx", "host", "expires"),
        sa.Index("console_auth_tokens_token_hash_instance_uuid_idx",
                 "token_hash", "instance_uuid"),
        sa.UniqueConstraint("token_hash", name="uniq_console_auth_tokens0token_hash"),
        MYSQL_TABLE_ARGS,
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    console_type: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    host: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    port: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    internal_access_path: Mapped[str | None] = mapped_column(sa.String(255))
    instance_uuid: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    expires: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    access_url_base: Mapped[str | None] = mapped_column(sa.String(255))


def is_soft_deletable(table: sa.Table) -> bool:
    """Nova's test for which tables get a shadow table and are archived."""
    return "deleted" in table.c and not table.name.startswith(SHADOW_TABLE_PREFIX)


def _shadow_column_type(column: sa.Column) -> sa.types.TypeEngine:
    if isinstance(column.type, sa.Enum):
        # A named type on PostgreSQL: the shadow column needs its own, or creating
        # the shadow table would try to create the base table's type a second time.
        # For instances.locked_by this gives Nova's name, shadow_instances0locked_by.
        return sa.Enum(*column.type.enums, name=SHADOW_TABLE_PREFIX + column.type.name)
    return column.type.copy()


def _add_shadow_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    """Add ``shadow_<name>`` for each soft-deletable table of ``metadata``.

    A shadow table has the base table's columns (names, types, nullability) and
    primary key, and nothing else: no foreign keys (archived rows outlive their
    parents), no unique constraints or indexes (archives hold many deleted rows with
    the same values) and no defaults (rows are copied with every column given).
    """
    shadows = {}
    for table in list(metadata.sorted_tables):
        if not is_soft_deletable(table):
            continue
        columns = [
            sa.Column(column.name, _shadow_column_type(column),
                      primary_key=column.primary_key, nullable=column.nullable,
                      autoincrement=column.autoincrement)
            for column in table.columns
        ]
        shadows[table.name] = sa.Table(
            SHADOW_TABLE_PREFIX + table.name, metadata, *columns, **MYSQL_TABLE_ARGS)
    return shadows


#: Base table name -> its shadow table, e.g. ``SHADOW_TABLES["instances"]``.
SHADOW_TABLES: dict[str, sa.Table] = _add_shadow_tables(MainBase.metadata)


def shadow_table(name: str) -> sa.Table:
    """The shadow table of the base table ``name`` (KeyError if it has none)."""
    return SHADOW_TABLES[name]
