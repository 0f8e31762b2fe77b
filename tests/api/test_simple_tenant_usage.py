"""/os-simple-tenant-usage over HTTP: Nova's samples (2.1 and 2.40), the hours of
instances that ran part of the period, deleted and terminated ones, two cells,
paging (2.40) with its links, bad input, and who may call it."""
from __future__ import annotations

import contextlib
import datetime
import urllib.parse
import uuid
from unittest import mock

from twisted.trial import unittest

from nova_tx.api.compute import simple_tenant_usage
from nova_tx.db.main import instances as instances_db
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance
from tests.api.operator_server import RESOURCES, OperatorServer
from tests.api.quota_server import ADMIN, SAMPLE_PROJECT, sample, version

PATH = f"/v2.1/{SAMPLE_PROJECT}/os-simple-tenant-usage"
TINY = Flavor(id=1, flavorid="1", name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1)
SMALL = Flavor(id=2, flavorid="2", name="m1.small", memory_mb=2048, vcpus=2, root_gb=20,
               ephemeral_gb=5)
FMT = "%Y-%m-%dT%H:%M:%S.%f"


def t(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, FMT)


@contextlib.contextmanager
def at(now: datetime.datetime):
    """The API's clock reads ``now``."""
    with mock.patch("nova_tx.api.compute.simple_tenant_usage.utcnow", return_value=now), \
            mock.patch("nova_tx.compute.usage.utcnow", return_value=now):
        yield


class UsageServer(OperatorServer):
    RESOURCES = [*RESOURCES, simple_tenant_usage.routes]

    def add_server(self, *, project_id: str = SAMPLE_PROJECT, launched_at=None,
                   terminated_at=None, flavor: Flavor = TINY, name: str = "vm",
                   instance_uuid: str | None = None, deleted: bool = False,
                   vm_state: str = "active", engine=None) -> str:
        instance_uuid = instance_uuid or str(uuid.uuid4())
        with (engine or self.cell_engine).begin() as conn:
            instances_db.create(conn, Instance(
                uuid=instance_uuid, project_id=project_id, user_id="u", flavor=flavor,
                display_name=name, vm_state=vm_state, launched_at=launched_at,
                terminated_at=terminated_at))
            if deleted:
                conn.exec_driver_sql("UPDATE instances SET deleted = id WHERE uuid = ?",
                                     (instance_uuid,))
        return instance_uuid


class UsageCase(unittest.TestCase):
    now = datetime.datetime(2020, 6, 1, 12)

    def setUp(self):
        self.api = UsageServer(self)
        clock = at(self.now)
        clock.__enter__()
        self.addCleanup(clock.__exit__, None, None, None)

    async def get(self, query: dict | str = "", microversion: str = "2.1", path: str = PATH,
                  token: str = ADMIN, headers: dict | None = None):
        if isinstance(query, dict):
            query = "?" + urllib.parse.urlencode(query)
        return await self.api.request("GET", path + query, token=token,
                                      headers={**version(microversion), **(headers or {})})


