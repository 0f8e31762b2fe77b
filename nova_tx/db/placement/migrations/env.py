"""Alembic environment of Placement's tables (see ``nova_tx.db.migration``)."""
from nova_tx.db.migration import run_migrations_env, version_table
from nova_tx.db.placement.models import PlacementBase

run_migrations_env(PlacementBase.metadata, version_table("placement"))
