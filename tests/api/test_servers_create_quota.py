"""POST /servers and quota (spec D §4.3): instances, cores and ram counted in the cell
database, min_count reducing max_count, metadata items, personality files, server
group members; each refusal a 403 with Nova's message that records and casts nothing."""
from __future__ import annotations

import base64

from twisted.trial import unittest

from tests.api.servers_create_server import IMAGE, SERVERS, USER, ServersServer, version


def files(count: int, path: str = "/etc/f", content: bytes = b"x") -> list[dict]:
    return [{"path": f"{path}{i}", "contents": base64.b64encode(content).decode()}
            for i in range(count)]


class QuotaTest(unittest.TestCase):

    async def server(self, **quota) -> ServersServer:
        return await ServersServer.start(self, quota=quota)

    async def refused(self, api, server: dict, text: str, *, microversion="2.1",
                      hints=None):
        before = api.snapshot()
        casts = len(api.conductor.bodies)
        body = {"server": {"name": "s", "flavorRef": "1", "imageRef": IMAGE, **server}}
        if hints is not None:
            body["os:scheduler_hints"] = hints
        reply = await api.request("POST", SERVERS, body=body, token=USER,
                                  headers=version(microversion))
        self.assertEqual(403, reply.code, reply.raw)
        self.assertEqual({"forbidden": {"code": 403, "message": text}}, reply.json)
        self.assertEqual(before, api.snapshot())
        self.assertEqual(casts, len(api.conductor.bodies))

    async def test_instances(self):
        api = await self.server(instances=2)
        api.add_cell_instances(2)
        await self.refused(api, {}, "Quota exceeded for instances: Requested 1, but already "
                           "used 2 of 2 instances")

    async def test_instances_range_in_message(self):
        api = await self.server(instances=2)
        api.add_cell_instances(2)
        await self.refused(api, {"min_count": 1, "max_count": 3},
                           "Quota exceeded for instances: Requested 1-3, but already "
                           "used 2 of 2 instances")

    async def test_cores(self):
        api = await self.server(cores=2)
        await self.refused(api, {"min_count": 3}, "Quota exceeded for cores: Requested 3, "
                           "but already used 0 of 2 cores")

    async def test_ram(self):
        api = await self.server(ram=1024)
        api.add_cell_instances(1, memory_mb=1024)
        await self.refused(api, {}, "Quota exceeded for ram: Requested 512, but already "
                           "used 1024 of 1024 ram")

    async def test_min_count_reduces_max_count(self):
        api = await self.server(instances=3)
        api.add_cell_instances(1)
        reply = await api.create({"min_count": 1, "max_count": 5})
        self.assertEqual(202, reply.code)
        self.assertEqual(2, len(api.rows("build_requests")))
        [cast] = await api.casts()
        self.assertEqual(2, len(cast["args"]["build_requests"]))
        names = sorted(api.build_request(r["instance_uuid"])["display_name"]
                       for r in api.rows("build_requests"))
        self.assertEqual(["new-server-1", "new-server-2"], names)

    async def test_min_count_above_what_is_left(self):
        api = await self.server(cores=4)
        api.add_cell_instances(1, vcpus=2)
        await self.refused(api, {"min_count": 3, "max_count": 4},
                           "Quota exceeded for cores: Requested 4, but already used 2 of "
                           "4 cores")

    async def test_per_user_limit(self):
        api = await self.server()
        await api.quota_engine().set_limits(None, "6f70656e737461636b20342065766572",
                                            {"instances": 1}, user_id="fake")
        api.add_cell_instances(1)
        await self.refused(api, {}, "Quota exceeded for instances: Requested 1, but already "
                           "used 1 of 1 instances")
        # Another user of the project is not limited by fake's row.
        reply = await api.create({}, token="other:6f70656e737461636b20342065766572")
        self.assertEqual(202, reply.code)

    async def test_unlimited(self):
        api = await self.server(instances=-1, cores=-1, ram=-1)
        api.add_cell_instances(30)
        await api.create({"max_count": 3})
        self.assertEqual(3, len(api.rows("build_requests")))

    async def test_metadata_items(self):
        api = await self.server(metadata_items=1)
        await self.refused(api, {"metadata": {"a": "1", "b": "2"}},
                           "Maximum number of metadata items exceeds 1")
        await api.create({"metadata": {"a": "1"}})

    async def test_injected_files(self):
        api = await self.server(injected_files=1)
        await self.refused(api, {"personality": files(2)}, "Personality file limit exceeded")
        await api.create({"personality": files(1)})

    async def test_injected_file_path_bytes(self):
        api = await self.server(injected_file_path_length=8)
        await self.refused(api, {"personality": files(1, path="/a/long/path")},
                           "Personality file path exceeds maximum 8")

    async def test_injected_file_content_bytes(self):
        api = await self.server(injected_file_content_bytes=8)
        await self.refused(api, {"personality": files(1, content=b"0123456789")},
                           "Personality file content exceeds maximum 8")

    async def test_server_group_members(self):
        api = await self.server(server_group_members=1)
        reply = await api.request("POST", "/v2.1/os-server-groups", token=USER,
                                  body={"server_group": {"name": "g",
                                                         "policies": ["anti-affinity"]}})
        group = reply.json["server_group"]["id"]
        await self.refused(api, {"max_count": 2}, "Quota exceeded, too many servers in group",
                           hints={"group": group})
        await api.create({}, hints={"group": group})
        await self.refused(api, {}, "Quota exceeded, too many servers in group",
                           hints={"group": group})

    async def test_group_membership_failure_forgets_the_records(self):
        from nova_tx import exception
        from nova_tx.compute.server_groups import ServerGroupAPI

        api = await self.server()
        reply = await api.request("POST", "/v2.1/os-server-groups", token=USER,
                                  body={"server_group": {"name": "g",
                                                         "policies": ["affinity"]}})
        group = reply.json["server_group"]["id"]

        async def raced(*args, **kwargs):
            # Another request filled the group between the check and the join.
            raise exception.ServerGroupMembersLimitExceeded()

        self.patch(ServerGroupAPI, "add_members", raced)
        await self.refused(api, {"max_count": 2}, "Quota exceeded, too many servers in group",
                           hints={"group": group})
