"""Provider config files (spec/E §4): loading and checking them, every invalid case
ending in one line that names the file, and merging them into a provider tree."""
from __future__ import annotations

import logging
import os
import tempfile

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute import provider_config
from nova_tx.compute.provider_config import ProviderConfigMerger, load_provider_configs
from nova_tx.compute.provider_tree import ProviderTree

RP_UUID = "3b6f7c9a-2f4e-4c1e-9a8b-0c1d2e3f4a5b"

EXAMPLE = """
meta:
  schema_version: '1.0'
providers:
  - identification:
      name: 'EXAMPLE_RESOURCE_PROVIDER'
    inventories:
      additional:
        - CUSTOM_EXAMPLE_RESOURCE_CLASS:
            total: 100
            reserved: 0
            min_unit: 1
            max_unit: 10
            step_size: 1
            allocation_ratio: 1.0
    traits:
      additional:
        - 'CUSTOM_EXAMPLE_TRAIT'
"""

COMPUTE_NODE = """
meta:
  schema_version: '1.0'
providers:
  - identification:
      uuid: '$COMPUTE_NODE'
    traits:
      additional: [CUSTOM_EVERY_NODE]
    inventories:
      additional:
        - CUSTOM_LICENSE: {total: 4}
"""


def provider_file(identification: str, body: str = "traits: {additional: [CUSTOM_T]}",
                  version: str = "1.0") -> str:
    return (f"meta: {{schema_version: '{version}'}}\n"
            f"providers:\n  - identification: {{{identification}}}\n    {body}\n")


class LoadTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nova-tx-provider-config-")
        self.addCleanup(__import__("shutil").rmtree, self.dir, True)

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assertInvalid(self, path: str, *problems: str) -> None:
        with self.assertRaises(exception.ProviderConfigException) as caught:
            load_provider_configs(self.dir)
        message = exception.one_line(caught.exception)
        self.assertIn(path, message)
        for problem in problems:
            self.assertIn(problem, message)
        self.assertNotIn("\n", caught.exception.format_message())

    def test_example(self):
        path = self.write("example.yaml", EXAMPLE)
        configs = load_provider_configs(self.dir)
        self.assertEqual(["EXAMPLE_RESOURCE_PROVIDER"], list(configs))
        provider = configs["EXAMPLE_RESOURCE_PROVIDER"]
        self.assertEqual(path, provider["__source_file"])
        self.assertEqual(["CUSTOM_EXAMPLE_TRAIT"], provider["traits"]["additional"])

    def test_missing_or_empty_directory_is_no_config(self):
        self.assertEqual({}, load_provider_configs(self.dir))
        self.assertEqual({}, load_provider_configs(os.path.join(self.dir, "missing")))
        self.write("notes.txt", "not yaml: [")
        self.assertEqual({}, load_provider_configs(self.dir))

    def test_files_are_read_in_order_and_by_uuid_name_or_compute_node(self):
        self.write("b.yaml", provider_file(f"uuid: '{RP_UUID}'"))
        self.write("a.yaml", provider_file("name: cn1"))
        self.write("c.yaml", COMPUTE_NODE)
        self.assertEqual(["cn1", RP_UUID, "$COMPUTE_NODE"],
                         list(load_provider_configs(self.dir)))

    def test_unknown_minor_version_warns_and_loads(self):
        self.write("a.yaml", provider_file("name: cn1", version="1.5"))
        with self.assertLogs(provider_config.LOG, logging.WARNING) as logs:
            self.assertEqual(["cn1"], list(load_provider_configs(self.dir)))
        self.assertIn("Some fields may be ignored", logs.output[0])

    def test_provider_without_additions_is_ignored(self):
        self.write("a.yaml", provider_file("name: cn1", body="traits: {}"))
        with self.assertLogs(provider_config.LOG, logging.WARNING):
            self.assertEqual({}, load_provider_configs(self.dir))

    def test_invalid_files(self):
        cases = [
            ("yaml.yaml", "meta: [\n", ("is not valid YAML",)),
            ("scalar.yaml", "just text\n", ("must be a YAML mapping",)),
            ("nometa.yaml", "providers: []\n", ("unable to detect schema version",)),
            ("badversion.yaml", "meta: {schema_version: 'one'}\n",
             ("unable to detect schema version",)),
            ("major.yaml", provider_file("name: cn1", version="2.0"),
             ("unsupported schema major version: 2",)),
            ("noident.yaml", "meta: {schema_version: '1.0'}\nproviders: [{traits: {}}]\n",
             ("did not pass validation", "identification")),
            ("twoident.yaml", provider_file(f"name: cn1, uuid: '{RP_UUID}'"),
             ("did not pass validation", "providers/0/identification")),
            ("badident.yaml", provider_file("host: cn1"), ("did not pass validation",)),
            ("baduuid.yaml", provider_file("uuid: 'not-a-uuid'"),
             ("did not pass validation",)),
            ("longname.yaml", provider_file("name: '" + "x" * 201 + "'"),
             ("did not pass validation",)),
            ("source.yaml", "meta: {schema_version: '1.0'}\n__source_file: x\n",
             ("did not pass validation",)),
            ("badtrait.yaml", provider_file("name: cn1",
                                            "traits: {additional: ['lower_case']}"),
             ("did not pass validation",)),
            ("stdtrait.yaml", provider_file("name: cn1",
                                            "traits: {additional: [HW_CPU_X86_AVX]}"),
             ("Invalid traits, only custom traits are allowed: ['HW_CPU_X86_AVX']",)),
            ("stdrc.yaml", provider_file("name: cn1",
                                         "inventories: {additional: [{VCPU: {total: 1}}]}"),
             ("Invalid resource class, only custom resource classes are allowed: VCPU",)),
            ("nototal.yaml", provider_file(
                "name: cn1", "inventories: {additional: [{CUSTOM_X: {reserved: 1}}]}"),
             ("did not pass validation", "'total' is a required property")),
            ("badfield.yaml", provider_file(
                "name: cn1", "inventories: {additional: [{CUSTOM_X: {total: 1, "
                "colour: 2}}]}"), ("did not pass validation",)),
            ("badtotal.yaml", provider_file(
                "name: cn1", "inventories: {additional: [{CUSTOM_X: {total: many}}]}"),
             ("did not pass validation",)),
        ]
        for name, text, problems in cases:
            path = self.write(name, text)
            try:
                self.assertInvalid(path, *problems)
            finally:
                os.remove(path)

    def test_same_provider_in_two_files(self):
        first = self.write("a.yaml", provider_file("name: cn1"))
        second = self.write("b.yaml", provider_file("name: cn1"))
        self.assertInvalid(second, "Provider cn1 has multiple definitions", first)


