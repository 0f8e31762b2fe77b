"""nova-manage placement heal_allocations and placement audit: their return codes
(spec G §3.4) against our Placement served over HTTP by the test's reactor (the
commands block, so they run in a thread while the reactor answers)."""
from __future__ import annotations

import uuid as uuidlib
from unittest import mock

from twisted.internet import threads

from nova_tx.cmd import manage
from nova_tx.cmd import placement as placement_cmd
from nova_tx.db.api import models as api_models
from nova_tx.db.main import instances as instances_db
from nova_tx.db.main import models as main_models
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance
from tests.cmd import CommandTestCase
from tests.cmd.test_manage import one_cell
from tests.placement.api_fixture import PlacementServer

FLAVOR = Flavor(flavorid="f1", name="small", vcpus=2, memory_mb=512, root_gb=10,
                ephemeral_gb=5, swap=1024, id=1, extra_specs={})
PINNED = FLAVOR.replace(flavorid="f2", name="pinned", id=2,
                        extra_specs={"hw:cpu_policy": "dedicated"})
INVENTORIES = {"VCPU": {"total": 16}, "PCPU": {"total": 8},
               "MEMORY_MB": {"total": 16384}, "DISK_GB": {"total": 500}}


class PlacementCommandCase(CommandTestCase):
    main = staticmethod(manage.main)

    async def setUp(self):
        super().setUp()
        self.placement = PlacementServer(self)
        self.placement.start()
        self.ctx = one_cell(self.dep)
        self.dep.write_conf(placement={"endpoint_override": self.placement.url})

    async def cmd(self, *argv):
        return await threads.deferToThread(self.run_cmd, "placement", *argv)

    async def call(self, method, path, body=None, version="1.28", expect=None):
        status, _h, content = await self.placement.request(method, path, body,
                                                           version=version)
        if expect is not None:
            self.assertEqual(expect, status, content)
        return content

    async def compute(self, host="host1") -> str:
        rp = self.dep.add_compute_node(self.dep.main_url, host)
        await self.call("POST", "/resource_providers", {"name": host, "uuid": rp},
                        version="1.20", expect=200)
        await self.call("PUT", f"/resource_providers/{rp}/inventories",
                        {"resource_provider_generation": 0, "inventories": INVENTORIES},
                        version="1.26", expect=200)
        return rp

    def instance(self, host="host1", flavor=FLAVOR, task_state=None, mapped=True,
                 node=None) -> str:
        uuid = str(uuidlib.uuid4())
        with self.dep.engine(self.dep.main_url).begin() as conn:
            instances_db.create(conn, Instance(
                uuid=uuid, project_id="p1", user_id="u1", flavor=flavor,
                vcpus=flavor.vcpus, memory_mb=flavor.memory_mb, root_gb=flavor.root_gb,
                ephemeral_gb=flavor.ephemeral_gb, host=host,
                node=node or host, vm_state="active", task_state=task_state))
        if mapped:
            self.dep.add_instance_mapping(uuid, self.ctx["cell1"])
        return uuid

    async def allocations(self, consumer) -> dict:
        return await self.call("GET", f"/allocations/{consumer}", expect=200)


