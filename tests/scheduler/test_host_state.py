"""HostStates: rows from compute node records, incremental updates, claims."""
from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from nova_tx import weights
from nova_tx.objects.numa import InstancePCIRequest, PciDevicePool
from nova_tx.scheduler.filters.numa_topology_filter import NUMATopologyFilter
from nova_tx.scheduler.host_state import ComputeNodeRecord, HostStates
from tests.scheduler.hosts import (
    NOW,
    aggregate,
    flavor,
    group,
    make_conf,
    node,
    numa_guest,
    passing,
    spec,
    states,
    two_cell_host,
)


class RecordTests(unittest.SynchronousTestCase):
    def test_fields_from_a_record(self):
        hs = states(node("h1", memory_mb=8192, memory_mb_used=1024, local_gb=100,
                         local_gb_used=30, free_disk_gb=70, disk_available_least=50,
                         vcpus=16, vcpus_used=3, cpu_allocation_ratio=4.0,
                         stats={"num_instances": "3", "io_workload": "2",
                                "failed_builds": "1"}))
        row = hs.row_of("h1", "h1")
        self.assertEqual(7168, hs.free_ram_mb[row])
        self.assertEqual(50 * 1024, hs.free_disk_mb[row])  # the least of the two
        self.assertEqual(30 * 1024, hs.disk_mb_used[row])
        self.assertEqual((16, 3, 4.0), (hs.vcpus_total[row], hs.vcpus_used[row],
                                        hs.cpu_allocation_ratio[row]))
        self.assertEqual((3, 2, 1), (hs.num_instances[row], hs.num_io_ops[row],
                                     hs.failed_builds[row]))
        state = hs.host_state(row)
        self.assertEqual(("h1", "h1", "uuid-h1", "cell1"),
                         (state.host, state.nodename, state.uuid, state.cell_uuid))
        self.assertEqual([["x86_64", "qemu", "hvm"]], state.supported_instances)

    def test_negative_free_ram_is_kept(self):
        hs = states(node("h1", memory_mb=1024, memory_mb_used=2048))
        self.assertEqual(-1024, hs.free_ram_mb[0])

    def test_from_the_database_row(self):
        record = ComputeNodeRecord.from_primitive({
            "uuid": "u1", "host": "h1", "hypervisor_hostname": "n1", "memory_mb": 2048,
            "memory_mb_used": 512, "vcpus": 4, "stats": json.dumps({"num_instances": "2"}),
            "metrics": json.dumps([{"name": "cpu.percent", "value": 0.25}]),
            "supported_hv_specs": json.dumps([["x86_64", "kvm", "hvm"]]),
            "numa_topology": json.dumps({"nova_object.data": two_cell_host().to_dict()}),
            "pci_stats": json.dumps([{"count": 2, "numa_node": 0, "vendor_id": "8086",
                                      "product_id": "154d"}]),
            "extra_column": 1})
        hs = HostStates(clock=lambda: NOW)
        row = hs.update_from_compute_node(record)
        self.assertEqual(1536, hs.free_ram_mb[row])
        self.assertEqual(2, hs.num_instances[row])
        self.assertEqual(0.25, hs.metrics["cpu.percent"][row])
        self.assertEqual(2, hs.arrays.n_cells[row])
        self.assertEqual(2, hs.pci_free[row])

    def test_an_older_record_changes_nothing(self):
        hs = states(node("h1", memory_mb_used=0, updated_at=NOW - 10))
        hs.update_from_compute_node(node("h1", memory_mb_used=4096, updated_at=NOW - 20))
        self.assertEqual(8192, hs.free_ram_mb[0])
        hs.update_from_compute_node(node("h1", memory_mb_used=4096, updated_at=NOW - 5))
        self.assertEqual(4096, hs.free_ram_mb[0])

    def test_a_record_older_than_a_claim_changes_nothing(self):
        hs = states(node("h1", updated_at=NOW - 10))
        hs.consume_from_request(0, spec(flavor(memory_mb=1024)))
        hs.update_from_compute_node(node("h1", updated_at=NOW - 1))
        self.assertEqual(8192 - 1024, hs.free_ram_mb[0])
        hs.update_from_compute_node(node("h1", updated_at=NOW + 1))
        self.assertEqual(8192, hs.free_ram_mb[0])

    def test_rows_grow_and_are_reused(self):
        hs = states(*[node(f"h{i}") for i in range(5)])
        self.assertEqual(8, hs.capacity)
        self.assertEqual(8, hs.arrays.size)
        self.assertEqual(list(range(5)), hs.rows().tolist())
        hs.remove_node("h1", "h1")
        self.assertEqual([0, 2, 3, 4], hs.rows().tolist())
        self.assertEqual(4, len(hs))
        row = hs.update_from_compute_node(node("h9", numa_topology=two_cell_host()))
        self.assertEqual(1, row)
        self.assertEqual("h9", hs.host[1])
        self.assertEqual(2, hs.arrays.n_cells[1])
        self.assertEqual(1, hs.uuid_rows["uuid-h9"])

    def test_metrics_and_traits(self):
        hs = states(node("a", metrics=[{"name": "m", "value": 3}], traits={"T1", "T2"}),
                    node("b", traits={"T2"}))
        self.assertTrue(np.isnan(hs.metrics["m"][1]))
        rows = hs.rows()
        self.assertEqual([True, False], hs.rows_with_traits(rows, ["T1"]).tolist())
        self.assertEqual([False, True], hs.rows_with_traits(rows, ["T2"], ["T1"]).tolist())
        self.assertEqual([False, False], hs.rows_with_traits(rows, ["T9"]).tolist())
        hs.update_from_compute_node(node("a", metrics=[], traits=(), updated_at=NOW))
        self.assertTrue(np.isnan(hs.metrics["m"][0]))
        self.assertEqual([False, False], hs.rows_with_traits(rows, ["T1"]).tolist())

    def test_many_traits(self):
        traits = [f"CUSTOM_{i}" for i in range(130)]
        hs = states(node("a", traits=traits), node("b", traits=traits[100:]))
        self.assertEqual([True, False], hs.rows_with_traits(hs.rows(), traits[:101]).tolist())
        self.assertEqual([True, True], hs.rows_with_traits(hs.rows(), traits[128:]).tolist())


