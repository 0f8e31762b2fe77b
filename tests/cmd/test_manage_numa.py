"""``nova-manage numa fit``: the answer, the reasons, and bad input."""
from __future__ import annotations

import json
import os
import tempfile

from twisted.trial import unittest

from nova_tx.cmd import manage
from tests.cmd import run_main

PAGES = [{"size_kb": 4, "total": 3670016, "used": 0, "reserved": 0},
         {"size_kb": 2048, "total": 1024, "used": 0, "reserved": 0}]


def cell(cell_id: int, first: int, *, smt: bool = True, pinned=(), memory_usage: int = 0
         ) -> dict:
    """A 4-core cell: CPUs first..first+3, with siblings first+8.. when ``smt``."""
    cores = list(range(first, first + 4))
    cpus = cores + [c + 8 for c in cores] if smt else cores
    siblings = [[c, c + 8] for c in cores] if smt else [[c] for c in cores]
    return {"id": cell_id, "cpuset": cpus, "pcpuset": cpus, "siblings": siblings,
            "memory": 16384, "memory_usage": memory_usage, "pinned_cpus": list(pinned),
            "mempages": PAGES}


HOST = {"cells": [cell(0, 0, pinned=[0, 8]), cell(1, 4)]}


class NumaFitTests(unittest.SynchronousTestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nova-tx-numa-")
        self.addCleanup(__import__("shutil").rmtree, self.dir, True)

    def write(self, name: str, content) -> str:
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(content if isinstance(content, str) else json.dumps(content))
        return path

    def fit(self, flavor: dict, host: dict = HOST, image: dict | None = None,
            extra: tuple = ()):
        argv = ["numa", "fit", "--host", self.write("host.json", host),
                "--flavor", self.write("flavor.json", flavor), *extra]
        if image is not None:
            argv += ["--image", self.write("image.json", image)]
        outcome = run_main(manage.main, argv)
        answer = json.loads(outcome.out) if outcome.rc in (0, 1) else None
        return outcome, answer

    def test_a_pinned_guest_gets_the_least_used_cell_and_whole_cores(self):
        outcome, answer = self.fit({"vcpus": 4, "memory_mb": 2048, "extra_specs": {
            "hw:cpu_policy": "dedicated", "hw:mem_page_size": "large"}})
        self.assertEqual(0, outcome.rc, outcome)
        [placed] = answer["cells"]
        self.assertEqual((1, 2048, {"0": 4, "1": 12, "2": 5, "3": 13}),
                         (placed["host_cell"], placed["page_size_kb"], placed["cpu_pinning"]))
        self.assertEqual(1, answer["instance_numa_topology"]["cells"][0]["id"])

    def test_packing_from_the_configuration(self):
        conf = self.write("nova.conf",
                          "[compute]\npacking_host_numa_cells_allocation_strategy = true\n")
        outcome, answer = self.fit({"vcpus": 2, "memory_mb": 1024, "extra_specs": {
            "hw:cpu_policy": "dedicated"}}, extra=("--config-file", conf))
        self.assertEqual(0, outcome.rc, outcome)
        self.assertEqual(0, answer["cells"][0]["host_cell"])
        self.assertEqual({"0": 1, "1": 9}, answer["cells"][0]["cpu_pinning"])

    def test_a_guest_without_numa_topology_fits_anywhere(self):
        outcome, answer = self.fit({"vcpus": 64, "memory_mb": 1 << 20, "extra_specs": {}})
        self.assertEqual((0, True, False), (outcome.rc, answer["fits"], answer["numa"]))

    def test_a_cell_too_small_for_the_guest(self):
        outcome, answer = self.fit({"vcpus": 10, "memory_mb": 2048, "extra_specs": {
            "hw:cpu_policy": "dedicated"}})
        self.assertEqual(1, outcome.rc, outcome)
        self.assertFalse(answer["fits"])
        self.assertEqual("guest cell 0 (10 vCPUs, 2048 MiB) fits on no host cell",
                         answer["reason"])
        self.assertEqual([[1, 2, 3, 9, 10, 11], [4, 5, 6, 7, 12, 13, 14, 15]],
                         [c["free_pcpus"] for c in answer["host_cells"]])

    def test_more_guest_nodes_than_host_cells(self):
        outcome, answer = self.fit({"vcpus": 3, "memory_mb": 3072, "extra_specs": {
            "hw:numa_nodes": "3"}})
        self.assertEqual(1, outcome.rc)
        self.assertEqual("the guest asks for 3 NUMA nodes and the host has 2",
                         answer["reason"])

    def test_cells_that_fit_alone_but_not_together(self):
        outcome, answer = self.fit({"vcpus": 14, "memory_mb": 2048, "extra_specs": {
            "hw:cpu_policy": "dedicated", "hw:numa_nodes": "2"}})
        self.assertEqual(1, outcome.rc, outcome)
        self.assertIn("no assignment of the guest cells to distinct host cells",
                      answer["reason"])
        self.assertEqual([[1], [1]], [c["fits_alone_on"] for c in answer["guest_cells"]])

    def test_a_host_without_numa_topology(self):
        outcome, answer = self.fit({"vcpus": 2, "memory_mb": 1024, "extra_specs": {
            "hw:cpu_policy": "dedicated"}}, {"cells": []})
        self.assertEqual((1, "the host reports no NUMA topology"),
                         (outcome.rc, answer["reason"]))

    def test_require_needs_smt(self):
        host = {"cells": [cell(0, 0, smt=False)]}
        outcome, answer = self.fit({"vcpus": 2, "memory_mb": 1024, "extra_specs": {
            "hw:cpu_policy": "dedicated", "hw:cpu_thread_policy": "require"}}, host)
        self.assertEqual(1, outcome.rc)
        self.assertIn("needs a host with SMT sibling threads", answer["reason"])

    def test_pci_affinity_with_an_alias_on_the_command_line(self):
        host = dict(HOST, pci_pools=[{"count": 1, "numa_node": 0, "vendor_id": "8086",
                                      "product_id": "154d", "dev_type": "type-PF"}])
        alias = json.dumps({"name": "nic", "vendor_id": "8086", "product_id": "154d",
                            "device_type": "type-PF", "numa_policy": "required"})
        outcome, answer = self.fit({"vcpus": 2, "memory_mb": 1024, "extra_specs": {
            "hw:cpu_policy": "dedicated", "pci_passthrough:alias": "nic:1"}}, host,
            extra=("--pci-alias", alias))
        self.assertEqual(0, outcome.rc, outcome)
        self.assertEqual(0, answer["cells"][0]["host_cell"])  # where the device is

    def test_an_image_property_counts(self):
        outcome, answer = self.fit(
            {"vcpus": 2, "memory_mb": 1024, "extra_specs": {"hw:cpu_policy": "dedicated"}},
            image={"properties": {"hw_cpu_thread_policy": "isolate"}})
        # isolate: one thread of each free core, its sibling kept away from others.
        self.assertEqual(0, outcome.rc, outcome)
        self.assertEqual({"0": 4, "1": 5}, answer["cells"][0]["cpu_pinning"])

    # --- bad input: one line, status 2 ------------------------------------------------

    def assertOneLine(self, outcome, text: str) -> None:
        self.assertEqual(2, outcome.rc, outcome)
        self.assertEqual("", outcome.out)
        lines = outcome.err.strip().splitlines()
        self.assertEqual(1, len(lines), outcome.err)
        self.assertIn(text, lines[0])

    def test_missing_file(self):
        outcome = run_main(manage.main, ["numa", "fit", "--host", "/nonexistent.json",
                                         "--flavor", "/nonexistent2.json"])
        self.assertOneLine(outcome, "host file /nonexistent.json: No such file or directory")

    def test_not_json(self):
        outcome, _ = self.fit({"vcpus": 1, "memory_mb": 1}, host="{cells:")
        self.assertOneLine(outcome, "is not JSON")

    def test_a_host_cell_without_its_id(self):
        outcome, _ = self.fit({"vcpus": 1, "memory_mb": 1},
                              host={"cells": [{"cpuset": [0], "memory": 1024}]})
        self.assertOneLine(outcome, "host file")
        self.assertIn("id", outcome.err)

    def test_an_invalid_extra_spec_names_the_key(self):
        outcome, _ = self.fit({"vcpus": 2, "memory_mb": 1024, "extra_specs": {
            "hw:cpu_policy": "bogus"}})
        self.assertOneLine(outcome, "hw:cpu_policy")

    def test_an_undefined_pci_alias(self):
        outcome, _ = self.fit({"vcpus": 2, "memory_mb": 1024, "extra_specs": {
            "pci_passthrough:alias": "gpu:1"}})
        self.assertOneLine(outcome, "gpu")
