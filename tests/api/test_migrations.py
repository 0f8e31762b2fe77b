"""GET /os-migrations over HTTP: Nova's samples at 2.1, 2.23, 2.59, 2.66 and 2.80
(filters, paging, changes-since/-before, user and project), every microversion
boundary, paging across two cells, bad input, and who may call it."""
from __future__ import annotations

import datetime
import os
import uuid

import sqlalchemy as sa
from twisted.trial import unittest

from nova_tx.api.compute import migrations
from nova_tx.db.main import models
from tests.api.flavor_server import SAMPLES
from tests.api.operator_server import RESOURCES, OperatorServer
from tests.api.quota_server import ADMIN, SAMPLE_PROJECT, sample, version
from tests.api.test_flavors import normalised

PATH = f"/v2.1/{SAMPLE_PROJECT}/os-migrations"
instances_t = models.Instance.__table__
migrations_t = models.Migration.__table__
FIELDS = ("id", "uuid", "source_compute", "dest_compute", "source_node", "dest_node",
          "dest_host", "old_instance_type_id", "new_instance_type_id", "instance_uuid",
          "status", "migration_type", "user_id", "project_id", "created_at", "updated_at")


def _time(text: str | None) -> datetime.datetime | None:
    return None if text is None else datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f")


class MigrationsServer(OperatorServer):
    RESOURCES = [*RESOURCES, migrations.routes]

    def add_migration_row(self, engine=None, *, deleted: bool = False, hidden: bool = False,
                          **values) -> dict:
        row = {"uuid": str(uuid.uuid4()), "source_compute": "c1", "dest_compute": "c2",
               "source_node": "n1", "dest_node": "n2", "dest_host": "1.2.3.4",
               "old_instance_type_id": 1, "new_instance_type_id": 2,
               "instance_uuid": str(uuid.uuid4()), "status": "done",
               "migration_type": "migration", "user_id": None, "project_id": None,
               "created_at": datetime.datetime(2020, 1, 1), "updated_at": None, **values}
        # Through SQLAlchemy, so that times are stored as the services store them.
        with (engine or self.cell_engine).begin() as conn:
            if not conn.execute(sa.select(instances_t.c.id).where(
                    instances_t.c.uuid == row["instance_uuid"])).first():
                conn.execute(instances_t.insert().values(
                    uuid=row["instance_uuid"], project_id="p", user_id="u", deleted=0,
                    hidden=False))
            row_id = conn.execute(migrations_t.insert().values(
                **row, hidden=hidden, cross_cell_move=False, deleted=0)
            ).inserted_primary_key[0]
            if deleted:
                conn.execute(migrations_t.update().where(migrations_t.c.id == row_id)
                             .values(deleted=row_id))
        return {**row, "id": row_id}

    def load_sample(self, *path: str) -> list[dict]:
        """The migrations of a sample as rows (in id order, as Nova's samples made
        them)."""
        rows = []
        for item in sorted(sample("os-migrations", *path)["migrations"],
                           key=lambda m: m["id"]):
            values = {name: item[name] for name in FIELDS if name in item}
            values["created_at"] = _time(values.get("created_at"))
            values["updated_at"] = _time(values.get("updated_at"))
            rows.append(self.add_migration_row(**values))
        return rows


class MigrationsCase(unittest.TestCase):
    def setUp(self):
        self.api = MigrationsServer(self)

    async def get(self, query: str = "", microversion: str = "2.1", token: str = ADMIN,
                  headers: dict | None = None):
        return await self.api.request(
            "GET", PATH + query, token=token,
            headers={**version(microversion), **(headers or {})})

    async def ids(self, query: str = "", microversion: str = "2.1") -> list[int]:
        reply = await self.get(query, microversion)
        self.assertEqual(200, reply.code, reply.raw)
        return [m["id"] for m in reply.json["migrations"]]