class HealAllocationsTest(PlacementCommandCase):
    async def heal(self, *argv):
        return await self.cmd("heal_allocations", *argv)

    async def test_rc0_then_rc4(self):
        rp = await self.compute()
        healed = self.instance()
        pinned = self.instance(flavor=PINNED)
        busy = self.instance(task_state="rebooting")
        outcome = await self.heal("--verbose")
        self.assertOutcome(outcome, 0, out=[
            f"Successfully created allocations for instance {healed}",
            f"Instance {busy} is undergoing a task state transition: rebooting",
            "Processed 2 instances."])
        body = await self.allocations(healed)
        self.assertEqual({rp: {"resources": {"VCPU": 2, "MEMORY_MB": 512, "DISK_GB": 16}}},
                         {k: {"resources": v["resources"]}
                          for k, v in body["allocations"].items()})
        self.assertEqual(("p1", "u1"), (body["project_id"], body["user_id"]))
        self.assertEqual({"PCPU": 2, "MEMORY_MB": 512, "DISK_GB": 16},
                         (await self.allocations(pinned))["allocations"][rp]["resources"])
        self.assertEqual({}, (await self.allocations(busy))["allocations"])
        self.assertOutcome(await self.heal(), 4)

    async def test_dry_run_changes_nothing(self):
        await self.compute()
        uuid = self.instance()
        self.assertOutcome(await self.heal("--dry-run", "--verbose"), 4,
                           out=[f"[dry-run] Update allocations for instance {uuid}"])
        self.assertEqual({}, (await self.allocations(uuid))["allocations"])

    async def test_max_count(self):
        await self.compute()
        uuids = [self.instance() for _ in range(3)]
        self.assertOutcome(await self.heal("--max-count", "2"), 1)
        healed = [u for u in uuids if (await self.allocations(u))["allocations"]]
        self.assertEqual(2, len(healed))
        self.assertOutcome(await self.heal("--max-count", "2"), 0)
        self.assertOutcome(await self.heal("--max-count", "2"), 4)

    async def test_one_instance_and_force(self):
        rp = await self.compute()
        one, other = self.instance(), self.instance()
        self.assertOutcome(await self.heal("--instance", one), 0)
        self.assertEqual({}, (await self.allocations(other))["allocations"])
        self.assertOutcome(await self.heal("--instance", one), 4)
        # --force replaces what is there.
        body = await self.allocations(one)
        await self.call("PUT", f"/allocations/{one}", {
            "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p1",
            "user_id": "u1", "consumer_generation": body["consumer_generation"]},
            expect=204)
        self.assertOutcome(await self.heal("--instance", one, "--force"), 0)
        self.assertEqual(2, (await self.allocations(one))["allocations"][rp]["resources"]
                         ["VCPU"])

    async def test_invalid_input_is_127(self):
        cell = self.ctx["cell1"]
        uuid = str(uuidlib.uuid4())
        for argv, message in [
            (("--cell", cell, "--instance", uuid), "mutually exclusive"),
            (("--force",), "The --instance flag is required when using --force flag."),
            (("--max-count", "0"), "Must supply a positive integer for --max-count."),
            (("--max-count", "many"), "Must supply a positive integer for --max-count."),
            (("--instance", uuid), f"Unable to find cell for instance {uuid}, is it mapped?"),
            (("--cell", uuid), f"Cell with uuid {uuid} was not found."),
        ]:
            self.assertOutcome(await self.heal(*argv), 127, out=[message])

    async def test_one_cell(self):
        await self.compute()
        uuid = self.instance()
        self.assertOutcome(await self.heal("--cell", self.ctx["cell1"]), 0)
        self.assertNotEqual({}, (await self.allocations(uuid))["allocations"])

    async def test_rc2_no_compute_node(self):
        await self.compute()
        uuid = self.instance(host="gone")
        self.assertOutcome(await self.heal(), 2, out=[
            f"Unable to find matching compute_nodes record for instance {uuid}"])

    async def test_rc3_placement_refuses(self):
        await self.compute()
        uuid = self.instance()
        real = placement_cmd.BlockingPlacement.request

        def refusing_put(self, method, path, body=None, **kw):
            if method == "PUT":
                return 409, None, "conflict"
            return real(self, method, path, body, **kw)

        with mock.patch.object(placement_cmd.BlockingPlacement, "request", refusing_put):
            outcome = await self.heal()
        self.assertOutcome(outcome, 3, out=[
            f"Failed to create allocations for instance {uuid}. Error: conflict"])
        self.dep.write_conf(placement={"endpoint_override": "http://127.0.0.1:1"})
        self.assertOutcome(await self.heal(), 3, out=["Allocation retrieval failed"])

    async def test_allocations_without_project_are_completed(self):
        rp = await self.compute()
        uuid = self.instance()
        # Before placement 1.8 an allocation had no project or user.
        await self.call("PUT", f"/allocations/{uuid}", {
            "allocations": [{"resource_provider": {"uuid": rp},
                             "resources": {"VCPU": 2}}]}, version="1.0", expect=204)
        before = await self.allocations(uuid)
        self.assertNotEqual("p1", before.get("project_id"))
        self.assertOutcome(await self.heal("--verbose"), 0,
                           out=[f"Successfully updated allocations for instance {uuid}"])
        after = await self.allocations(uuid)
        self.assertEqual(("p1", "u1"), (after["project_id"], after["user_id"]))
        self.assertEqual({"VCPU": 2}, after["allocations"][rp]["resources"])

    async def test_no_cells(self):
        with self.dep.engine(self.dep.api_url).begin() as conn:
            conn.execute(api_models.CellMapping.__table__.delete())
        self.assertOutcome(await self.heal("--verbose"), 4, out=["No cells to process."])


