"""A claim that meets a concurrent update of its providers (Placement's 409
``placement.concurrent_update``: another claim on the same host committed first) is
tried again, four tries in all with growing random pauses, as Nova's report client's
``@retries`` does; any other refusal moves on to the next host at once."""
from __future__ import annotations

import json

from nova_tx.exception import NoValidHost
from nova_tx.scheduler import manager
from tests.scheduler import test_manager as base
from tests.scheduler.hosts import node

new_uuid = base.new_uuid


class Refusal:
    def __init__(self, code: str, detail: str = "changed while allocating"):
        self.status_code = 409
        self.text = json.dumps({"errors": [{"status": 409, "code": code,
                                            "title": "Conflict", "detail": detail}]})
        self.content = self.text.encode()

    def json(self):
        return json.loads(self.text)


class ClaimRetryTests(base.SchedulerTestCase):
    async def setUp(self):
        await super().setUp()
        await self.add_hosts(node("h1", uuid=new_uuid()))
        self.pauses: list[float] = []

        async def pause(seconds):
            self.pauses.append(seconds)

        self.scheduler.pause = pause
        self.puts = 0

    def refuse(self, times: int, code: str = "placement.concurrent_update", **kwargs):
        real_put = self.placement.put

        async def put(url, data, **put_kwargs):
            self.puts += 1
            if self.puts <= times:
                return Refusal(code, **kwargs)
            return await real_put(url, data, **put_kwargs)

        self.placement.put = put

    async def test_concurrent_update_is_retried_until_the_claim_is_made(self):
        self.refuse(2)
        instance = new_uuid()
        [[chosen]] = await self.scheduler.select(None, self.request(), [instance])
        self.assertEqual("h1", chosen.service_host)
        self.assertEqual(["h1"], list(await self.allocated_on(instance)))
        self.assertEqual(3, self.puts)
        self.assertEqual(2, len(self.pauses))
        self.assertTrue(0 <= self.pauses[0] <= 2 and 0 <= self.pauses[1] <= 4, self.pauses)

    async def test_four_tries_then_no_valid_host(self):
        self.refuse(manager.CLAIM_ATTEMPTS)
        instance = new_uuid()
        with self.assertRaises(NoValidHost):
            await self.scheduler.select(None, self.request(), [instance])
        self.assertEqual(manager.CLAIM_ATTEMPTS, self.puts)
        self.assertEqual({}, await self.allocated_on(instance))

    async def test_other_refusals_are_not_retried(self):
        for code, kwargs in (("placement.undefined_code", {}),
                             ("placement.concurrent_update",
                              {"detail": "consumer generation conflict - expected null"})):
            self.puts = 0
            self.refuse(1, code, **kwargs)
            with self.assertRaises(NoValidHost):
                await self.scheduler.select(None, self.request(), [new_uuid()])
            self.assertEqual(1, self.puts, code)
        self.assertEqual([], self.pauses)
