"""Concurrent writers on a real server database: no overcommitment, no spurious 409.

Allocation writes to the same provider race for its generation; as in Placement, the
loser of that race (or of a deadlock) is retried, so exactly the capacity is
allocated and every other writer gets "would exceed the capacity".
"""
from __future__ import annotations

import uuid as uuidlib

from twisted.internet import defer
from twisted.trial import unittest

from tests.placement.api_fixture import PlacementServer

PROJECT = USER = "bbbbbbbb-1111-4111-8111-111111111111"
RP = "bbbbbbbb-2222-4222-8222-222222222222"


class _ConcurrentAllocations:
    backend: str
    WRITERS = 8
    CAPACITY = 3

    async def test_exactly_the_capacity_is_allocated(self):
        server = PlacementServer(self, self.backend)
        server.start()
        status, _, body = await server.request("POST", "/resource_providers",
                                               {"name": "cn1", "uuid": RP})
        self.assertEqual(201, status, body)
        status, _, body = await server.request(
            "PUT", f"/resource_providers/{RP}/inventories",
            {"resource_provider_generation": 0,
             "inventories": {"VCPU": {"total": self.CAPACITY}}})
        self.assertEqual(200, status, body)

        def allocate():
            return defer.Deferred.fromCoroutine(server.request(
                "PUT", f"/allocations/{uuidlib.uuid4()}",
                {"allocations": {RP: {"resources": {"VCPU": 1}}},
                 "project_id": PROJECT, "user_id": USER, "consumer_generation": None},
                version="1.28"))

        results = await defer.gatherResults([allocate() for _ in range(self.WRITERS)])
        statuses = sorted(status for status, _, _ in results)
        self.assertEqual([204] * self.CAPACITY + [409] * (self.WRITERS - self.CAPACITY),
                         statuses, results)
        for status, _, body in results:
            if status == 409:
                self.assertIn("would exceed the capacity", body["errors"][0]["detail"])
        status, _, body = await server.request("GET", f"/resource_providers/{RP}/usages")
        self.assertEqual({"VCPU": self.CAPACITY}, body["usages"])


class ConcurrentAllocationsPostgreSQL(_ConcurrentAllocations, unittest.TestCase):
    backend = "postgresql"


class ConcurrentAllocationsMariaDB(_ConcurrentAllocations, unittest.TestCase):
    backend = "mysql"