class InstanceInfoTests(unittest.SynchronousTestCase):
    def test_update_delete_sync(self):
        hs = states(node("h1"))
        self.assertFalse(hs.update_instance_info("h1", [{"uuid": "a"}]))  # unknown: reload
        self.assertTrue(hs.update_instance_info("h1", [{"uuid": "b"}]))
        self.assertEqual({"a", "b"}, set(hs.instance_info["h1"]))
        self.assertTrue(hs.sync_instance_info("h1", ["b", "a"]))
        self.assertFalse(hs.sync_instance_info("h1", ["a"]))
        self.assertFalse(hs.sync_instance_info("h2", []))
        self.assertTrue(hs.delete_instance_info("h1", "a"))
        self.assertFalse(hs.delete_instance_info("h2", "a"))
        self.assertEqual([False], hs.rows_with_any_instance(["a"])[hs.rows()].tolist())
        hs.set_instance_info("h1", ["c"])
        self.assertEqual([0], hs.instance_counts(["b"])[hs.rows()].tolist())
        self.assertEqual([1], hs.instance_counts(["c", "x"])[hs.rows()].tolist())


class AggregateTests(unittest.SynchronousTestCase):
    def test_membership_follows_updates(self):
        hs = states(node("a"), node("b"))
        hs.update_aggregates(aggregate(1, ["a", "b"], k="1"))
        self.assertEqual([1, 1], hs.aggregate_number("k")[hs.rows()].tolist())
        hs.update_aggregates([aggregate(1, ["b"], k="2")])
        number = hs.aggregate_number("k")[hs.rows()]
        self.assertTrue(np.isnan(number[0]))
        self.assertEqual(2, number[1])
        hs.delete_aggregate(aggregate(1, ["b"]))
        self.assertTrue(np.isnan(hs.aggregate_number("k")[hs.rows()]).all())

    def test_a_host_added_later_joins_its_aggregates(self):
        hs = states(node("a"))
        hs.update_aggregates(aggregate(1, ["a", "late"], k="5"))
        hs.update_from_compute_node(node("late"))
        self.assertEqual([5, 5], hs.aggregate_number("k")[hs.rows()].tolist())

    def test_numbers_match_the_weighing_reference(self):
        hs = states(*[node(f"h{i}") for i in range(5)])
        hs.update_aggregates([aggregate(1, ["h0", "h1"], m="2.0"),
                              aggregate(2, ["h1", "h2"], m="-3.0"),
                              aggregate(3, ["h3"], m="bad"),
                              aggregate(4, ["h3", "h4"], m="7")])
        rows = hs.rows()
        per_host = [[a.metadata for a in hs.aggregates_of_host(hs.host[r])] for r in rows]
        expected = weights.host_multipliers(1.0, weights.aggregate_values(per_host, "m"), "m")
        self.assertEqual(expected.tolist(), hs.aggregate_number_or("m", 1.0, rows).tolist())


