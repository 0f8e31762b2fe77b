"""/os-server-groups (with quota sets and limits) over HTTP on a fresh SQLite API
database and one cell database, with the notifications collected; servers are seeded
as rows (an instance mapping, and an instance in the cell once scheduled)."""
from __future__ import annotations

import uuid as uuidlib

from nova_tx.api.compute import limits, quota_sets, server_groups
from nova_tx.db.api import cell_mappings, instance_mappings
from nova_tx.db.types import utcnow
from tests.api.quota_server import QuotaServer, version

SERVER_GROUP_TABLES = ("instance_groups", "instance_group_policy", "instance_group_member",
                       "quotas", "project_user_quotas")


class ServerGroupServer(QuotaServer):
    RESOURCES = [server_groups.routes, quota_sets.routes, limits.routes]
    TABLES = SERVER_GROUP_TABLES

    async def create_group(self, name: str = "test", policy: str = "anti-affinity", *,
                           token: str = "demo:abc1", microversion: str = "2.64",
                           rules: dict | None = None) -> dict:
        if microversion and version_at_least(microversion, "2.64"):
            body = {"name": name, "policy": policy}
            if rules is not None:
                body["rules"] = rules
        else:
            body = {"name": name, "policies": [policy]}
        reply = await self.request("POST", "/v2.1/os-server-groups", token=token,
                                   headers=version(microversion),
                                   body={"server_group": body})
        if reply.code != 200:
            raise AssertionError(f"create {name}: {reply.code} {reply.raw!r}")
        return reply.json["server_group"]

    def add_server(self, project_id: str, user_id: str, *, scheduled: bool = True,
                   deleted: bool = False, queued_for_delete: bool = False,
                   mapped: bool = True, host: str | None = None) -> str:
        """A server: its instance mapping (unless ``mapped`` is False) and, when
        ``scheduled``, its row in the cell (soft-deleted when ``deleted``)."""
        instance_uuid = str(uuidlib.uuid4())
        with self.engine.begin() as conn:
            cell = cell_mappings.get_all(conn)[0]
            if mapped:
                instance_mappings.create(
                    conn, instance_uuid=instance_uuid, project_id=project_id,
                    user_id=user_id, cell_mapping=cell if scheduled else None,
                    queued_for_delete=queued_for_delete)
        if scheduled:
            with self.cell_engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO instances (uuid, project_id, user_id, host, vcpus, "
                    "memory_mb, vm_state, deleted, hidden, created_at) VALUES (?, ?, ?, ?, "
                    "1, 512, 'active', ?, 0, ?)",
                    (instance_uuid, project_id, user_id, host, 1 if deleted else 0,
                     utcnow()))
        return instance_uuid

    def add_member_rows(self, group_uuid: str, *instance_uuids: str) -> None:
        from nova_tx.db.api import instance_groups

        with self.engine.begin() as conn:
            instance_groups.add_members(conn, group_uuid, instance_uuids)

    def server_group_api(self):
        """The ServerGroupAPI the handlers build, for the servers create path's calls."""
        from nova_tx.compute.server_groups import ServerGroupAPI
        from nova_tx.notifications.server_group import ServerGroupNotifier

        notifier = ServerGroupNotifier("fake-mini",
                                       versioned=self.components["versioned_notifier"],
                                       legacy=self.components["notifier"])
        quota = self.quota_engine()  # makes the cell engines too
        return ServerGroupAPI(self.pool, quota, self.conf, notifier,
                              cells=self.components["cell_engines"])


def version_at_least(microversion: str, floor: str) -> bool:
    def parse(text: str) -> tuple[int, int]:
        major, minor = text.split(".")
        return int(major), int(minor)

    return parse(microversion) >= parse(floor)
