"""Two nova-compute services in one process, on the memory bus, with a conductor on a
SQLite cell database and an embedded Placement: each registers its compute node
record through the conductor, reports its inventories and traits to placement, and
``nova-manage cell_v2 discover_hosts`` then ``list_hosts`` show both hosts.

Each compute is described by ``COMPUTES`` (its host, driver and options), so a
compute of another driver (libvirt on ``test:///``) is one more entry (with its
option module registered in ``compute_conf``).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid

import sqlalchemy as sa
from oslo_config import cfg
from twisted.internet import defer
from twisted.trial import unittest

from nova_tx.cmd import manage
from nova_tx.compute.service import ComputeService
from nova_tx.conductor.service import ConductorService
from nova_tx.conf import compute, compute_node, default, fake, placement, virt
from nova_tx.db.main import models as main_models
from nova_tx.db.pool import DBThreadPool
from nova_tx.placement import client as placement_client
from nova_tx.placement.api.app import PlacementAPI
from nova_tx.scheduler import host_source, host_state
from tests.cmd import Deployment, run_main
from tests.helpers import StoppableReactor
from tests.placement.db import placement_engine
from tests.servicegroup import make_conf

#: A second host shape: one NUMA cell, no SMT, 2 MiB huge pages.
SMALL_HOST = {
    "disk_gb": 50,
    "cells": [{"id": 0, "cpus": "0-3", "memory_mb": 4096, "hugepages": {2048: 256},
               "socket": 0}],
}

#: host -> (compute_driver, option overrides, host file content or None).
COMPUTES = {
    "compute1": ("fake.FakeDriver",
                 {"compute__cpu_dedicated_set": "2-7,10-15",
                  "compute__cpu_shared_set": "0,1,8,9", "cpu_allocation_ratio": 8.0},
                 None),
    "compute2": ("fake.FakeDriver", {"reserved_host_memory_mb": 1024}, SMALL_HOST),
}


class ComputesTestCase(unittest.TestCase):
    """A conductor, an embedded Placement and the computes of ``COMPUTES``, not
    started."""

    timeout = 60

    async def setUp(self):
        self.dep = Deployment(self)
        self.cell_url = self.dep.migrated("nova.sqlite", "main")
        self.dep.migrated("api.sqlite", "api")
        self.cell_uuid = self.dep.add_cell("cell1", self.cell_url)
        pool = DBThreadPool(placement_engine(self))
        pool.start()
        self.addCleanup(pool.stop)
        self.placement_api = PlacementAPI(pool)
        self.addCleanup(self.placement_api.close)
        placement_client.register_local(self.placement_api)
        self.addCleanup(placement_client.unregister_local, self.placement_api)
        self.placement = placement_client.LocalPlacementClient(self.placement_api)

        bus = f"memory:///two-computes-{uuid.uuid4().hex[:8]}"
        conductor = ConductorService(make_conf(
            host="conductor-host", transport_url=bus, database__connection=self.cell_url,
            rpc_response_timeout=10))
        self.addCleanup(self._stop, conductor)
        conductor.startService()
        await conductor.started
        self.computes = {}
        for host, (driver, options, host_file) in COMPUTES.items():
            service = ComputeService(self.compute_conf(host, bus, driver, options, host_file))
            self.addCleanup(self._stop, service)
            self.computes[host] = service

    def compute_conf(self, host: str, bus: str, driver: str, options: dict,
                     host_file: dict | None) -> cfg.ConfigOpts:
        conf = make_conf()
        for module in (compute, compute_node, default, fake, placement, virt):
            module.register_opts(conf)
        overrides = {"host": host, "transport_url": bus, "compute_driver": driver,
                     "rpc_response_timeout": 10, "update_resources_interval": -1,
                     "compute__provider_config_location": tempfile.mkdtemp(), **options}
        if host_file is not None:
            path = os.path.join(self.dep.dir, f"{host}.json")
            with open(path, "w") as f:
                json.dump(host_file, f)
            overrides["fake__host_topology_file"] = path
        for key, value in overrides.items():
            group, _, name = key.rpartition("__")
            conf.set_override(name, value, group=group or None)
        return conf

    def _stop(self, service):
        return service.stopService() if service.running else None

    async def get(self, url: str, version: str = "1.26"):
        response = await self.placement.get(url, version=version)
        self.assertEqual(200, response.status_code, response.text)
        return response.json()

    def compute_node_rows(self) -> dict[str, dict]:
        table = main_models.ComputeNode.__table__
        with self.dep.engine(self.cell_url).connect() as conn:
            rows = conn.execute(sa.select(table).where(table.c.deleted == 0)).mappings()
            return {row["host"]: dict(row) for row in rows}


class TwoComputesTest(ComputesTestCase):
    @defer.inlineCallbacks
    def test_register_report_and_discover(self):
        for service in self.computes.values():
            service.startService()
            yield service.started
            self.assertEqual(0, service.exit_code)
            yield service.resource_periodic.first_update

        rows = self.compute_node_rows()
        self.assertEqual({"compute1", "compute2"}, set(rows))
        self.assertEqual((4, 16384, 200, "fake"),
                         (rows["compute1"]["vcpus"], rows["compute1"]["memory_mb"],
                          rows["compute1"]["local_gb"],
                          rows["compute1"]["hypervisor_type"]))
        self.assertEqual((4, 4096, 50, 1024, 3072),
                         (rows["compute2"]["vcpus"], rows["compute2"]["memory_mb"],
                          rows["compute2"]["local_gb"], rows["compute2"]["memory_mb_used"],
                          rows["compute2"]["free_ram_mb"]))
        topology = json.loads(rows["compute1"]["numa_topology"])["nova_object.data"]
        self.assertEqual([[0, 1, 8, 9], [2, 3, 10, 11]],
                         [topology["cells"][0]["cpuset"], topology["cells"][0]["pcpuset"]])

        # The scheduler reads both nodes, with their NUMA topologies, from the cell.
        cell_pool = DBThreadPool(self.dep.engine(self.cell_url))
        cell_pool.start()
        self.addCleanup(cell_pool.stop)
        states = host_state.HostStates()
        yield defer.Deferred.fromCoroutine(
            host_source.CellHostSource(host_source.single_cell(cell_pool)).refresh(states))
        row1, row2 = states.row_of("compute1", "compute1"), states.row_of("compute2",
                                                                          "compute2")
        self.assertEqual((2, 1), (len(states.arrays.topologies[row1].cells),
                                  len(states.arrays.topologies[row2].cells)))
        self.assertEqual(([256], 3072), (
            [p.total for p in states.arrays.topologies[row2].cells[0].mempages
             if p.size_kb == 2048], int(states.free_ram_mb[row2])))

        providers = (yield defer.Deferred.fromCoroutine(
            self.get("/resource_providers")))["resource_providers"]
        by_name = {p["name"]: p["uuid"] for p in providers}
        self.assertEqual({"compute1": rows["compute1"]["uuid"],
                          "compute2": rows["compute2"]["uuid"]}, by_name)

        inventories = (yield defer.Deferred.fromCoroutine(self.get(
            f"/resource_providers/{by_name['compute1']}/inventories")))["inventories"]
        self.assertEqual({"DISK_GB", "MEMORY_MB", "PCPU", "VCPU"}, set(inventories))
        self.assertEqual((4, 8.0, 12, 1.0, 512),
                         (inventories["VCPU"]["total"],
                          inventories["VCPU"]["allocation_ratio"],
                          inventories["PCPU"]["total"],
                          inventories["PCPU"]["allocation_ratio"],
                          inventories["MEMORY_MB"]["reserved"]))
        inventories = (yield defer.Deferred.fromCoroutine(self.get(
            f"/resource_providers/{by_name['compute2']}/inventories")))["inventories"]
        self.assertEqual({"DISK_GB", "MEMORY_MB", "VCPU"}, set(inventories))
        self.assertEqual((4, 16.0, 4096, 1024),
                         (inventories["VCPU"]["total"],
                          inventories["VCPU"]["allocation_ratio"],
                          inventories["MEMORY_MB"]["total"],
                          inventories["MEMORY_MB"]["reserved"]))

        traits1 = set((yield defer.Deferred.fromCoroutine(self.get(
            f"/resource_providers/{by_name['compute1']}/traits", "1.6")))["traits"])
        traits2 = set((yield defer.Deferred.fromCoroutine(self.get(
            f"/resource_providers/{by_name['compute2']}/traits", "1.6")))["traits"])
        for traits in (traits1, traits2):
            self.assertTrue({"COMPUTE_NODE", "COMPUTE_IMAGE_TYPE_QCOW2",
                             "COMPUTE_NET_ATTACH_INTERFACE"} <= traits, traits)
            self.assertNotIn("COMPUTE_IMAGE_TYPE_VMDK", traits)
        self.assertIn("HW_CPU_HYPERTHREADING", traits1)
        self.assertNotIn("HW_CPU_HYPERTHREADING", traits2)

        discovered = run_main(manage.main, ["--config-file", self.dep.conf_path,
                                            "cell_v2", "discover_hosts", "--verbose",
                                            "--strict"])
        self.assertEqual(0, discovered.rc, str(discovered))
        self.assertIn("compute1", discovered.out)
        self.assertIn("compute2", discovered.out)
        listed = run_main(manage.main, ["--config-file", self.dep.conf_path,
                                        "cell_v2", "list_hosts"])
        self.assertEqual(0, listed.rc, str(listed))
        for host in ("compute1", "compute2"):
            self.assertIn(host, listed.out)
            self.assertEqual(1, self.compute_node_rows()[host]["mapped"])

        # A restarted compute finds its record and provider again.
        service = self.computes["compute2"]
        yield service.stopService()
        again = ComputeService(service.conf)
        self.addCleanup(self._stop, again)
        again.startService()
        yield again.started
        yield again.resource_periodic.first_update
        self.assertEqual(rows["compute2"]["uuid"],
                         again.resource_tracker.compute_nodes["compute2"]["uuid"])
        self.assertEqual(2, len(self.compute_node_rows()))


class BadInputTest(ComputesTestCase):
    """A host file or provider config file nova-compute cannot use stops it with one
    line naming the file and the problem (and no compute node is recorded)."""

    async def start_failing(self, service) -> str:
        service.reactor = StoppableReactor()
        with self.assertLogs("nova_tx.service", logging.ERROR) as logs:
            service.startService()
            await service.started
        self.assertEqual(1, service.exit_code)
        (line,) = logs.output
        self.assertNotIn("\n", line)
        return line

    async def test_bad_host_file(self):
        service = self.computes["compute2"]
        with open(service.conf.fake.host_topology_file, "w") as f:
            f.write('{"cells": [{"id": 0, "cpus": "0-3"}]}')
        line = await self.start_failing(service)
        self.assertIn("nova-compute failed to start: Invalid configuration: [fake] "
                      f"host_topology_file {service.conf.fake.host_topology_file}: "
                      "cells[0] needs 'memory_mb'", line)
        self.assertNotIn("compute2", self.compute_node_rows())

    async def test_bad_provider_config_file(self):
        service = self.computes["compute1"]
        path = os.path.join(service.conf.compute.provider_config_location, "gpu.yaml")
        with open(path, "w") as f:
            f.write("meta: {schema_version: '1.0'}\nproviders:\n"
                    "  - identification: {uuid: $COMPUTE_NODE}\n"
                    "    inventories: {additional: [{VCPU: {total: 4}}]}\n")
        line = await self.start_failing(service)
        self.assertIn(f"nova-compute failed to start: An error occurred while processing "
                      f"a provider config file: {path}: Invalid resource class, only "
                      "custom resource classes are allowed: VCPU", line)
        self.assertEqual({}, self.compute_node_rows())
