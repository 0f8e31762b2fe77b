"""Allocation candidates: the rules, and speed with tens of thousands of providers."""
from __future__ import annotations

import time
import uuid as uuidlib

import sqlalchemy as sa
from twisted.trial import unittest

from nova_tx.db.placement.models import inventories, resource_providers
from nova_tx.placement import exception
from nova_tx.placement.objects import ConsumerAllocations, Inventory
from nova_tx.placement.storage import (
    aggregates,
    allocations,
    candidates,
    resource_classes,
    traits,
)
from nova_tx.placement.storage import inventories as inventories_store
from nova_tx.placement.storage import (
    resource_providers as rp_store,
)
from nova_tx.placement.storage.candidates import CandidateQuery, RequestGroup
from tests.placement.db import placement_engine

PROJECT = USER = "aaaaaaaa-1111-4111-8111-111111111111"


class CandidateTests(unittest.SynchronousTestCase):

    def setUp(self):
        self.engine = placement_engine(self)

    def run_db(self, fn, *args, **kw):
        with self.engine.begin() as conn:
            return fn(conn, *args, **kw)

    def provider(self, name, parent=None, inventory=None, trait_names=(), aggs=()):
        rp = self.run_db(rp_store.create, name=name,
                         parent_provider_uuid=parent.uuid if parent else None)
        if inventory:
            self.run_db(inventories_store.replace_all, rp, None,
                        {rc: Inventory(rc, total=t) for rc, t in inventory.items()})
        if trait_names:
            for name_ in trait_names:
                self.run_db(traits.ensure, name_)
            self.run_db(traits.set_for_provider, self.get(rp), list(trait_names), None)
        if aggs:
            self.run_db(aggregates.set_for_provider, self.get(rp), list(aggs))
        return self.get(rp)

    def get(self, rp):
        return self.run_db(rp_store.get_by_uuid, rp.uuid)

    def query(self, *groups, **kw):
        return self.run_db(candidates.get_candidates, CandidateQuery(groups=list(groups), **kw))

    def test_nested_tree_and_granular_groups(self):
        cn = self.provider("cn", inventory={"MEMORY_MB": 4096})
        numa0 = self.provider("numa0", cn, {"VCPU": 4})
        numa1 = self.provider("numa1", cn, {"VCPU": 4})
        self.provider("pf", numa0, {"SRIOV_NET_VF": 8}, trait_names=["CUSTOM_PHYSNET_A"])
        requests, summaries = self.query(RequestGroup(resources={"VCPU": 2, "MEMORY_MB": 512}))
        self.assertEqual(2, len(requests))
        self.assertEqual({numa0.uuid, numa1.uuid},
                         {u for r in requests for u in r.allocations if u != cn.uuid})
        # Every provider of the tree is summarised, even those that give nothing.
        self.assertEqual(4, len(summaries))
        # Two granular groups, isolated: both NUMA nodes, either way round.
        requests, _ = self.query(RequestGroup("1", resources={"VCPU": 3}),
                                 RequestGroup("2", resources={"VCPU": 3}),
                                 group_policy="isolate")
        self.assertEqual(2, len(requests))
        for r in requests:
            self.assertEqual({numa0.uuid, numa1.uuid}, set(r.allocations))
        # Capacity is checked on the sum: 3 + 3 does not fit one NUMA node.
        requests, _ = self.query(RequestGroup("1", resources={"VCPU": 3}),
                                 RequestGroup("2", resources={"VCPU": 3}), group_policy="none")
        self.assertEqual(2, len(requests))
        # Required traits of a granular group are the provider's own.
        requests, _ = self.query(RequestGroup(resources={"VCPU": 1}),
                                 RequestGroup("_NET", resources={"SRIOV_NET_VF": 1},
                                              required={"CUSTOM_PHYSNET_A"}),
                                 same_subtrees=[["", "_NET"]])
        self.assertEqual(1, len(requests))
        self.assertIn(numa0.uuid, requests[0].allocations)
        self.assertEqual({"": [numa0.uuid], "_NET": [requests[0].mappings["_NET"][0]]},
                         requests[0].mappings)
        # Not nested-aware (before 1.29): nothing spans two providers of a tree.
        requests, _ = self.query(RequestGroup(resources={"VCPU": 1, "MEMORY_MB": 1}),
                                 nested_aware=False)
        self.assertEqual([], requests)

    def test_sharing_providers(self):
        agg = str(uuidlib.uuid4())
        cn1 = self.provider("cn1", inventory={"VCPU": 8}, aggs=[agg])
        self.provider("cn2", inventory={"VCPU": 8})
        shared = self.provider("ss", inventory={"DISK_GB": 1000},
                               trait_names=["MISC_SHARES_VIA_AGGREGATE"], aggs=[agg])
        requests, summaries = self.query(RequestGroup(resources={"VCPU": 1, "DISK_GB": 100}))
        self.assertEqual([{cn1.uuid: {"VCPU": 1}, shared.uuid: {"DISK_GB": 100}}],
                         [r.allocations for r in requests])
        self.assertEqual({cn1.uuid, shared.uuid}, {s.provider.uuid for s in summaries})
        # Forbidding the aggregate leaves nothing.
        requests, _ = self.query(RequestGroup(
            resources={"VCPU": 1, "DISK_GB": 100},
            member_of=[rp_store.MemberOf([agg], negated=True)]))
        self.assertEqual([], requests)

    def test_usage_and_traits_filter(self):
        cn1 = self.provider("cn1", inventory={"VCPU": 2}, trait_names=["HW_CPU_X86_AVX2"])
        cn2 = self.provider("cn2", inventory={"VCPU": 2})
        self.run_db(allocations.replace, [ConsumerAllocations(
            str(uuidlib.uuid4()), {cn2.uuid: {"VCPU": 2}}, PROJECT, USER)])
        requests, summaries = self.query(RequestGroup(resources={"VCPU": 1}))
        self.assertEqual([cn1.uuid], [u for r in requests for u in r.allocations])
        requests, _ = self.query(RequestGroup(resources={"VCPU": 1},
                                              forbidden={"HW_CPU_X86_AVX2"}))
        self.assertEqual([], requests)
        self.assertRaises(exception.TraitNotFound, self.query,
                          RequestGroup(resources={"VCPU": 1}, required={"CUSTOM_NOPE"}))


