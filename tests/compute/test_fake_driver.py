"""fake.FakeDriver: the host it reports (default and from a host file), its guests and
their power states, lifecycle events, and the one-line errors of a bad host file."""
from __future__ import annotations

import json

from twisted.internet import task
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.compute.provider_tree import ProviderTree
from nova_tx.objects.instance import Instance
from nova_tx.virt import driver, fake
from tests.compute.helpers import make_conf, write_file

HOST_YAML = """
hypervisor_hostname: node-a
disk_gb: 40
cells:
  - id: 0
    cpus: "0-1"
    memory_mb: 2048
    hugepages: {2048: 128}
    socket: 0
  - id: 1
    cpus: [2, 3]
    memory_mb: 2048
    socket: 0
"""


def instance(uuid: str = "11111111-1111-1111-1111-111111111111", **fields) -> Instance:
    values = dict(vcpus=2, memory_mb=512, root_gb=1, ephemeral_gb=1, id=7)
    values.update(fields)
    return Instance(uuid=uuid, **values)


def result(d):
    """The result of an already-fired Deferred (the fake driver never waits)."""
    out = []
    d.addBoth(out.append)
    assert out, "the Deferred has not fired"
    if hasattr(out[0], "raiseException"):
        out[0].raiseException()
    return out[0]


