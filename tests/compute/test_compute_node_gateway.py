"""The conductor's compute node gateway over the cell database queries, on each
backend: create, read back by host and node, update, soft delete, and the errors a
compute sees (a duplicate node, a node that is not there, a column it may not write).
The same gateway over the bus is in tests.functional.test_two_computes."""
from __future__ import annotations

import json
import uuid as uuidlib

import sqlalchemy as sa
from twisted.internet import reactor
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.conductor.compute_nodes import ComputeNodeGateway
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.main import models as main_models
from nova_tx.db.pool import DBThreadPool
from tests.db.fixtures import engine_for, migrated_database_url


def values(host: str, node: str | None = None, **more) -> dict:
    return {"uuid": str(uuidlib.uuid4()), "host": host, "hypervisor_hostname": node or host,
            "vcpus": 16, "memory_mb": 16384, "local_gb": 200, "vcpus_used": 0,
            "memory_mb_used": 512, "local_gb_used": 0, "hypervisor_type": "fake",
            "hypervisor_version": 1000, "cpu_info": "{}",
            "numa_topology": json.dumps({"nova_object.data": {"cells": []}}), **more}


class GatewayTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "main", purpose="compute-nodes")
        self.engine = engine_for(self, url)
        self.pool = DBThreadPool(self.engine, reactor=reactor)
        self.pool.start()
        self.addCleanup(self.pool.stop)
        self.gateway = ComputeNodeGateway(lambda: self.pool)
        self.host = f"host-{uuidlib.uuid4().hex[:8]}"
        self.addCleanup(self._forget)

    def _forget(self):
        table = main_models.ComputeNode.__table__
        with self.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.host == self.host))

    async def test_create_read_update_delete(self):
        created = await self.gateway.compute_node_create(None, values(self.host))
        # What crosses the bus is JSON.
        self.assertEqual(created, json.loads(json.dumps(created)))
        self.assertEqual((self.host, self.host, 0, 16), (
            created["host"], created["hypervisor_hostname"], created["mapped"],
            created["vcpus"]))
        self.assertIsNotNone(created["created_at"])
        read = await self.gateway.compute_node_get_by_host_and_nodename(
            None, self.host, self.host)
        self.assertEqual(created, read)

        updated = await self.gateway.compute_node_update(
            None, created["id"], {"vcpus_used": 4, "free_ram_mb": 1000,
                                  "cpu_allocation_ratio": 8.0})
        self.assertEqual((4, 1000, 8.0), (updated["vcpus_used"], updated["free_ram_mb"],
                                          updated["cpu_allocation_ratio"]))
        self.assertIsNotNone(updated["updated_at"])
        self.assertEqual(created["uuid"], updated["uuid"])

        await self.gateway.compute_node_delete(None, created["id"])
        with self.assertRaises(exception.ComputeHostNotFound):
            await self.gateway.compute_node_get_by_host_and_nodename(
                None, self.host, self.host)
        with self.assertRaises(exception.ComputeHostNotFound):
            await self.gateway.compute_node_update(None, created["id"], {"vcpus": 1})
        with self.assertRaises(exception.ComputeHostNotFound):
            await self.gateway.compute_node_delete(None, created["id"])
        # The soft-deleted row stays, and the node may be created again.
        table = main_models.ComputeNode.__table__
        with self.engine.connect() as conn:
            deleted = conn.execute(sa.select(table.c.deleted).where(
                table.c.id == created["id"])).scalar_one()
        self.assertEqual(created["id"], deleted)
        again = await self.gateway.compute_node_create(None, values(self.host))
        self.assertNotEqual(created["id"], again["id"])

    async def test_duplicate_node_and_unknown_columns(self):
        await self.gateway.compute_node_create(None, values(self.host))
        with self.assertRaises(DBDuplicateEntry):
            await self.gateway.compute_node_create(None, values(self.host))
        other = await self.gateway.compute_node_create(None, values(self.host, "node2"))
        with self.assertRaises(exception.Invalid):
            await self.gateway.compute_node_update(None, other["id"], {"mapped": 1})
        with self.assertRaises(exception.Invalid):
            await self.gateway.compute_node_create(None, values(self.host, "n3", id=99))
        with self.assertRaises(exception.ComputeHostNotFound):
            await self.gateway.compute_node_get_by_host_and_nodename(
                None, self.host, "node9")
        listed = await self.gateway.compute_node_get_all_by_host(None, self.host)
        self.assertEqual([self.host, "node2"], [r["hypervisor_hostname"] for r in listed])
        await self.gateway.compute_node_delete(None, other["id"])
        listed = await self.gateway.compute_node_get_all_by_host(None, self.host)
        self.assertEqual([self.host], [r["hypervisor_hostname"] for r in listed])


class SQLiteGatewayTest(GatewayTests, unittest.TestCase):
    backend = "sqlite"


class PostgreSQLGatewayTest(GatewayTests, unittest.TestCase):
    backend = "postgresql"


class MySQLGatewayTest(GatewayTests, unittest.TestCase):
    backend = "mysql"
