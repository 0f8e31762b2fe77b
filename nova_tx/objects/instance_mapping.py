"""Which cell an instance lives in, as recorded in the API database.

The mapping is the authority on an instance's location: the API looks an instance up
here before it opens any cell database. ``cell_mapping`` is ``None`` while the instance
is still being scheduled (it then only exists as a build request).
"""
from __future__ import annotations

import dataclasses

from nova_tx.objects.cell_mapping import CellMapping


@dataclasses.dataclass(frozen=True)
class InstanceMapping:
    id: int | None
    instance_uuid: str
    cell_mapping: CellMapping | None
    project_id: str
    user_id: str | None = None
    queued_for_delete: bool = False