class UsageSamplesTest(UsageCase):
    now = t("2012-10-08T21:10:44.587336")
    period = {"start": "2012-10-08T20:10:44.587336", "end": "2012-10-08T21:10:44.587336"}

    def setUp(self):
        super().setUp()
        self.api.add_server(instance_uuid="1f1deceb-17b5-4c04-84c7-e0d4499c8fe0",
                            name="new-server-test", launched_at=t("2012-10-08T20:10:44.541277"))

    async def test_v21_samples(self):
        reply = await self.get({**self.period, "detailed": "1"})
        self.assertEqual(sample("os-simple-tenant-usage", "simple-tenant-usage-get-detail.json"),
                         reply.json)
        reply = await self.get(self.period, path=f"{PATH}/{SAMPLE_PROJECT}")
        self.assertEqual(
            sample("os-simple-tenant-usage", "simple-tenant-usage-get-specific.json"),
            reply.json)

    async def test_summary_samples(self):
        # The summary samples are of the hour after the detailed ones'.
        later = {"start": "2012-10-08T21:10:44.587336", "end": "2012-10-08T22:10:44.587336"}
        with at(t("2012-10-08T22:10:44.587336")):
            reply = await self.get(later)
            self.assertEqual(
                sample("os-simple-tenant-usage", "simple-tenant-usage-get.json"),
                reply.json)
            reply = await self.get({**later, "limit": "1"}, "2.40")
        expected = sample("os-simple-tenant-usage", "v2.40", "simple-tenant-usage-get.json")
        self.assertEqual(expected["tenant_usages"], reply.json["tenant_usages"])
        self.assertEqual(["next"], [link["rel"] for link in reply.json["tenant_usages_links"]])

    async def test_v240_samples_without_their_links(self):
        # The 2.40 samples' links were made from another request than their bodies.
        expected = sample("os-simple-tenant-usage", "v2.40",
                          "simple-tenant-usage-get-detail.json")
        expected["tenant_usages"][0]["server_usages"][0]["name"] = "new-server-test"
        reply = await self.get({**self.period, "detailed": "1", "limit": "1"}, "2.40")
        self.assertEqual(expected["tenant_usages"], reply.json["tenant_usages"])
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(
            reply.json["tenant_usages_links"][0]["href"]).query)
        self.assertEqual({"detailed": ["1"], "limit": ["1"],
                          "marker": ["1f1deceb-17b5-4c04-84c7-e0d4499c8fe0"],
                          "start": [self.period["start"]], "end": [self.period["end"]]},
                         query)
        reply = await self.get({**self.period, "limit": "1"}, "2.40",
                               path=f"{PATH}/{SAMPLE_PROJECT}")
        expected = sample("os-simple-tenant-usage", "v2.40",
                          "simple-tenant-usage-get-specific.json")
        expected["tenant_usage"]["server_usages"][0]["name"] = "new-server-test"
        self.assertEqual(expected["tenant_usage"], reply.json["tenant_usage"])
        self.assertIn(f"/os-simple-tenant-usage/{SAMPLE_PROJECT}?",
                      reply.json["tenant_usage_links"][0]["href"])

    async def test_v240_all_tenants_sample(self):
        self.api = UsageServer(self)
        launched = t("2018-10-09T11:29:04.166194")
        for project, number, suffix in (
                ("0000000e737461636b20342065000000", 3, "06"),
                (SAMPLE_PROJECT, 1, "00"), (SAMPLE_PROJECT, 2, "03")):
            self.api.add_server(project_id=project, name=f"instance-{number}",
                                launched_at=launched,
                                instance_uuid=f"1f1deceb-17b5-4c04-84c7-e0d4499c8f{suffix}")
        with at(t("2018-10-09T12:29:04.166194")):
            reply = await self.get({"start": "2018-10-09T11:29:04.166194",
                                    "end": "2018-10-09T12:29:04.166194", "detailed": "1"},
                                   "2.40")
        self.assertEqual(sample("os-simple-tenant-usage", "v2.40",
                                "simple-tenant-usage-get-all.json"), reply.json)