class MigrationsSamplesTest(MigrationsCase):
    maxDiff = None

    async def test_v21_sample(self):
        self.api.load_sample("migrations-get.json")
        reply = await self.get()
        self.assertEqual(sample("os-migrations", "migrations-get.json"), reply.json)

    async def test_v223_sample(self):
        self.api.load_sample("v2.23", "migrations-get.json")
        reply = await self.get(microversion="2.23")
        self.assertEqual(normalised(sample("os-migrations", "v2.23", "migrations-get.json")),
                         normalised(reply.json))

    async def test_paged_samples(self):
        queries = {
            "migrations-get.json": "",
            "migrations-get-with-limit.json": "?limit=1",
            "migrations-get-with-marker.json":
                "?marker=22341d4b-346a-40d0-83c6-5f4f6892b650",
            "migrations-get-with-changes-since.json":
                "?changes-since=2016-06-23T13:42:01.000000",
            "migrations-get-with-changes-before.json":
                "?changes-before=2016-01-29T11:42:02.000000",
            "migrations-get-with-user-or-project-id.json":
                "?user_id=5c48ebaa-193f-4c5d-948a-f559cc92cd5e"
                "&project_id=ef92ccff-00f3-46e4-b015-811110e36ee4",
        }
        for folder in ("v2.59", "v2.66", "v2.80"):
            # Each folder's samples were made from its own migrations.
            self.api = MigrationsServer(self)
            self.api.load_sample(folder, "migrations-get.json")
            for name, query in queries.items():
                if not os.path.exists(os.path.join(SAMPLES, "os-migrations", folder, name)):
                    continue
                reply = await self.get(query, folder[1:])
                self.assertEqual(
                    normalised(sample("os-migrations", folder, name)),
                    normalised(reply.json), (folder, name))