class ScaleTests(unittest.SynchronousTestCase):
    """Tens of thousands of providers: the filtering is SQL, the answer stays quick."""

    PROVIDERS = 20000

    def setUp(self):
        self.engine = placement_engine(self)
        with self.engine.begin() as conn:
            ids = resource_classes.ids_by_name(conn, ["VCPU", "MEMORY_MB", "DISK_GB"])
            conn.execute(resource_providers.insert(), [
                {"id": i, "uuid": str(uuidlib.UUID(int=i)), "name": f"cn{i}", "generation": 1,
                 "root_provider_id": i} for i in range(1, self.PROVIDERS + 1)])
            rows = []
            for i in range(1, self.PROVIDERS + 1):
                # Every tenth host is too small for the request below.
                memory = 1024 if i % 10 == 0 else 65536
                for rc, total in (("VCPU", 32), ("MEMORY_MB", memory), ("DISK_GB", 1000)):
                    rows.append({"resource_provider_id": i, "resource_class_id": ids[rc],
                                 "total": total, "reserved": 0, "min_unit": 1,
                                 "max_unit": total, "step_size": 1, "allocation_ratio": 1.0})
            conn.execute(inventories.insert(), rows)

    def query(self, **kw):
        with self.engine.begin() as conn:
            return candidates.get_candidates(conn, CandidateQuery(groups=[RequestGroup(
                resources={"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 20})], **kw))

    def test_all_candidates(self):
        start = time.perf_counter()
        requests, summaries = self.query()
        elapsed = time.perf_counter() - start
        self.assertEqual(self.PROVIDERS * 9 // 10, len(requests))
        self.assertEqual(len(requests), len(summaries))
        self.assertLess(elapsed, 20.0)

    def test_limit(self):
        start = time.perf_counter()
        requests, summaries = self.query(limit=50)
        elapsed = time.perf_counter() - start
        self.assertEqual(50, len(requests))
        self.assertEqual(50, len(summaries))
        self.assertLess(elapsed, 5.0)
        with self.engine.connect() as conn:
            self.assertEqual(self.PROVIDERS, conn.execute(
                sa.select(sa.func.count()).select_from(resource_providers)).scalar())