class UsageTest(UsageCase):
    period = {"start": "2020-06-01T00:00:00", "end": "2020-06-01T10:00:00"}

    async def test_hours_of_the_period(self):
        day = datetime.datetime(2020, 6, 1)
        whole = self.api.add_server(launched_at=day - datetime.timedelta(days=1))
        late = self.api.add_server(launched_at=day + datetime.timedelta(hours=4),
                                   flavor=SMALL)
        ended = self.api.add_server(launched_at=day - datetime.timedelta(hours=1),
                                    terminated_at=day + datetime.timedelta(hours=2),
                                    deleted=True, vm_state="deleted")
        self.api.add_server(launched_at=day - datetime.timedelta(days=2),
                            terminated_at=day - datetime.timedelta(hours=1), deleted=True)
        self.api.add_server(launched_at=day + datetime.timedelta(hours=11))
        self.api.add_server(launched_at=None, vm_state="building")
        reply = await self.get({**self.period, "detailed": "1"})
        (usage,) = reply.json["tenant_usages"]
        servers = {s["instance_id"]: s for s in usage["server_usages"]}
        self.assertEqual({whole, late, ended}, set(servers))
        self.assertEqual((10.0, 6.0, 2.0), (servers[whole]["hours"], servers[late]["hours"],
                                            servers[ended]["hours"]))
        self.assertEqual(("terminated", "active"),
                         (servers[ended]["state"], servers[late]["state"]))
        self.assertEqual(3 * 3600, servers[ended]["uptime"])
        self.assertEqual(8 * 3600, servers[late]["uptime"])
        self.assertEqual(25, servers[late]["local_gb"])
        self.assertEqual(18.0, usage["total_hours"])
        self.assertEqual(10 + 2 * 6 + 2, usage["total_vcpus_usage"])
        self.assertEqual(512 * 12 + 2048 * 6, usage["total_memory_mb_usage"])
        self.assertEqual(12 + 25 * 6, usage["total_local_gb_usage"])

    async def test_end_in_the_future_is_now(self):
        self.api.add_server(launched_at=datetime.datetime(2020, 6, 1, 11))
        reply = await self.get({"start": "2020-06-01T10:00:00", "end": "2030-01-01T00:00:00"})
        (usage,) = reply.json["tenant_usages"]
        self.assertEqual(("2020-06-01T12:00:00.000000", 1.0),
                         (usage["stop"], usage["total_hours"]))

    async def test_two_cells_and_paging(self):
        cell2 = self.api.add_cell(self)
        day = datetime.datetime(2020, 6, 1)
        made = []
        for i in range(5):
            made.append(self.api.add_server(
                project_id=f"p{i % 2}", launched_at=day,
                engine=cell2[1] if i % 2 else None))
        expected = sorted(made, key=lambda u: (f"p{made.index(u) % 2}", u))
        seen, query = [], {**self.period, "detailed": "1", "limit": "2"}
        pages = 0
        while True:
            reply = await self.get(query, "2.40")
            self.assertEqual(200, reply.code, reply.raw)
            seen += [s["instance_id"] for u in reply.json["tenant_usages"]
                     for s in u["server_usages"]]
            pages += 1
            links = reply.json.get("tenant_usages_links")
            if not links:
                break
            query = "?" + urllib.parse.urlsplit(links[0]["href"]).query
        self.assertEqual(expected, seen)
        self.assertEqual(3, pages)
        # Before 2.40 there is no paging: limit and marker are ignored.
        reply = await self.get({**self.period, "detailed": "1", "limit": "2"}, "2.39")
        self.assertEqual(5, sum(len(u["server_usages"]) for u in reply.json["tenant_usages"]))
        self.assertNotIn("tenant_usages_links", reply.json)

    async def test_show_of_a_project_without_usage(self):
        self.api.add_server(launched_at=datetime.datetime(2020, 6, 1))
        reply = await self.get(self.period, path=f"{PATH}/nobody")
        self.assertEqual({"tenant_usage": {}}, reply.json)

    async def test_bad_input(self):
        for microversion, path, query, message in (
                ("2.1", PATH, {"start": "yesterday"},
                 "Invalid datetime string: Datetime is in invalid format"),
                ("2.1", PATH + "/p", {"end": "2020-13-01T00:00:00"},
                 "Invalid datetime string: Datetime is in invalid format"),
                ("2.1", PATH, {"start": "2020-06-01T10:00:00", "end": "2020-06-01T10:00:00"},
                 "Invalid start time. The start time cannot occur after the end time."),
                ("2.40", PATH, {**self.period, "marker": str(uuid.UUID(int=5))},
                 f"Marker {uuid.UUID(int=5)} could not be found."),
        ):
            reply = await self.get(query, microversion, path=path)
            self.assertEqual({"badRequest": {"code": 400, "message": message}}, reply.json,
                             (microversion, query))
        for microversion, path, query in (
                ("2.40", PATH, {"limit": "-1"}),
                ("2.40", PATH + "/p", {"limit": "x"}),
                ("2.75", PATH, {"bogus": "1"}),
                ("2.75", PATH + "/p", {"detailed": "1"}),
        ):
            reply = await self.get({**self.period, **query}, microversion, path=path)
            self.assertEqual(400, reply.code, (microversion, path, query, reply.raw))
            # The schema's refusal, not the period's.
            self.assertNotIn("start time", reply.json["badRequest"]["message"])
        reply = await self.get({**self.period, "bogus": "1"}, "2.74")
        self.assertEqual(200, reply.code, reply.raw)


OWNER = "0wner"
PERSONAS = {
    "admin": ("admin:" + OWNER, None),
    "member": ("alice:" + OWNER, "member,reader"),
    "reader": ("rita:" + OWNER, "reader"),
    "other_member": ("bob:07her", "member,reader"),
}


class UsagePolicyTest(unittest.TestCase):

    async def check(self, enforce_new_defaults: bool):
        api = UsageServer(self, enforce_new_defaults=enforce_new_defaults)
        matrix = [
            ("/v2.1/os-simple-tenant-usage", {"admin"},
             "os_compute_api:os-simple-tenant-usage:list"),
            (f"/v2.1/os-simple-tenant-usage/{OWNER}", {"admin", "member", "reader"},
             "os_compute_api:os-simple-tenant-usage:show"),
        ]
        for path, allowed, rule in matrix:
            for persona, (token, roles) in PERSONAS.items():
                headers = {"X-Roles": roles} if roles else {}
                reply = await api.request("GET", path, token=token, headers=headers)
                where = (enforce_new_defaults, path, persona)
                if persona in allowed:
                    self.assertEqual(200, reply.code, (where, reply.raw))
                else:
                    self.assertEqual({"forbidden": {
                        "code": 403,
                        "message": f"Policy doesn't allow {rule} to be performed."}},
                        reply.json, where)

    async def test_old_defaults(self):
        await self.check(False)

    async def test_new_defaults(self):
        await self.check(True)
