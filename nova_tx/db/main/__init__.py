"""The main database: one per cell (and cell0), the "[database] connection" of a cell."""
from nova_tx.db.main import models

database_name = "main"

__all__ = ["database_name", "models"]