class MigrationsTest(MigrationsCase):

    async def test_filters_before_2_59(self):
        a = self.api.add_migration_row(source_compute="h1", dest_compute="h2",
                                       status="running", migration_type="live-migration")
        b = self.api.add_migration_row(source_compute="h2", dest_compute="h3",
                                       status="done", migration_type="resize")
        self.api.add_migration_row(source_compute="h1", hidden=True)
        self.api.add_migration_row(source_compute="h1", deleted=True)
        self.assertEqual([a["id"], b["id"]], await self.ids())
        self.assertEqual([a["id"], b["id"]], await self.ids("?host=h2"))
        self.assertEqual([b["id"]], await self.ids("?source_compute=h2"))
        self.assertEqual([a["id"]], await self.ids("?status=running"))
        self.assertEqual([b["id"]], await self.ids("?migration_type=resize"))
        self.assertEqual([a["id"]], await self.ids(f"?instance_uuid={a['instance_uuid']}"))
        # Hidden migrations are never shown, even when asked for.
        self.assertEqual([], await self.ids("?hidden=1"))
        # Unknown parameters and changes-since are ignored before 2.59.
        self.assertEqual([a["id"], b["id"]],
                         await self.ids("?bogus=1&changes-since=2030-01-01T00:00:00Z",
                                        "2.58"))

    async def test_fields_at_each_boundary(self):
        self.api.add_migration_row(status="running", migration_type="live-migration",
                                   user_id="u", project_id="p")
        keys = {}
        for microversion in ("2.22", "2.23", "2.58", "2.59", "2.79", "2.80"):
            reply = await self.get(microversion=microversion)
            keys[microversion] = set(reply.json["migrations"][0])
        base = {"created_at", "dest_compute", "dest_host", "dest_node", "id",
                "instance_uuid", "new_instance_type_id", "old_instance_type_id",
                "source_compute", "source_node", "status", "updated_at"}
        self.assertEqual(base, keys["2.22"])
        self.assertEqual(base | {"migration_type", "links"}, keys["2.23"])
        self.assertEqual(keys["2.23"], keys["2.58"])
        self.assertEqual(keys["2.58"] | {"uuid"}, keys["2.59"])
        self.assertEqual(keys["2.59"], keys["2.79"])
        self.assertEqual(keys["2.79"] | {"user_id", "project_id"}, keys["2.80"])

    async def test_links_only_for_live_migrations_in_progress(self):
        for status in ("queued", "preparing", "running", "post-migrating", "completed"):
            self.api.add_migration_row(status=status, migration_type="live-migration")
        self.api.add_migration_row(status="running", migration_type="resize")
        reply = await self.get(microversion="2.23")
        with_links = [(m["status"], m["migration_type"]) for m in reply.json["migrations"]
                      if "links" in m]
        self.assertEqual([("queued", "live-migration"), ("preparing", "live-migration"),
                          ("running", "live-migration"),
                          ("post-migrating", "live-migration")], with_links)
        first = reply.json["migrations"][0]
        self.assertTrue(first["links"][0]["href"].endswith(
            f"/v2.1/{SAMPLE_PROJECT}/servers/{first['instance_uuid']}/migrations/"
            f"{first['id']}"), first["links"])

    async def test_paging_across_two_cells(self):
        cell2 = self.api.add_cell(self)
        start = datetime.datetime(2021, 5, 1)
        expected = []
        for i in range(7):
            engine = cell2[1] if i % 2 else None
            row = self.api.add_migration_row(
                engine, created_at=start + datetime.timedelta(hours=i))
            expected.append(row["uuid"])
        expected.reverse()
        seen, query, pages = [], "?limit=3", 0
        while True:
            reply = await self.get(query, "2.59")
            self.assertEqual(200, reply.code, reply.raw)
            seen += [m["uuid"] for m in reply.json["migrations"]]
            pages += 1
            links = reply.json.get("migrations_links")
            if not links:
                break
            query = "?" + links[0]["href"].split("?", 1)[1]
        self.assertEqual(expected, seen)
        self.assertEqual(3, pages)
        # The unpaged list has them all too, cell by cell.
        self.assertEqual(7, len(await self.ids()))
        self.assertEqual([], await self.ids("?limit=0", "2.59"))

    async def test_changes_since_and_before(self):
        t = datetime.datetime(2022, 3, 1, 12)
        old = self.api.add_migration_row(updated_at=t)
        new = self.api.add_migration_row(updated_at=t + datetime.timedelta(days=1))
        self.api.add_migration_row(updated_at=None)
        self.assertEqual([new["id"]],
                         await self.ids("?changes-since=2022-03-01T12:00:01Z", "2.59"))
        self.assertEqual([new["id"], old["id"]],
                         await self.ids("?changes-since=2022-03-01T12:00:00Z", "2.59"))
        self.assertEqual([old["id"]],
                         await self.ids("?changes-before=2022-03-01T12:00:00Z", "2.66"))
        self.assertEqual([old["id"]], await self.ids(
            "?changes-since=2022-03-01T00:00:00Z&changes-before=2022-03-02T00:00:00Z",
            "2.66"))

    async def test_bad_input(self):
        self.api.add_migration_row()
        for microversion, query in (
                ("2.59", "?bogus=1"),
                ("2.59", "?limit=-1"),
                ("2.59", "?limit=abc"),
                ("2.59", "?changes-since=yesterday"),
                ("2.65", "?changes-before=2022-03-01T12:00:00Z"),
                ("2.66", "?changes-before=notatime"),
                ("2.79", "?user_id=u"),
                ("2.80", "?bogus=1"),
        ):
            reply = await self.get(query, microversion)
            self.assertEqual(400, reply.code, (microversion, query, reply.raw))
            self.assertEqual(400, reply.json["badRequest"]["code"])
        reply = await self.get(f"?marker={uuid.UUID(int=7)}", "2.59")
        self.assertEqual({"badRequest": {
            "code": 400,
            "message": f"Marker {uuid.UUID(int=7)} could not be found."}}, reply.json)
        reply = await self.get("?changes-since=2022-03-02T00:00:00Z"
                               "&changes-before=2022-03-01T00:00:00Z", "2.66")
        self.assertEqual({"badRequest": {
            "code": 400, "message": "The value of changes-since must be less than or "
                                    "equal to changes-before."}}, reply.json)


PERSONAS = {
    "admin": (ADMIN, None),
    "member": ("alice:" + SAMPLE_PROJECT, "member,reader"),
    "reader": ("rita:" + SAMPLE_PROJECT, "reader"),
    "other_member": ("bob:07her", "member,reader"),
}


class MigrationsPolicyTest(unittest.TestCase):

    async def check(self, enforce_new_defaults: bool):
        api = MigrationsServer(self, enforce_new_defaults=enforce_new_defaults)
        api.add_migration_row()
        for persona, (token, roles) in PERSONAS.items():
            for microversion in ("2.1", "2.80"):
                headers = {"X-Roles": roles} if roles else {}
                reply = await api.request("GET", "/v2.1/os-migrations", token=token,
                                          headers={**version(microversion), **headers})
                where = (enforce_new_defaults, persona, microversion)
                if persona == "admin":
                    self.assertEqual(200, reply.code, (where, reply.raw))
                else:
                    self.assertEqual({"forbidden": {
                        "code": 403, "message": "Policy doesn't allow "
                        "os_compute_api:os-migrations:index to be performed."}},
                        reply.json, where)

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)

