"""Queries of ``build_requests``: the servers the API accepted that no cell holds yet.

Plain functions of a Connection returning ``BuildRequest`` dataclasses. The instance is
stored serialised (see ``nova_tx.objects.build_request``), so listing filters and sorts
in Python on the deserialised instances, as Nova's ``BuildRequestList.get_by_filters``
does; build requests live for seconds, so there are few.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import models
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.main import instances
from nova_tx.db.main.instances import process_sort_params
from nova_tx.db.types import utcnow
from nova_tx.objects.build_request import BuildRequest
from nova_tx.objects.instance import Instance

build_requests = models.BuildRequest.__table__

#: Filters compared exactly (a list value: any of them); others are regexes, as Nova's.
EXACT_FILTERS = ("project_id", "user_id", "image_ref", "vm_state", "instance_type_id",
                 "uuid", "metadata", "host", "task_state", "system_metadata", "tags",
                 "tags-any", "not-tags", "not-tags-any")


def _from_row(row: sa.Row) -> BuildRequest:
    return BuildRequest.from_columns(
        id=row.id, instance_uuid=row.instance_uuid, project_id=row.project_id,
        instance=row.instance, block_device_mappings=row.block_device_mappings,
        tags=row.tags, created_at=row.created_at, updated_at=row.updated_at)


def create(conn: sa.Connection, build_request: BuildRequest) -> BuildRequest:
    """Store a build request; returns it with ``id`` and ``created_at``.

    Raises ``Invalid`` when the instance has one already.
    """
    now = utcnow()
    exists = conn.execute(sa.select(build_requests.c.id).where(
        build_requests.c.instance_uuid == build_request.instance_uuid)).first()
    if exists is not None:
        # Checked first: a failed insert would abort a PostgreSQL transaction.
        raise exception.Invalid(
            f"BuildRequest for instance {build_request.instance_uuid} already exists")
    try:
        result = conn.execute(build_requests.insert().values(
            instance_uuid=build_request.instance_uuid, project_id=build_request.project_id,
            instance=build_request.instance_json(),
            block_device_mappings=build_request.block_device_mappings_json(),
            tags=build_request.tags_json(), created_at=now))
    except DBDuplicateEntry:
        raise exception.Invalid(
            f"BuildRequest for instance {build_request.instance_uuid} already exists"
        ) from None
    return get_by_id(conn, result.inserted_primary_key[0])


def get_by_id(conn: sa.Connection, build_request_id: int) -> BuildRequest:
    row = conn.execute(sa.select(build_requests).where(
        build_requests.c.id == build_request_id)).one_or_none()
    if row is None:
        raise exception.BuildRequestNotFound(uuid=build_request_id)
    return _from_row(row)


def get_by_instance_uuid(conn: sa.Connection, instance_uuid: str) -> BuildRequest:
    """The build request of one instance; raises BuildRequestNotFound."""
    row = conn.execute(sa.select(build_requests).where(
        build_requests.c.instance_uuid == instance_uuid)).one_or_none()
    if row is None:
        raise exception.BuildRequestNotFound(uuid=instance_uuid)
    return _from_row(row)


def get_all(conn: sa.Connection, project_id: str | None = None) -> list[BuildRequest]:
    """Every build request (of one project), oldest first."""
    stmt = sa.select(build_requests).order_by(build_requests.c.id)
    if project_id is not None:
        stmt = stmt.where(build_requests.c.project_id == project_id)
    return [_from_row(row) for row in conn.execute(stmt)]


def save_instance(conn: sa.Connection, instance_uuid: str, instance: Instance) -> None:
    """Store a changed instance (a server renamed before it reached a cell)."""
    result = conn.execute(build_requests.update()
                          .where(build_requests.c.instance_uuid == instance_uuid)
                          .values(instance=BuildRequest(
                              instance_uuid=instance_uuid, project_id=instance.project_id,
                              instance=instance).instance_json(), updated_at=utcnow()))
    if result.rowcount == 0:
        raise exception.BuildRequestNotFound(uuid=instance_uuid)


def destroy(conn: sa.Connection, instance_uuid: str) -> None:
    """Forget the build request of an instance; raises BuildRequestNotFound."""
    result = conn.execute(build_requests.delete()
                          .where(build_requests.c.instance_uuid == instance_uuid))
    if result.rowcount == 0:
        raise exception.BuildRequestNotFound(uuid=instance_uuid)


# -- the list as the servers API reads it --------------------------------------------------

def _metadata_passes(instance: Instance, value: Any) -> bool:
    items = value if isinstance(value, list) else [value]
    for item in items:
        for key, wanted in item.items():
            if key not in instance.metadata or instance.metadata[key] != wanted:
                return False
    return True


def _passes_exact(instance: Instance, filters: Mapping[str, Any]) -> bool | None:
    """Whether the instance passes; None when no instance can (an empty list value)."""
    tags = set(instance.tags)
    for key, value in filters.items():
        if key in ("metadata", "system_metadata"):
            if not _metadata_passes(instance, value):
                return False
        elif key == "tags":
            if not all(tag in tags for tag in value):
                return False
        elif key == "tags-any":
            if not any(tag in tags for tag in value):
                return False
        elif key == "not-tags":
            if all(tag in tags for tag in value):
                return False
        elif key == "not-tags-any":
            if any(tag in tags for tag in value):
                return False
        elif isinstance(value, (list, tuple, set, frozenset)):
            if not value:
                return None
            if instance.get(key) not in value:
                return False
        elif instance.get(key) != value:
            return False
    return True


def _passes_regex(instance: Instance, filters: Mapping[str, Any]) -> bool:
    for key, value in filters.items():
        if not hasattr(instance, key):
            continue
        attr = getattr(instance, key)
        try:
            pattern = re.compile(str(value))
        except re.error as e:
            raise exception.InvalidInput(
                reason=f"Invalid regular expression {value!r}: {e}") from None
        if attr and not pattern.search(str(attr)):
            return False
    return True


def _sorted(found: list[BuildRequest], keys: Sequence[str], dirs: Sequence[str]
            ) -> list[BuildRequest]:
    def value(build_request: BuildRequest, key: str) -> Any:
        # The instance has no id before it is in a cell: the build request's stands in.
        return build_request.id if key == "id" else getattr(build_request.instance, key)

    return sorted(found, key=instances.ordering(keys, dirs, value))


def get_by_filters(conn: sa.Connection, filters: Mapping[str, Any], *,
                   limit: int | None = None, marker: str | None = None,
                   sort_keys: Sequence[str] | None = None,
                   sort_dirs: Sequence[str] | None = None) -> list[BuildRequest]:
    """The build requests whose instances pass the servers list's ``filters``.

    As Nova: nothing when ``limit`` is 0 or the filters ask for deleted or cleaned
    instances (a build request is never either; a marker is then MarkerNotFound);
    ``changes-since``/``changes-before`` and unknown names are ignored; exact filters
    are compared, others searched as regexes; ``marker`` is an instance uuid
    (MarkerNotFound when no build request has it).
    """
    if limit == 0 or filters.get("deleted") or filters.get("cleaned"):
        if marker:
            raise exception.MarkerNotFound(marker=marker)
        return []
    keys, dirs = process_sort_params(sort_keys, sort_dirs)
    exact = {k: v for k, v in filters.items() if k in EXACT_FILTERS}
    regex = {k: v for k, v in filters.items()
             if k not in EXACT_FILTERS and k not in ("changes-since", "changes-before",
                                                     "deleted", "soft_deleted", "cleaned",
                                                     "ip", "ip6")}
    if "ip" in filters or "ip6" in filters:
        # No build request has an address yet.
        if marker:
            raise exception.MarkerNotFound(marker=marker)
        return []
    project_id = filters.get("project_id") if isinstance(filters.get("project_id"), str) \
        else None
    found = []
    for build_request in get_all(conn, project_id):
        passed = _passes_exact(build_request.instance, exact)
        if passed is None:
            return []
        if passed and _passes_regex(build_request.instance, regex):
            found.append(build_request)
    found = _sorted(found, keys, dirs)
    start = 0
    if marker:
        for i, build_request in enumerate(found):
            if build_request.instance_uuid == marker:
                start = i + 1
                break
        else:
            raise exception.MarkerNotFound(marker=marker)
    end = len(found) if not limit else min(len(found), start + limit)
    return found[start:end]