class ConsumeTests(unittest.SynchronousTestCase):
    def test_resources(self):
        hs = states(node("h1"))
        hs.consume_from_request(0, spec(flavor(vcpus=2, memory_mb=1024, root_gb=10)))
        self.assertEqual((7168, 90 * 1024, 2, 1, 1, NOW),
                         (hs.free_ram_mb[0], hs.free_disk_mb[0], hs.vcpus_used[0],
                          hs.num_instances[0], hs.num_io_ops[0], hs.updated[0]))

    def test_numa_claim_updates_the_kernel_row(self):
        hs = states(node("h1", numa_topology=two_cell_host()))
        guest = numa_guest(4, hw__cpu_policy="dedicated")
        request = spec(flavor(4, **{"hw:cpu_policy": "dedicated"}), numa_topology=guest)
        check = NUMATopologyFilter(make_conf())
        self.assertEqual(["h1"], passing(check, hs, request))
        fitted = hs.consume_from_request(0, request)
        self.assertEqual({0: 0, 1: 1, 2: 2, 3: 3}, fitted.cells[0].cpu_pinning)
        self.assertIs(fitted, request.numa_topology)
        self.assertEqual({0, 1, 2, 3}, hs.arrays.topologies[0].cells[0].pinned_cpus)
        again = spec(flavor(4, **{"hw:cpu_policy": "dedicated"}), numa_topology=guest)
        self.assertEqual(["h1"], passing(check, hs, again))
        hs.consume_from_request(0, again)
        third = spec(flavor(4, **{"hw:cpu_policy": "dedicated"}),
                     numa_topology=numa_guest(4, hw__cpu_policy="dedicated"))
        self.assertEqual([], passing(check, hs, third))

    def test_limits_of_a_numa_guest(self):
        hs = states(node("numa", numa_topology=two_cell_host(), cpu_allocation_ratio=4.0),
                    node("plain"))
        request = spec(numa_topology=numa_guest(2, hw__cpu_policy="dedicated"))
        limits = hs.limits(0, request)["numa_topology"]
        self.assertEqual((4.0, 1.5), (limits.cpu_allocation_ratio, limits.ram_allocation_ratio))
        self.assertEqual({}, hs.limits(1, request))
        self.assertEqual({}, hs.limits(0, spec()))

    def test_pci_claim_takes_devices(self):
        pools = [PciDevicePool(count=2, numa_node=0, vendor_id="8086", product_id="154d")]
        hs = states(node("h1", pci_pools=pools))
        request = InstancePCIRequest(count=1, spec=[{"vendor_id": "8086"}])
        hs.consume_from_request(0, spec(pci_requests=[request]))
        self.assertEqual(1, hs.pci_free[0])
        self.assertEqual(1, hs.arrays.pci_pools[0][0].count)
        self.assertEqual(2, pools[0].count)  # the record's pools are not changed

    def test_group_bookkeeping(self):
        hs = states(node("h1"))
        request = spec(instance_group=group("anti-affinity"))
        hs.consume_from_request(0, request, instance_uuid="i1")
        self.assertEqual(["h1"], request.instance_group.hosts)
        self.assertEqual([1], hs.instance_counts(["i1"])[hs.rows()].tolist())


# -- incremental updates equal a rebuild ---------------------------------------------------

