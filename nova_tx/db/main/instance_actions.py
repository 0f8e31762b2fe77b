"""Queries of ``instance_actions`` and ``instance_actions_events``: what was done to an
instance, by whom and with which request, and the steps (events) of each action.

Plain functions of a Connection returning ``InstanceAction``/``InstanceActionEvent``
dataclasses. An action is found by (instance, request id); when a request id was used
twice for one instance, the latest action is the one meant, as in Nova. Starting or
finishing an event also touches its action's ``updated_at``, which is what the
``changes-since``/``changes-before`` filters of the action list compare.
"""
from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.main import models
from nova_tx.db.types import utcnow
from nova_tx.objects.instance_action import InstanceAction, InstanceActionEvent

actions = models.InstanceAction.__table__
events = models.InstanceActionEvent.__table__

#: The result of an event that failed; it marks its action's message as ``Error``.
ERROR = "Error"
SUCCESS = "Success"


def _action(row: sa.Row) -> InstanceAction:
    return InstanceAction(
        id=row.id, action=row.action, instance_uuid=row.instance_uuid,
        request_id=row.request_id, user_id=row.user_id, project_id=row.project_id,
        start_time=row.start_time, finish_time=row.finish_time, message=row.message,
        created_at=row.created_at, updated_at=row.updated_at)


def _event(row: sa.Row) -> InstanceActionEvent:
    return InstanceActionEvent(
        id=row.id, event=row.event, action_id=row.action_id, start_time=row.start_time,
        finish_time=row.finish_time, result=row.result, traceback=row.traceback,
        host=row.host, details=row.details, created_at=row.created_at,
        updated_at=row.updated_at)


def create(conn: sa.Connection, *, action: str, instance_uuid: str, request_id: str,
           user_id: str | None, project_id: str | None,
           start_time: datetime.datetime | None = None) -> InstanceAction:
    """Record that ``action`` started on the instance for request ``request_id``."""
    now = utcnow()
    start_time = start_time or now
    action_id = conn.execute(actions.insert().values(
        action=action, instance_uuid=instance_uuid, request_id=request_id, user_id=user_id,
        project_id=project_id, start_time=start_time, created_at=now, updated_at=now,
        deleted=0)).inserted_primary_key[0]
    # Read back: MariaDB keeps whole seconds.
    return _action(conn.execute(sa.select(actions).where(actions.c.id == action_id)).one())


def _latest(instance_uuid: str, request_id: str):
    return (sa.select(actions)
            .where(actions.c.instance_uuid == instance_uuid,
                   actions.c.request_id == request_id)
            .order_by(actions.c.created_at.desc(), actions.c.id.desc()).limit(1))


def get_by_request_id(conn: sa.Connection, instance_uuid: str, request_id: str
                      ) -> InstanceAction:
    """The instance's latest action of ``request_id``; raises InstanceActionNotFound."""
    row = conn.execute(_latest(instance_uuid, request_id)).first()
    if row is None:
        raise exception.InstanceActionNotFound(request_id=request_id,
                                               instance_uuid=instance_uuid)
    return _action(row)


def finish(conn: sa.Connection, instance_uuid: str, request_id: str, *,
           finish_time: datetime.datetime | None = None) -> InstanceAction:
    """Record the end of the action; raises InstanceActionNotFound."""
    found = get_by_request_id(conn, instance_uuid, request_id)
    now = utcnow()
    finish_time = finish_time or now
    conn.execute(actions.update().where(actions.c.id == found.id)
                 .values(finish_time=finish_time, updated_at=now))
    return _action(conn.execute(sa.select(actions).where(actions.c.id == found.id)).one())


def event_start(conn: sa.Connection, instance_uuid: str, request_id: str, event: str, *,
                host: str | None = None, start_time: datetime.datetime | None = None
                ) -> InstanceActionEvent:
    """Record that a step of the action began; raises InstanceActionNotFound."""
    action = get_by_request_id(conn, instance_uuid, request_id)
    now = utcnow()
    start_time = start_time or now
    event_id = conn.execute(events.insert().values(
        event=event, action_id=action.id, start_time=start_time, host=host, created_at=now,
        deleted=0)).inserted_primary_key[0]
    conn.execute(actions.update().where(actions.c.id == action.id).values(updated_at=now))
    return _event(conn.execute(sa.select(events).where(events.c.id == event_id)).one())


def event_finish(conn: sa.Connection, instance_uuid: str, request_id: str, event: str, *,
                 result: str, traceback: str | None = None, details: str | None = None,
                 finish_time: datetime.datetime | None = None) -> InstanceActionEvent:
    """Record how a step ended (``result``: Success or Error); an Error marks the
    action's message ``Error``. Raises InstanceActionNotFound, or
    InstanceActionEventNotFound when the step never started."""
    action = get_by_request_id(conn, instance_uuid, request_id)
    row = conn.execute(sa.select(events).where(events.c.action_id == action.id,
                                               events.c.event == event)
                       .order_by(events.c.id.desc()).limit(1)).first()
    if row is None:
        raise exception.InstanceActionEventNotFound(event=event, action_id=action.id)
    now = utcnow()
    finish_time = finish_time or now
    conn.execute(events.update().where(events.c.id == row.id).values(
        finish_time=finish_time, result=result, traceback=traceback, details=details,
        updated_at=now))
    action_values: dict[str, Any] = {"updated_at": now}
    if result.lower() == ERROR.lower():
        action_values["message"] = ERROR
    conn.execute(actions.update().where(actions.c.id == action.id).values(**action_values))
    return _event(conn.execute(sa.select(events).where(events.c.id == row.id)).one())


def get_by_instance(conn: sa.Connection, instance_uuid: str, *, limit: int | None = None,
                    marker: str | None = None, filters: Mapping[str, Any] | None = None
                    ) -> list[InstanceAction]:
    """The instance's actions, newest first (``created_at``, then ``id``).

    ``marker`` is a request id (MarkerNotFound when the instance has no action of it);
    ``filters`` may hold ``changes-since`` and ``changes-before`` (on ``updated_at``).
    """
    filters = filters or {}
    stmt = sa.select(actions).where(actions.c.instance_uuid == instance_uuid)
    if filters.get("changes-since") is not None:
        stmt = stmt.where(actions.c.updated_at >= filters["changes-since"])
    if filters.get("changes-before") is not None:
        stmt = stmt.where(actions.c.updated_at <= filters["changes-before"])
    if marker is not None:
        found = conn.execute(_latest(instance_uuid, marker)).first()
        if found is None:
            raise exception.MarkerNotFound(marker=marker)
        stmt = stmt.where(sa.or_(
            actions.c.created_at < found.created_at,
            sa.and_(actions.c.created_at == found.created_at, actions.c.id < found.id)))
    stmt = stmt.order_by(actions.c.created_at.desc(), actions.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_action(row) for row in conn.execute(stmt)]


def get_events(conn: sa.Connection, action_id: int) -> list[InstanceActionEvent]:
    """The events of an action, newest first."""
    return [_event(row) for row in conn.execute(
        sa.select(events).where(events.c.action_id == action_id)
        .order_by(events.c.created_at.desc(), events.c.id.desc()))]
