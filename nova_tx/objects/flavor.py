"""A flavor as the API database stores it: the size of an instance, its extra specs and,
for a private flavor, the projects that may use it.

``extra_specs`` and ``projects`` are None when they were not loaded (Nova's Flavor
object leaves them unset then, and a notification says ``null`` for them).
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from nova_tx.objects import numa


@dataclasses.dataclass(frozen=True)
class Flavor:
    flavorid: str
    name: str
    memory_mb: int
    vcpus: int
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    vcpu_weight: int = 0
    disabled: bool = False
    is_public: bool = True
    description: str | None = None
    extra_specs: dict[str, str] | None = None
    projects: list[str] | None = None
    id: int | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    def replace(self, **changes: Any) -> Flavor:
        return dataclasses.replace(self, **changes)

    def for_numa(self) -> numa.Flavor:
        """What the NUMA rules (``nova_tx.virt.constraints``) read of this flavor."""
        return numa.Flavor(vcpus=self.vcpus, memory_mb=self.memory_mb,
                           extra_specs=dict(self.extra_specs or {}), name=self.name)
