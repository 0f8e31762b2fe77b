"""Alembic environment of the main (cell) database (see ``nova_tx.db.migration``)."""
from nova_tx.db.main.models import MainBase
from nova_tx.db.migration import run_migrations_env

run_migrations_env(MainBase.metadata)
