"""Alembic environment of the API database (see ``nova_tx.db.migration``)."""
from nova_tx.db.api.models import APIBase
from nova_tx.db.migration import run_migrations_env

run_migrations_env(APIBase.metadata)
