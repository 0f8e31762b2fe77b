"""A server as recorded in its cell's database (``instances``).

Only what the operator's commands read so far; the other columns join it when a caller
needs them.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Instance:
    uuid: str
    project_id: str | None
    user_id: str | None
    #: Soft-deleted: the row stays (``deleted`` set to its id) until it is archived.
    deleted: bool = False
