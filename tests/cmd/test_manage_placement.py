"""nova-manage placement sync_aggregates: every documented return code (spec G),
against our Placement served over HTTP by the test's reactor (the command blocks, so
it runs in a thread while the reactor answers)."""
from __future__ import annotations

from unittest import mock

from twisted.internet import threads

from nova_tx.cmd import manage
from nova_tx.cmd import placement as placement_cmd
from nova_tx.db.api import aggregates as aggregates_db
from tests.cmd import CommandTestCase
from tests.cmd.test_manage import one_cell
from tests.placement.api_fixture import PlacementServer


class SyncAggregatesTest(CommandTestCase):
    main = staticmethod(manage.main)

    def setUp(self):
        super().setUp()
        self.placement = PlacementServer(self)
        self.placement.start()
        self.ctx = one_cell(self.dep)
        self.dep.write_conf(placement={"endpoint_override": self.placement.url})

    async def sync(self, *argv):
        return await threads.deferToThread(self.run_cmd, "placement", "sync_aggregates",
                                           *argv)

    def aggregate(self, name, hosts):
        with self.dep.engine(self.dep.api_url).begin() as conn:
            return aggregates_db.create(conn, name, hosts=hosts)

    def compute(self, host, *, mapped=True, nodes=1):
        uuids = [self.dep.add_compute_node(self.dep.main_url, host,
                                           node=f"{host}-{i}" if i else host)
                 for i in range(nodes)]
        if mapped:
            self.dep.add_host_mapping(host, self.ctx["cell1"])
        return uuids[0] if uuids else None

    async def provider(self, name, uuid):
        status, _h, body = await self.placement.request(
            "POST", "/resource_providers", {"name": name, "uuid": uuid}, version="1.20")
        self.assertEqual(200, status, body)

    async def provider_aggregates(self, uuid):
        status, _h, body = await self.placement.request(
            "GET", f"/resource_providers/{uuid}/aggregates", version="1.19")
        self.assertEqual(200, status, body)
        return sorted(body["aggregates"])

    async def test_rc0_mirrors_every_member(self):
        rp1, rp2 = self.compute("host1"), self.compute("host2")
        await self.provider("host1", rp1)
        await self.provider("host2", rp2)
        agg = self.aggregate("agg", ["host1", "host2"])
        other = self.aggregate("other", ["host1"])
        outcome = await self.sync("--verbose")
        self.assertOutcome(outcome, 0, out=[
            "Filling in missing placement aggregate information...",
            "Processing aggregate: agg", "Processing host: host1",
            f"Successfully added host (host2) and provider ({rp2}) to aggregate "
            f"({agg.uuid}).", "Done."])
        self.assertEqual(sorted([agg.uuid, other.uuid]), await self.provider_aggregates(rp1))
        self.assertEqual([agg.uuid], await self.provider_aggregates(rp2))
        # Again: nothing to add, still 0; quiet without --verbose.
        outcome = await self.sync()
        self.assertOutcome(outcome, 0)
        self.assertEqual("", outcome.out)

    async def test_rc4_unmapped_host(self):
        self.compute("host1", mapped=False)
        self.aggregate("agg", ["host1"])
        self.assertOutcome(await self.sync(), 4, out=[
            "no host mappings were found in the nova API DB. Run \"nova-manage cell_v2 "
            "discover_hosts\" and then retry. Missing: host1"])

    async def test_rc5_no_compute_node(self):
        self.dep.add_host_mapping("host1", self.ctx["cell1"])
        self.aggregate("agg", ["host1"])
        self.assertOutcome(await self.sync(), 5, out=[
            "Unable to find matching compute_nodes record entries in the cell database for "
            "the following hosts; does the nova-compute service on each host need to be "
            "restarted? Missing: host1"])

    async def test_rc6_no_provider_and_the_last_code_wins(self):
        rp = self.compute("host1")
        self.compute("lost", mapped=False)
        self.dep.add_host_mapping("empty", self.ctx["cell1"])
        good = self.compute("good")
        await self.provider("good", good)
        agg = self.aggregate("agg", ["lost", "empty", "host1", "good"])
        outcome = await self.sync()
        self.assertOutcome(outcome, 6, out=[
            "Missing: lost", "Missing: empty",
            f"Unable to find matching resource provider record in placement with uuid for "
            f"the following hosts: (host1, {rp}). Try restarting the nova-compute service "
            "on each host and then retry."])
        # The others were still processed.
        self.assertEqual([agg.uuid], await self.provider_aggregates(good))

    async def test_rc1_two_compute_nodes(self):
        self.compute("ironic", nodes=2)
        self.aggregate("agg", ["ironic"])
        self.assertOutcome(await self.sync(), 1, out=[
            "Unexpected number of compute node records (2) found for host ironic. There "
            "should only be a one-to-one mapping."])

    async def test_rc2_placement_unreachable_or_failing(self):
        rp = self.compute("host1")
        self.aggregate("agg", ["host1"])
        self.dep.write_conf(placement={"endpoint_override": "http://127.0.0.1:1"})
        self.assertOutcome(await self.sync(), 2, out=[
            "An error occurred while working with the placement API"])
        self.dep.write_conf(placement={"endpoint_override": self.placement.url})
        await self.provider("host1", rp)
        real = placement_cmd.BlockingPlacement.request

        def failing_get(self, method, path, body=None, **kw):
            if method == "GET":
                return 500, None, "boom"
            return real(self, method, path, body, **kw)

        with mock.patch.object(placement_cmd.BlockingPlacement, "request", failing_get):
            outcome = await self.sync()
        self.assertOutcome(outcome, 2, out=[
            f"Failed to retrieve aggregates from placement API for resource provider with "
            f"UUID {rp}. Got 500: boom."])

    async def test_rc3_update_fails(self):
        rp = self.compute("host1")
        await self.provider("host1", rp)
        agg = self.aggregate("agg", ["host1"])
        real = placement_cmd.BlockingPlacement.request
        calls = []

        def conflicting_put(self, method, path, body=None, **kw):
            if method == "PUT":
                calls.append(path)
                return 409, None, "generation conflict"
            return real(self, method, path, body, **kw)

        with mock.patch.object(placement_cmd.BlockingPlacement, "request", conflicting_put):
            outcome = await self.sync()
        self.assertOutcome(outcome, 3, out=[
            f"Failed updating provider aggregates for host (host1), provider ({rp}) and "
            f"aggregate ({agg.uuid}). Error: generation conflict"])
        # Conflicts were retried before giving up.
        self.assertEqual(4, len(calls))
        self.assertEqual([], await self.provider_aggregates(rp))
