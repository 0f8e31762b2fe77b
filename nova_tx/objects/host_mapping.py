"""Which cell a compute host belongs to, as recorded in the API database."""
from __future__ import annotations

import dataclasses

from nova_tx.objects.cell_mapping import CellMapping


@dataclasses.dataclass(frozen=True)
class HostMapping:
    id: int | None
    host: str
    cell_mapping: CellMapping
