"""The cache of rendered metadata (``[api] metadata_cache_expiration``): stale within
the expiration, fresh after it, off at 0, dropped when the guest's password changes."""
from __future__ import annotations

import json

from twisted.trial import unittest

from nova_tx.db.main import instances
from nova_tx.metadata.cache import MetadataCache
from tests.metadata.fixture import SECRET, MetadataServer

MD = "/openstack/latest/meta_data.json"


class CacheTest(unittest.TestCase):
    def make(self, expiration):
        self.server = MetadataServer(self, neutron__service_metadata_proxy=True,
                                     neutron__metadata_proxy_shared_secret=SECRET,
                                     api__metadata_cache_expiration=expiration)
        self.instance = self.server.add_instance()
        self.headers = self.server.proxy_headers(self.instance)

    def change_metadata(self):
        with self.server.cell_engine.begin() as conn:
            instances.update_metadata(conn, self.instance.uuid, {"role": "db"}, delete=True)

    async def meta(self):
        reply = await self.server.get(MD, headers=self.headers)
        return json.loads(reply.body)["meta"]

    async def test_stale_within_expiration_then_fresh(self):
        self.make(15)
        self.assertEqual({"role": "webservers"}, await self.meta())
        self.change_metadata()
        self.server.clock.advance(14)
        self.assertEqual({"role": "webservers"}, await self.meta())
        self.server.clock.advance(1)
        self.assertEqual({"role": "db"}, await self.meta())

    async def test_zero_disables(self):
        self.make(0)
        self.assertEqual({"role": "webservers"}, await self.meta())
        self.change_metadata()
        self.assertEqual({"role": "db"}, await self.meta())
        self.assertEqual(0, len(self.server.app.cache))

    async def test_password_write_invalidates(self):
        self.make(15)
        path = "/openstack/latest/password"
        self.assertEqual(b"", (await self.server.get(path, headers=self.headers)).body)
        await self.server.request("POST", path, headers=self.headers, body=b"secret")
        self.assertEqual(b"secret", (await self.server.get(path, headers=self.headers)).body)

    async def test_tenant_checked_on_cached_entries(self):
        self.make(15)
        await self.meta()
        headers = self.server.proxy_headers(self.instance, tenant="other")
        self.assertEqual(404, (await self.server.get(MD, headers=headers)).code)


class _Clock:
    now = 0.0

    def seconds(self):
        return self.now


class CacheUnitTest(unittest.TestCase):
    def test_invalidate_drops_every_key_of_the_instance(self):
        cache = MetadataCache(10, _Clock())
        cache.put(("uuid", "a"), "a", 1)
        cache.put(("address", "10.0.0.1"), "a", 1)
        cache.put(("uuid", "b"), "b", 2)
        cache.invalidate("a")
        self.assertEqual((None, None, 2), (cache.get(("uuid", "a")),
                                           cache.get(("address", "10.0.0.1")),
                                           cache.get(("uuid", "b"))))

    def test_purge_forgets_expired(self):
        clock = _Clock()
        cache = MetadataCache(10, clock)
        for n in range(1023):
            cache.put(("uuid", str(n)), str(n), n)
        clock.now = 11
        cache.put(("uuid", "new"), "new", 0)
        self.assertEqual(1, len(cache))
