"""Placement's tables: their own Alembic tree, in the API database by default."""
