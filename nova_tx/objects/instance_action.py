"""What was done to an instance (``instance_actions``) and the steps of it
(``instance_actions_events``), as the ``os-instance-actions`` API shows them."""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any


@dataclasses.dataclass(frozen=True)
class InstanceAction:
    id: int | None
    action: str
    instance_uuid: str
    request_id: str
    user_id: str | None = None
    project_id: str | None = None
    start_time: datetime.datetime | None = None
    finish_time: datetime.datetime | None = None
    #: ``Error`` once one of its events failed.
    message: str | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None

    def replace(self, **changes: Any) -> InstanceAction:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class InstanceActionEvent:
    id: int | None
    event: str
    action_id: int
    start_time: datetime.datetime | None = None
    finish_time: datetime.datetime | None = None
    result: str | None = None
    traceback: str | None = None
    host: str | None = None
    #: The fault message of a failed event (shown from 2.84).
    details: str | None = None
    created_at: datetime.datetime | None = None
    updated_at: datetime.datetime | None = None