HOSTS = ["h0", "h1", "h2", "h3"]
nodes_ = st.tuples(st.sampled_from(HOSTS), st.sampled_from(["a", "b"]))
record_ = st.builds(
    lambda key, used, stats, numa, t, traits, metric: node(
        key[0], nodename=f"{key[0]}-{key[1]}", memory_mb_used=used, stats=stats,
        numa_topology=two_cell_host() if numa else None, updated_at=NOW - t,
        traits=traits, metrics=[{"name": "m", "value": metric}] if metric is not None else []),
    nodes_, st.integers(0, 8192),
    st.fixed_dictionaries({}, optional={"num_instances": st.integers(0, 60),
                                        "io_workload": st.integers(0, 9)}),
    st.booleans(), st.integers(0, 1000), st.sets(st.sampled_from(["T1", "T2", "T3"])),
    st.one_of(st.none(), st.floats(-5, 5)))
aggregate_ = st.builds(
    lambda id_, members, value: aggregate(id_, members, k=value),
    st.integers(1, 3), st.lists(st.sampled_from(HOSTS), unique=True),
    st.sampled_from(["1", "2.5", "-1", "x"]))
op_ = st.one_of(
    st.tuples(st.just("record"), record_),
    st.tuples(st.just("remove"), nodes_),
    st.tuples(st.just("aggregate"), aggregate_),
    st.tuples(st.just("delete"), st.integers(1, 3)),
    st.tuples(st.just("instances"), st.sampled_from(HOSTS),
              st.lists(st.sampled_from(["i1", "i2", "i3", "i4"]), unique=True)),
    st.tuples(st.just("delete_instance"), st.sampled_from(HOSTS),
              st.sampled_from(["i1", "i2", "i3", "i4"])),
)


def dump(hs: HostStates) -> dict:
    """Everything filters and weighers read, by (host, node)."""
    result = {}
    columns = ("free_ram_mb", "free_disk_mb", "vcpus_used", "num_instances", "num_io_ops",
               "updated", "hypervisor_version", "pci_free")
    rows = hs.rows()
    numbers = hs.aggregate_number_or("k", 9.0, rows)
    instances = {u: hs.rows_with_any_instance([u])[rows] for u in ("i1", "i2", "i3", "i4")}
    traits = {t: hs.rows_with_traits(rows, [t]) for t in ("T1", "T2", "T3")}
    metric = hs.metrics.get("m")
    for i, row in enumerate(rows.tolist()):
        key = (hs.host[row], hs.nodename[row])
        result[key] = (
            tuple(float(getattr(hs, c)[row]) for c in columns), hs.uuid[row],
            int(hs.arrays.n_cells[row]),
            hs.arrays.memory_usage[row, :hs.arrays.n_cells[row]].tolist(),
            float(numbers[i]), tuple(bool(v[i]) for v in instances.values()),
            tuple(bool(v[i]) for v in traits.values()),
            None if metric is None or np.isnan(metric[row]) else float(metric[row]))
    return result


class IncrementalEqualsRebuildTests(unittest.SynchronousTestCase):

    @settings(max_examples=150, deadline=None)
    @given(st.lists(op_, max_size=25))
    def test_incremental_updates_equal_a_rebuild(self, ops):
        live = HostStates(capacity=1, clock=lambda: NOW)
        records: dict = {}
        aggregates: dict = {}
        instances: dict = {}
        for op in ops:
            kind = op[0]
            if kind == "record":
                record = op[1]
                key = (record.host, record.hypervisor_hostname)
                old = records.get(key)
                if old is None or old.updated_at <= record.updated_at:
                    records[key] = record
                live.update_from_compute_node(record)
            elif kind == "remove":
                key = (op[1][0], f"{op[1][0]}-{op[1][1]}")
                records.pop(key, None)
                live.remove_node(*key)
            elif kind == "aggregate":
                aggregates[op[1].id] = op[1]
                live.update_aggregates([op[1]])
            elif kind == "delete":
                if op[1] in aggregates:
                    live.delete_aggregate(aggregates.pop(op[1]))
            elif kind == "instances":
                instances.setdefault(op[1], set()).update(op[2])
                live.update_instance_info(op[1], [{"uuid": u} for u in op[2]])
            else:
                if op[1] in instances:
                    instances[op[1]].discard(op[2])
                live.delete_instance_info(op[1], op[2])
        rebuilt = HostStates(clock=lambda: NOW)
        for record in records.values():
            rebuilt.update_from_compute_node(record)
        rebuilt.update_aggregates(list(aggregates.values()))
        for host, uuids in instances.items():
            rebuilt.set_instance_info(host, [{"uuid": u} for u in uuids])
        self.assertEqual(dump(rebuilt), dump(live))
