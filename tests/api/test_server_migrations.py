"""GET /servers/{id}/migrations[/{id}] over HTTP: Nova's samples (2.23, 2.59, 2.80),
only live migrations in progress, the 404s, the microversion boundaries, and who may
call it."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.api.compute import server_migrations
from tests.api.quota_server import ADMIN, SAMPLE_PROJECT, sample, version
from tests.api.test_migrations import MigrationsServer, _time

SERVER = "4cfba335-03d8-49b2-8c52-e69043d1e8fe"
P = f"/v2.1/{SAMPLE_PROJECT}"


class ServerMigrationsServer(MigrationsServer):
    RESOURCES = [*MigrationsServer.RESOURCES, server_migrations.routes]

    def server(self, instance_uuid: str = SERVER, project_id: str = SAMPLE_PROJECT) -> str:
        with self.cell_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO instances (uuid, project_id, user_id, host, vm_state, deleted,"
                " hidden) VALUES (?, ?, 'u', 'compute1', 'active', 0, 0)",
                (instance_uuid, project_id))
        with self.engine.begin() as conn:
            cell_id = conn.exec_driver_sql("SELECT id FROM cell_mappings").scalar()
            conn.exec_driver_sql(
                "INSERT INTO instance_mappings (instance_uuid, cell_id, project_id, "
                "user_id) VALUES (?, ?, ?, 'u')", (instance_uuid, cell_id, project_id))
        return instance_uuid

    def live_migration(self, **values) -> dict:
        """The migration of Nova's samples (id 1, running), with ``values`` changed."""
        row = {"source_compute": "compute1", "dest_compute": "compute2",
               "source_node": "node1", "dest_node": "node2", "dest_host": "1.2.3.4",
               "instance_uuid": SERVER, "status": "running",
               "migration_type": "live-migration",
               "uuid": "12341d4b-346a-40d0-83c6-5f4f6892b650",
               "user_id": "8dbaa0f0-ab95-4ffe-8cb4-9c89d2ac9d24",
               "project_id": "5f705771-3aa9-4f4c-8660-0d9522ffdbea",
               "created_at": _time("2016-01-29T13:42:02.000000"),
               "updated_at": _time("2016-01-29T13:42:02.000000"),
               "memory_total": 123456, "memory_processed": 12345,
               "memory_remaining": 111111, "disk_total": 234567, "disk_processed": 23456,
               "disk_remaining": 211111, **values}
        return self.add_migration_row(**row)


class ServerMigrationsTest(unittest.TestCase):
    def setUp(self):
        self.api = ServerMigrationsServer(self)
        self.api.server()

    async def get(self, path: str, microversion: str = "2.23", token: str = ADMIN):
        return await self.api.request("GET", P + path, token=token,
                                      headers=version(microversion))

    async def test_samples(self):
        migration = self.api.live_migration()
        self.api.live_migration(status="completed", uuid=None)
        self.api.live_migration(migration_type="resize", uuid=None)
        for microversion in ("2.23", "2.59", "2.80"):
            reply = await self.get(f"/servers/{SERVER}/migrations", microversion)
            self.assertEqual(sample("server-migrations", f"v{microversion}",
                                    "migrations-index.json"), reply.json, microversion)
            reply = await self.get(f"/servers/{SERVER}/migrations/{migration['id']}",
                                   microversion)
            self.assertEqual(sample("server-migrations", f"v{microversion}",
                                    "migrations-get.json"), reply.json, microversion)

    async def test_not_before_2_23(self):
        migration = self.api.live_migration()
        for path in (f"/servers/{SERVER}/migrations",
                     f"/servers/{SERVER}/migrations/{migration['id']}"):
            reply = await self.get(path, "2.22")
            self.assertEqual(404, reply.code, reply.raw)

    async def test_show_404s(self):
        done = self.api.live_migration(status="completed", uuid=None)
        resize = self.api.live_migration(migration_type="resize", uuid=None)
        other = self.api.server("11111111-2222-4333-8444-555555555555")
        elsewhere = self.api.live_migration(instance_uuid=other, uuid=None)
        for migration_id, message in (
                (done["id"], f"Live migration {done['id']} for server {SERVER} is not in "
                             "progress."),
                (resize["id"], f"Migration {resize['id']} for server {SERVER} is not "
                               "live-migration."),
                (elsewhere["id"], f"In-progress live migration {elsewhere['id']} is not "
                                  f"found for server {SERVER}."),
                ("abc", f"In-progress live migration abc is not found for server "
                        f"{SERVER}."),
        ):
            reply = await self.get(f"/servers/{SERVER}/migrations/{migration_id}")
            self.assertEqual({"itemNotFound": {"code": 404, "message": message}},
                             reply.json)

    async def test_unknown_server(self):
        unknown = "00000000-0000-4000-8000-000000000001"
        reply = await self.get(f"/servers/{unknown}/migrations")
        self.assertEqual({"itemNotFound": {
            "code": 404, "message": f"Instance {unknown} could not be found."}},
            reply.json)

    async def check_policy(self, api):
        api.live_migration()
        for token, roles in ((ADMIN, None),
                             ("alice:" + SAMPLE_PROJECT, "member,reader"),
                             ("rita:" + SAMPLE_PROJECT, "reader"),
                             ("bob:07her", "member,reader")):
            for path, rule in ((f"/servers/{SERVER}/migrations", "index"),
                               (f"/servers/{SERVER}/migrations/1", "show")):
                headers = {"X-Roles": roles} if roles else {}
                reply = await api.request("GET", "/v2.1" + path, token=token,
                                          headers={**version("2.23"), **headers})
                if token == ADMIN:
                    self.assertEqual(200, reply.code, reply.raw)
                    continue
                self.assertEqual({"forbidden": {
                    "code": 403, "message": "Policy doesn't allow "
                    f"os_compute_api:servers:migrations:{rule} to be performed."}},
                    reply.json, (token, path))

    async def test_policy_old_defaults(self):
        await self.check_policy(self.api)

    async def test_policy_new_defaults(self):
        api = ServerMigrationsServer(self, enforce_new_defaults=True)
        api.server()
        await self.check_policy(api)
