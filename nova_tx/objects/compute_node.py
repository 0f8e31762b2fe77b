"""A hypervisor node as recorded in its cell's database (``compute_nodes``).

Only what the operator's commands read so far; the resource fields join it when a
caller needs them.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ComputeNode:
    id: int
    uuid: str | None
    host: str | None
    hypervisor_hostname: str | None
    #: Nova's counter: 0 until ``discover_hosts`` has mapped the node's host to a cell.
    mapped: int = 0
