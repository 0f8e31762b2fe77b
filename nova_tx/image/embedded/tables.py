"""The embedded image store's own tables (metadata only; data lives in files).

They are created with ``metadata.create_all`` when the store starts: a small schema of
the store's own, in its own database (``[embedded] image_database``), not one of Nova's.
"""
from __future__ import annotations

import sqlalchemy as sa

from nova_tx.db.types import utcnow

metadata = sa.MetaData()

images = sa.Table(
    "images", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(255)),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("visibility", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(255)),
    sa.Column("disk_format", sa.String(20)),
    sa.Column("container_format", sa.String(20)),
    sa.Column("size", sa.BigInteger),
    sa.Column("virtual_size", sa.BigInteger),
    sa.Column("checksum", sa.String(32)),
    sa.Column("os_hash_algo", sa.String(64)),
    sa.Column("os_hash_value", sa.String(128)),
    sa.Column("min_disk", sa.Integer, nullable=False, default=0),
    sa.Column("min_ram", sa.Integer, nullable=False, default=0),
    sa.Column("protected", sa.Boolean, nullable=False, default=False),
    sa.Column("os_hidden", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False, default=utcnow),
    sa.Column("updated_at", sa.DateTime, nullable=False, default=utcnow),
    sa.Index("ix_images_owner", "owner"),
    sa.Index("ix_images_visibility", "visibility"),
)

image_properties = sa.Table(
    "image_properties", metadata,
    sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

image_tags = sa.Table(
    "image_tags", metadata,
    sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("value", sa.String(255), primary_key=True),
)

#: Facts about the store itself (``seeded``: the first start's seed is done).
store_facts = sa.Table(
    "image_store_facts", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

#: Projects a ``shared`` image is shared with, and whether they accepted it.
image_members = sa.Table(
    "image_members", metadata,
    sa.Column("image_id", sa.String(36), sa.ForeignKey("images.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("member", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False, default="pending"),
    sa.Column("created_at", sa.DateTime, nullable=False, default=utcnow),
    sa.Column("updated_at", sa.DateTime, nullable=False, default=utcnow),
    sa.Index("ix_image_members_member", "member"),
)
