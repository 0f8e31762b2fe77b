"""``GET /os-migrations``: the migrations of every cell (admin only by default).

Microversions:

- 2.1: filters ``host`` (source or destination), ``source_compute``, ``status``,
  ``instance_uuid``, ``migration_type`` and ``hidden``; other parameters are ignored.
  Hidden migrations (the records a cross-cell move leaves behind) are never shown.
- 2.23: ``migration_type``, and ``links`` to ``/servers/{id}/migrations/{id}`` for a
  live migration in progress (``queued``, ``preparing``, ``running``,
  ``post-migrating``).
- 2.59: ``uuid``; paged (``limit``, ``marker`` = a migration uuid) newest first by
  ``created_at`` then ``id``, with a ``migrations_links`` next link;
  ``changes-since`` (``updated_at`` at or after); unknown parameters are refused.
- 2.66: ``changes-before`` (``updated_at`` at or before; not before
  ``changes-since``).
- 2.80: ``user_id`` and ``project_id``, shown and as filters.
"""
from __future__ import annotations

import datetime
from typing import Any

from oslo_utils import strutils, timeutils

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import links, pagination, wsgi
from nova_tx.api.compute._components import cell_engines
from nova_tx.api.compute._operator import _api_db
from nova_tx.api.compute.schemas import migrations as schema
from nova_tx.compute.migrations import MigrationsAPI
from nova_tx.db.main.migration_list import LIVE_MIGRATION_IN_PROGRESS, MigrationRecord

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-migrations:%s"
_BASE_FIELDS = ("created_at", "dest_compute", "dest_host", "dest_node", "id",
                "instance_uuid", "new_instance_type_id", "old_instance_type_id",
                "source_compute", "source_node", "status", "updated_at")


def migrations_api(req) -> MigrationsAPI:
    return MigrationsAPI(_api_db(req), cell_engines(req), req.conf)


def _time(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _view(req, migration: MigrationRecord, *, add_link: bool, add_uuid: bool,
          add_user_project: bool) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for name in _BASE_FIELDS:
        value = getattr(migration, name)
        view[name] = _time(value) if name.endswith("_at") else value
    if add_link:
        view["migration_type"] = migration.migration_type
        if (migration.migration_type == "live-migration"
                and migration.status in LIVE_MIGRATION_IN_PROGRESS):
            view["links"] = links.links(req, migration.id,
                                        f"servers/{migration.instance_uuid}/migrations")
    if add_uuid:
        view["uuid"] = migration.uuid
    if add_user_project:
        view["user_id"] = migration.user_id
        view["project_id"] = migration.project_id
    return view


def _parse_time(value: str) -> datetime.datetime:
    return timeutils.normalize_time(timeutils.parse_isotime(value))


def _filters(req, *, changes_since: bool, changes_before: bool) -> dict[str, Any]:
    """Nova's ``search_opts``: every query parameter (its last value); the change
    times parsed where the microversion has them and dropped where it does not."""
    filters: dict[str, Any] = {name: values[-1] for name, values in req.query.items()
                               if values}
    for name in ("limit", "marker"):
        filters.pop(name, None)
    if "hidden" in filters:
        filters["hidden"] = strutils.bool_from_string(filters["hidden"])
    if "changes-since" in filters:
        if changes_since:
            filters["changes-since"] = _parse_time(filters["changes-since"])
        else:
            del filters["changes-since"]
    if "changes-before" in filters:
        if changes_before:
            filters["changes-before"] = _parse_time(filters["changes-before"])
            since = filters.get("changes-since")
            if since is not None and filters["changes-before"] < since:
                raise exception.InvalidInput(
                    message="The value of changes-since must be less than or equal to "
                            "changes-before.")
        else:
            del filters["changes-before"]
    return filters


async def _index(req, *, add_link: bool = False, paged: bool = False,
                 changes_before: bool = False) -> dict:
    context = req.context
    policy.authorize(context, POLICY_ROOT % "index", target={})
    filters = _filters(req, changes_since=paged, changes_before=changes_before)
    api = migrations_api(req)
    if paged:
        limit, marker = pagination.get_limit_and_marker(req)
        try:
            found = await api.get_migrations_sorted(filters, limit=limit, marker=marker)
        except exception.MarkerNotFound as e:
            raise exception.InvalidInput(message=e.format_message()) from None
    else:
        found = await api.get_migrations(filters)
    views = [_view(req, m, add_link=add_link, add_uuid=paged,
                   add_user_project=req.supports("2.80"))
             for m in found if not m.hidden]
    body: dict[str, Any] = {"migrations": views}
    if paged:
        next_links = pagination.collection_links(req, views, "os-migrations", "uuid")
        if next_links:
            body["migrations_links"] = next_links
    return body


@routes.get("/os-migrations", max_version="2.22")
@validation.query_schema(schema.list_query_schema_v20)
async def index(req):
    return await _index(req)


@routes.get("/os-migrations", min_version="2.23", max_version="2.58")
@validation.query_schema(schema.list_query_schema_v20)
async def index_v223(req):
    return await _index(req, add_link=True)


@routes.get("/os-migrations", min_version="2.59", max_version="2.65")
@validation.query_schema(schema.list_query_params_v259)
async def index_v259(req):
    return await _index(req, add_link=True, paged=True)


@routes.get("/os-migrations", min_version="2.66")
@validation.query_schema(schema.list_query_params_v266, "2.66", "2.79")
@validation.query_schema(schema.list_query_params_v280, "2.80")
async def index_v266(req):
    return await _index(req, add_link=True, paged=True, changes_before=True)
