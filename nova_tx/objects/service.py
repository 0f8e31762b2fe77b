"""A service process as its cell's database records it (``services``).

The record travels between a compute and its conductor, so it has a wire form
(``to_primitive``/``from_primitive``): a plain dict whose timestamps are ISO strings.
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any

#: What this code's services write into ``services.version`` (Nova Zed's
#: ``SERVICE_VERSION``, spec F); ``[upgrade_levels] ... = auto`` reads it back.
SERVICE_VERSION = 64

#: What a service of each version serves, as Nova's ``SERVICE_VERSION_HISTORY``: the
#: RPC API versions ``[upgrade_levels] ... = auto`` caps clients at. nova-tx's services
#: start at Zed's 64; a new entry comes with each new RPC version (and SERVICE_VERSION
#: moves to it).
SERVICE_VERSION_HISTORY: dict[int, dict[str, str]] = {
    64: {"conductor_rpc": "1.0"},
}
#: The oldest service version this code still talks to.
OLDEST_SUPPORTED_SERVICE_VERSION = min(SERVICE_VERSION_HISTORY)

_TIMESTAMPS = ("created_at", "updated_at", "last_seen_up")


@dataclasses.dataclass(frozen=True)
class Service:
    id: int
    uuid: str | None
    host: str | None
    binary: str | None
    topic: str | None
    report_count: int = 0
    disabled: bool = False
    disabled_reason: str | None = None
    forced_down: bool = False
    version: int = 0
    last_seen_up: datetime.datetime | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    def to_primitive(self) -> dict[str, Any]:
        """The record as JSON-able values, for an RPC result."""
        values = dataclasses.asdict(self)
        for name in _TIMESTAMPS:
            if values[name] is not None:
                values[name] = values[name].isoformat()
        return values

    @classmethod
    def from_primitive(cls, values: dict[str, Any]) -> Service:
        fields = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in values.items() if k in fields}
        for name in _TIMESTAMPS:
            if isinstance(known.get(name), str):
                known[name] = datetime.datetime.fromisoformat(known[name])
        return cls(**known)