class AuditTest(PlacementCommandCase):
    async def audit(self, *argv):
        return await self.cmd("audit", *argv)

    async def allocate(self, consumer, rp, resources=None):
        await self.call("PUT", f"/allocations/{consumer}", {
            "allocations": {rp: {"resources": resources or {"VCPU": 1, "MEMORY_MB": 64}}},
            "project_id": "p1", "user_id": "u1", "consumer_generation": None},
            expect=204)

    async def test_clean_orphans_and_delete(self):
        rp = await self.compute()
        self.assertOutcome(await self.audit("--verbose"), 0,
                           out=["No orphaned allocations found."])
        instance = self.instance()
        await self.allocate(instance, rp)
        migration = str(uuidlib.uuid4())
        with self.dep.engine(self.dep.main_url).begin() as conn:
            conn.execute(main_models.Migration.__table__.insert().values(
                uuid=migration, instance_uuid=instance, status="migrating",
                migration_type="migration", deleted=0))
        await self.allocate(migration, rp)
        self.assertOutcome(await self.audit(), 0)

        orphan = str(uuidlib.uuid4())
        await self.allocate(orphan, rp)
        self.assertOutcome(await self.audit(), 3, out=[
            f"Allocations were set against consumer UUID {orphan} but no existing "
            "instances or active migrations are related."])
        self.assertOutcome(await self.audit("--delete", "--resource_provider", rp), 4,
                           out=[f"Deleted allocations for consumer UUID {orphan} on "
                                f"Resource Provider {rp}"])
        self.assertEqual({}, (await self.allocations(orphan))["allocations"])
        self.assertNotEqual({}, (await self.allocations(instance))["allocations"])
        self.assertOutcome(await self.audit("--resource-provider", rp), 0)

    async def test_deleted_instance_is_an_orphan(self):
        rp = await self.compute()
        instance = self.instance()
        await self.allocate(instance, rp)
        with self.dep.engine(self.dep.main_url).begin() as conn:
            instances_db.destroy(conn, instance)
        self.assertOutcome(await self.audit(), 3, out=[instance])

    async def test_unknown_provider_is_127(self):
        unknown = str(uuidlib.uuid4())
        self.assertOutcome(await self.audit("--resource_provider", unknown), 127, out=[
            f"Resource provider with UUID {unknown} does not exist."])

    async def test_rc1_delete_fails(self):
        rp = await self.compute()
        orphan = str(uuidlib.uuid4())
        await self.allocate(orphan, rp)
        real = placement_cmd.BlockingPlacement.request

        def failing_delete(self, method, path, body=None, **kw):
            if method == "DELETE":
                return 500, None, "boom"
            return real(self, method, path, body, **kw)

        with mock.patch.object(placement_cmd.BlockingPlacement, "request", failing_delete):
            outcome = await self.audit("--delete")
        self.assertOutcome(outcome, 1, out=["Failed to delete allocations for consumer "
                                            f"UUID {orphan}"])