class MergeTest(unittest.TestCase):
    def setUp(self):
        self.tree = ProviderTree()
        for name in ("cn1", "cn2"):
            self.tree.new_root(name, f"uuid-{name}")
            self.tree.update_inventory(name, {"VCPU": {"total": 8}})
            self.tree.add_traits(name, "COMPUTE_NODE", "HW_CPU_HYPERTHREADING")
        self.tree.new_root("other", "uuid-other")
        self.merger = ProviderConfigMerger()

    def configs(self, **providers) -> dict:
        return {key: {**value, "__source_file": "/etc/nova/provider_config/x.yaml"}
                for key, value in providers.items()}

    def test_compute_node_applies_to_nodes_not_named_explicitly(self):
        configs = self.configs(**{
            "$COMPUTE_NODE": {"traits": {"additional": ["CUSTOM_ALL"]},
                              "inventories": {"additional": [{"CUSTOM_L": {"total": 4}}]}},
            "cn2": {"traits": {"additional": ["CUSTOM_TWO"]}},
        })
        self.merger.merge(configs, self.tree)
        self.assertEqual({"COMPUTE_NODE", "HW_CPU_HYPERTHREADING", "CUSTOM_ALL"},
                         self.tree.data("cn1").traits)
        self.assertEqual({"VCPU", "CUSTOM_L"}, set(self.tree.data("cn1").inventory))
        self.assertEqual({"COMPUTE_NODE", "HW_CPU_HYPERTHREADING", "CUSTOM_TWO"},
                         self.tree.data("cn2").traits)
        self.assertEqual({"VCPU"}, set(self.tree.data("cn2").inventory))
        self.assertEqual(set(), self.tree.data("other").traits)
        # The next update: the driver sets its inventory again (the file's goes), and
        # the file's own traits, still in the tree, are not "owned" by anyone else.
        self.tree.update_inventory("cn1", {"VCPU": {"total": 8}})
        self.merger.merge(configs, self.tree)
        self.assertEqual({"VCPU", "CUSTOM_L"}, set(self.tree.data("cn1").inventory))

    def test_by_uuid_and_absent_provider(self):
        configs = self.configs(**{"uuid-other": {"traits": {"additional": ["CUSTOM_O"]}},
                                  "gone": {"traits": {"additional": ["CUSTOM_G"]}}})
        with self.assertLogs(provider_config.LOG, logging.WARNING) as logs:
            self.merger.merge(configs, self.tree)
            self.merger.merge(configs, self.tree)
        self.assertEqual(1, len(logs.output))      # warned once
        self.assertEqual({"CUSTOM_O"}, self.tree.data("other").traits)

    def test_same_provider_by_name_and_uuid(self):
        configs = self.configs(cn1={"traits": {"additional": ["CUSTOM_A"]}},
                               **{"uuid-cn1": {"traits": {"additional": ["CUSTOM_B"]}}})
        with self.assertRaises(exception.ProviderConfigException) as caught:
            self.merger.merge(configs, self.tree)
        self.assertIn("x.yaml", caught.exception.format_message())
        self.assertIn("uuid-cn1", caught.exception.format_message())

    def test_inventory_owned_by_the_driver(self):
        configs = self.configs(cn1={"inventories": {"additional": [
            {"VCPU": {"total": 1}}]}})
        with self.assertRaises(exception.ProviderConfigException) as caught:
            self.merger.merge(configs, self.tree)
        self.assertIn("owned by the virt driver", caught.exception.format_message())

    def test_trait_added_by_someone_else_later(self):
        configs = self.configs(cn1={"traits": {"additional": ["CUSTOM_A", "CUSTOM_B"]}})
        self.merger.merge(configs, self.tree)
        # The API or another tool sets a trait of the same name after a merge that
        # did not have it: the file may not claim it.
        self.merger.provider_traits["uuid-cn1"] = {"CUSTOM_A"}
        with self.assertRaises(exception.ProviderConfigException) as caught:
            self.merger.merge(configs, self.tree)
        self.assertIn("CUSTOM_B", caught.exception.format_message())