class HostTest(unittest.TestCase):
    def test_plugin_is_found_by_nova_name_and_module_path(self):
        for name in ("fake.FakeDriver", "nova.virt.fake.FakeDriver"):
            loaded = driver.load_compute_driver(make_conf(compute_driver=name))
            self.assertIsInstance(loaded, fake.FakeDriver)
            self.assertTrue(verifyObject(driver.IComputeDriver, loaded))

    def test_default_host_is_two_smt_cells(self):
        d = fake.FakeDriver(make_conf())
        result(d.init_host("host1"))
        self.assertEqual(["host1"], d.get_available_nodes())
        resources = result(d.get_available_resource("host1"))
        self.assertEqual((16, 16384, 200, "fake"),
                         (resources["vcpus"], resources["memory_mb"], resources["local_gb"],
                          resources["hypervisor_type"]))
        cells = resources["numa_topology"].cells
        self.assertEqual([{0, 1, 2, 3, 8, 9, 10, 11}, {4, 5, 6, 7, 12, 13, 14, 15}],
                         [c.cpuset for c in cells])
        self.assertEqual([{0, 8}, {1, 9}, {2, 10}, {3, 11}], cells[0].siblings)
        self.assertEqual([8192, 8192], [c.memory for c in cells])
        cpu_info = json.loads(resources["cpu_info"])
        self.assertEqual({"sockets": 2, "cores": 4, "threads": 2, "cells": 2},
                         cpu_info["topology"])

    def test_host_file_yaml(self):
        path = write_file(self, "host.yaml", HOST_YAML)
        d = fake.FakeDriver(make_conf(fake__host_topology_file=path))
        self.assertEqual(["node-a"], d.get_available_nodes())
        resources = result(d.get_available_resource("node-a"))
        self.assertEqual((4, 4096, 40), (resources["vcpus"], resources["memory_mb"],
                                         resources["local_gb"]))
        cell0 = resources["numa_topology"].cells[0]
        self.assertEqual([(4, (2048 * 1024 - 2048 * 128) // 4), (2048, 128)],
                         [(p.size_kb, p.total) for p in cell0.mempages])
        self.assertEqual([{0}, {1}], cell0.siblings)
        self.assertEqual(0, cell0.socket)
        self.failureResultOf(d.get_available_resource("other"),
                             exception.ComputeHostNotFound)

    def test_host_file_json(self):
        path = write_file(self, "host.json", json.dumps(
            {"cells": [{"id": 0, "cpus": "0-3", "siblings": ["0,2", "1,3"],
                        "memory_mb": 1024}]}))
        d = fake.FakeDriver(make_conf(fake__host_topology_file=path))
        self.assertTrue(d.topology.has_threads)

    def test_cpu_options_shape_the_topology_and_inventory(self):
        conf = make_conf(compute__cpu_dedicated_set="2-7,10-15",
                         compute__cpu_shared_set="0,1,8,9", cpu_allocation_ratio=8.0)
        d = fake.FakeDriver(conf)
        result(d.init_host("host1"))
        cell0, cell1 = d.topology.cells
        self.assertEqual(({0, 1, 8, 9}, {2, 3, 10, 11}), (cell0.cpuset, cell0.pcpuset))
        self.assertEqual((set(), {4, 5, 6, 7, 12, 13, 14, 15}),
                         (cell1.cpuset, cell1.pcpuset))
        tree = ProviderTree()
        tree.new_root("host1", "rp")
        d.update_provider_tree(tree, "host1")
        data = tree.data("rp")
        self.assertEqual((4, 8.0, 12, 1.0), (
            data.inventory["VCPU"]["total"], data.inventory["VCPU"]["allocation_ratio"],
            data.inventory["PCPU"]["total"], data.inventory["PCPU"]["allocation_ratio"]))
        self.assertIn("HW_CPU_HYPERTHREADING", data.traits)

    def test_bad_cpu_options_stop_init_host(self):
        d = fake.FakeDriver(make_conf(compute__cpu_dedicated_set="0-3",
                                      compute__cpu_shared_set="3-5"))
        error = self.failureResultOf(d.init_host("host1"), exception.ConfigError).value
        self.assertIn("must be disjoint", error.format_message())
        d = fake.FakeDriver(make_conf(compute__cpu_dedicated_set="0-40"))
        self.failureResultOf(d.init_host("host1"), exception.Invalid)

    def test_malformed_host_files(self):
        cases = {
            "notyaml.yaml": ("cells: [\n", "is not valid YAML"),
            "notjson.json": ("{", "is not valid JSON"),
            "list.yaml": ("- 1\n", "must be a mapping"),
            "unknown.yaml": ("colour: blue\n", "unknown key(s) colour"),
            "nocells.yaml": ("cells: []\n", "cells must be a non-empty list"),
            "noid.yaml": ("cells: [{cpus: '0', memory_mb: 1}]\n", "cells[0] needs 'id'"),
            "dupid.yaml": ("cells: [{id: 0, cpus: '0', memory_mb: 1},"
                           " {id: 0, cpus: '1', memory_mb: 1}]\n", "distinct"),
            "overlap.yaml": ("cells: [{id: 0, cpus: '0-1', memory_mb: 1},"
                             " {id: 1, cpus: '1', memory_mb: 1}]\n", "in another cell"),
            "badcpus.yaml": ("cells: [{id: 0, cpus: 'x', memory_mb: 1}]\n", "bad CPU list"),
            "siblings.yaml": ("cells: [{id: 0, cpus: '0', siblings: [[0, 5]], "
                              "memory_mb: 1}]\n", "not all CPUs of the cell"),
            "memory.yaml": ("cells: [{id: 0, cpus: '0', memory_mb: 0}]\n",
                            "memory_mb must be a positive integer"),
            "huge.yaml": ("cells: [{id: 0, cpus: '0', memory_mb: 1, "
                          "hugepages: {2048: 1}}]\n", "exceed memory_mb"),
            "disk.yaml": ("disk_gb: -1\n", "disk_gb must be a non-negative integer"),
        }
        for name, (text, problem) in cases.items():
            path = write_file(self, name, text)
            with self.assertRaises(exception.ConfigError, msg=name) as caught:
                fake.FakeDriver(make_conf(fake__host_topology_file=path))
            message = exception.one_line(caught.exception)
            self.assertIn(path, message)
            self.assertIn(problem, message, name)
            self.assertNotIn("\n", caught.exception.format_message())

    def test_missing_host_file(self):
        with self.assertRaises(exception.ConfigError) as caught:
            fake.FakeDriver(make_conf(fake__host_topology_file="/nonexistent/host.yaml"))
        self.assertIn("/nonexistent/host.yaml: cannot be read",
                      caught.exception.format_message())

    def test_host_file_parsed_once_for_many_drivers(self):
        path = write_file(self, "host.yaml", HOST_YAML)
        drivers = [fake.FakeDriver(make_conf(fake__host_topology_file=path, host=f"h{i}"))
                   for i in range(200)]
        self.assertEqual(1, len({id(d.host) for d in drivers}))


class GuestTest(unittest.TestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.driver = fake.FakeDriver(make_conf(), reactor=self.clock)
        result(self.driver.init_host("host1"))
        self.events = []
        self.driver.register_event_listener(self.events.append)
        self.instance = instance()

    def transitions(self):
        self.clock.advance(0)
        seen = [e.transition for e in self.events]
        del self.events[:]
        return seen

    def state(self):
        return result(self.driver.get_info(self.instance)).state

    def test_lifecycle(self):
        d = self.driver
        self.assertFalse(result(d.instance_exists(self.instance)))
        result(d.spawn(None, self.instance, None, [], None, {}))
        self.assertEqual([driver.EVENT_STARTED], self.transitions())
        self.assertTrue(result(d.instance_exists(self.instance)))
        self.assertEqual([self.instance.uuid], result(d.list_instance_uuids()))
        self.assertEqual(states.RUNNING, self.state())
        self.assertEqual("instance-00000007",
                         result(d.get_info(self.instance)).internal_id)
        resources = result(d.get_available_resource("host1"))
        self.assertEqual((2, 512, 2), (resources["vcpus_used"], resources["memory_mb_used"],
                                       resources["local_gb_used"]))

        result(d.pause(self.instance))
        self.assertEqual((states.POWER_PAUSED, [driver.EVENT_PAUSED]),
                         (self.state(), self.transitions()))
        result(d.unpause(self.instance))
        self.assertEqual((states.RUNNING, [driver.EVENT_RESUMED]),
                         (self.state(), self.transitions()))
        result(d.suspend(None, self.instance))
        self.assertEqual((states.POWER_SUSPENDED, [driver.EVENT_SUSPENDED]),
                         (self.state(), self.transitions()))
        result(d.resume(None, self.instance, None))
        self.assertEqual((states.RUNNING, [driver.EVENT_RESUMED]),
                         (self.state(), self.transitions()))
        result(d.power_off(self.instance, timeout=10))
        self.assertEqual((states.SHUTDOWN, [driver.EVENT_STOPPED]),
                         (self.state(), self.transitions()))
        result(d.power_off(self.instance))
        self.assertEqual([], self.transitions())
        result(d.power_on(None, self.instance, None))
        self.assertEqual((states.RUNNING, [driver.EVENT_STARTED]),
                         (self.state(), self.transitions()))
        result(d.reboot(None, self.instance, None, "SOFT"))
        self.assertEqual((states.RUNNING, []), (self.state(), self.transitions()))
        console = result(d.get_console_output(None, self.instance))
        self.assertIn(b"instance-00000007", console)
        self.assertIn(b"reboot (SOFT)", console)

        result(d.destroy(None, self.instance, None))
        self.assertEqual([driver.EVENT_STOPPED], self.transitions())
        self.assertFalse(result(d.instance_exists(self.instance)))
        # A guest already gone is not an error for destroy, and is for the others.
        result(d.destroy(None, self.instance, None))
        for call in (lambda: d.get_info(self.instance), lambda: d.pause(self.instance),
                     lambda: d.get_console_output(None, self.instance),
                     lambda: d.reboot(None, self.instance, None, "HARD")):
            self.failureResultOf(call(), exception.InstanceNotFound)

    def test_spawn_powered_off_and_hard_reboot_starts(self):
        result(self.driver.spawn(None, self.instance, None, [], None, {}, power_on=False))
        self.assertEqual((states.SHUTDOWN, []), (self.state(), self.transitions()))
        result(self.driver.reboot(None, self.instance, None, "HARD"))
        self.assertEqual((states.RUNNING, [driver.EVENT_STARTED]),
                         (self.state(), self.transitions()))

    def test_simulated_crash_sends_an_event(self):
        result(self.driver.spawn(None, self.instance, None, [], None, {}))
        self.transitions()
        self.driver.simulate_state(self.instance.uuid, states.CRASHED, driver.EVENT_STOPPED)
        self.assertEqual([], self.events)   # delivered by the reactor, not during the call
        self.clock.advance(0)
        self.assertEqual([self.instance.uuid], [e.instance_uuid for e in self.events])
        self.assertEqual((states.CRASHED, [driver.EVENT_STOPPED]),
                         (self.state(), self.transitions()))

    def test_uptime(self):
        self.assertIn("load average", result(self.driver.get_host_uptime()))
