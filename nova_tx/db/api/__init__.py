"""The API database: one per deployment, shared by every cell."""
from nova_tx.db.api import models

database_name = "api"

__all__ = ["database_name", "models"]
