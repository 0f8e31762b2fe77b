"""``/servers/{server_id}/migrations``: a server's live migrations in progress (admin
only by default), from 2.23.

``GET`` lists those ``queued``, ``preparing``, ``running`` or ``post-migrating``;
``GET .../{id}`` shows one, 404 when it is not the server's, not a live migration or
not in progress. 2.59 adds ``uuid``, 2.80 ``user_id`` and ``project_id``. The server is
looked up first (404 for no such server), then the policy is checked against its
project, as Nova does.

Not here yet: ``POST .../{id}/action`` ``force_complete`` (2.22) and ``DELETE
.../{id}`` (abort, 2.24), which need the compute's live migration.
"""
from __future__ import annotations

import datetime
from typing import Any

from nova_tx import exception, policy
from nova_tx.api.compute import wsgi
from nova_tx.api.compute._components import cell_engines
from nova_tx.api.compute._operator import _api_db
from nova_tx.api.compute.servers import get_server
from nova_tx.compute.migrations import MigrationsAPI
from nova_tx.compute.servers import Located
from nova_tx.db.main.migration_list import LIVE_MIGRATION_IN_PROGRESS, MigrationRecord

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:servers:migrations:%s"
BASE = "/servers/{server_id}/migrations"


def _time(value: datetime.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def output(req, migration: MigrationRecord) -> dict[str, Any]:
    result: dict[str, Any] = {
        "created_at": _time(migration.created_at),
        "dest_compute": migration.dest_compute,
        "dest_host": migration.dest_host,
        "dest_node": migration.dest_node,
        "disk_processed_bytes": migration.disk_processed,
        "disk_remaining_bytes": migration.disk_remaining,
        "disk_total_bytes": migration.disk_total,
        "id": migration.id,
        "memory_processed_bytes": migration.memory_processed,
        "memory_remaining_bytes": migration.memory_remaining,
        "memory_total_bytes": migration.memory_total,
        "server_uuid": migration.instance_uuid,
        "source_compute": migration.source_compute,
        "source_node": migration.source_node,
        "status": migration.status,
        "updated_at": _time(migration.updated_at),
    }
    if req.supports("2.59"):
        result["uuid"] = migration.uuid
    if req.supports("2.80"):
        result["user_id"] = migration.user_id
        result["project_id"] = migration.project_id
    return result


def migrations_api(req) -> MigrationsAPI:
    return MigrationsAPI(_api_db(req), cell_engines(req), req.conf)


async def _authorized(req, server_id: str, rule: str) -> Located:
    located = await get_server(req, server_id, expected_attrs=())
    policy.authorize(req.context, POLICY_ROOT % rule,
                     target={"project_id": located.instance.project_id})
    return located


@routes.get(BASE, min_version="2.23")
async def index(req, server_id):
    located = await _authorized(req, server_id, "index")
    found = await migrations_api(req).in_progress_live_migrations(
        located.cell, located.instance.uuid)
    return {"migrations": [output(req, m) for m in found]}


@routes.get(BASE + "/{migration_id}", min_version="2.23")
async def show(req, server_id, migration_id):
    located = await _authorized(req, server_id, "show")
    uuid = located.instance.uuid
    migration = None
    try:
        number = int(migration_id)
    except ValueError:
        number = None
    if number is not None:
        migration = await migrations_api(req).get_for_instance(located.cell, number, uuid)
    if migration is None:
        raise exception.NotFound(
            f"In-progress live migration {migration_id} is not found for server {uuid}.")
    if migration.migration_type != "live-migration":
        raise exception.NotFound(
            f"Migration {migration_id} for server {uuid} is not live-migration.")
    if migration.status not in LIVE_MIGRATION_IN_PROGRESS:
        raise exception.NotFound(
            f"Live migration {migration_id} for server {uuid} is not in progress.")
    return {"migration": output(req, migration)}
