"""Microversion 2.86's extra-spec validation, key by key (``nova_tx.api.validation.
extra_specs``): every registered validator accepts a good value and refuses a bad one
with Nova's message, every key of spec E §1 and F §12.3 is known, unknown keys in
Nova's namespaces are refused and other namespaces are free."""
from __future__ import annotations

import re

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.api.validation import extra_specs
from nova_tx.api.validation.extra_specs.base import BOOL, INT

# A value each patterned string validator accepts, and one it refuses.
PATTERN_EXAMPLES = {
    "hw:cpu_realtime_mask": ("^0-1", "0-"),
    "hw:cpu_dedicated_mask": ("0-3,^2", "all"),
    "hw:numa_cpus.{id}": ("0,1-3", "0;1"),
    "hw:mem_page_size": ("2MiB", "huge"),
    "hw:pmem": ("SMALL,LARGE", "a b"),
    "pci_passthrough:alias": ("a1:2, a2:1", "a1"),
    "powervm:proc_units": ("0.5", "1"),
    "powervm:min_proc_units": ("0.5", "1"),
    "powervm:max_proc_units": ("0.5", "1"),
}
PARAMETER_VALUES = {"id": "1", "group": "_grp1", "resource": "FOO", "trait": "BAR",
                    "filter": ":key", "key": "ssd"}

#: Keys spec/E §1 and spec/F §12.3 name (with E D5's ``hw:cpu_max_*``).
SPEC_KEYS = [
    "hw:cpu_policy", "hw:cpu_thread_policy", "hw:emulator_threads_policy",
    "hw:cpu_dedicated_mask", "hw:cpu_realtime", "hw:cpu_realtime_mask",
    "hw:numa_nodes", "hw:numa_cpus.0", "hw:numa_mem.1", "hw:mem_page_size",
    "hw:locked_memory", "hw:cpu_sockets", "hw:cpu_cores", "hw:cpu_threads",
    "hw:cpu_max_sockets", "hw:cpu_max_cores", "hw:cpu_max_threads",
    "pci_passthrough:alias", "hw:pci_numa_affinity_policy", "hw:viommu_model",
    "resources:VCPU", "resources1:PCPU", "resources:CUSTOM_BAREMETAL_SMALL",
    "resources:VGPU", "trait:HW_CPU_HYPERTHREADING", "trait1:CUSTOM_PHYSNET_NET1",
    "group_policy", "hw:pmem", "hw:tpm_version", "hw:tpm_model", "os:secure_boot",
    "hw:mem_encryption", "quota:vif_outbound_peak", "hw:watchdog_action",
    "hw_rng:allowed", "hw_rng:rate_bytes", "hw_rng:rate_period", "hw:pmu",
    "hw:hide_hypervisor_id", "hw:vif_multiqueue_enabled", "hw_video:ram_max_mb",
    "hw:ephemeral_encryption", "hw:ephemeral_encryption_format",
]


def concrete_name(validator) -> str:
    name = validator.name
    for param in validator.parameters:
        name = name.replace("{%s}" % param["name"], PARAMETER_VALUES[param["name"]])
    return name


def good_and_bad(validator) -> tuple[str, str | None]:
    value = validator.value
    if value["type"] == BOOL:
        return "Yes", "maybe"
    if value["type"] == INT:
        return str(value.get("min", 0)), "1.5"
    if "pattern" in value:
        return PATTERN_EXAMPLES[validator.name]
    if "enum" in value:
        return value["enum"][-1], "bogus"
    return "anything <in> at all", None


class ValidatorTests(unittest.SynchronousTestCase):
    def assertRefused(self, key: str, value: str, message: str | None = None):
        with self.assertRaises(exception.ValidationError) as caught:
            extra_specs.validate(key, value)
        self.assertEqual(400, caught.exception.code)
        text = caught.exception.format_message()
        self.assertTrue(text.startswith("Validation failed; "), text)
        if message is not None:
            self.assertEqual(message, text)

    def test_every_validator(self):
        self.assertGreater(len(extra_specs.VALIDATORS), 500)
        for validator in extra_specs.VALIDATORS.values():
            name = concrete_name(validator)
            good, bad = good_and_bad(validator)
            extra_specs.validate(name, good)
            if bad is not None:
                self.assertRefused(name, bad)

    def test_spec_keys_are_known(self):
        for key in SPEC_KEYS:
            matching = [v for v in extra_specs.VALIDATORS.values() if v.matches(key)]
            self.assertTrue(matching, key)

    def test_messages(self):
        self.assertRefused("hw:cpu_policy", "bogus",
                           "Validation failed; 'bogus' is not one of: dedicated, shared, "
                           "mixed.")
        self.assertRefused("hw:numa_nodes", "x",
                           "Validation failed; 'x' is not a valid integer value.")
        self.assertRefused("hw:numa_nodes", "0",
                           "Validation failed; '0' is less than the min value of '1'.")
        self.assertRefused("powervm:shared_weight", "256",
                           "Validation failed; '256' is greater than the max value of "
                           "'255'.")
        self.assertRefused("hw:cpu_realtime", "sometimes",
                           "Validation failed; 'sometimes' is not a valid boolean-like "
                           "value.")
        self.assertRefused("pci_passthrough:alias", "a1",
                           "Validation failed; 'a1' is not of the format "
                           "'[^:]+:\\d+(?:\\s*,\\s*[^:]+:\\d+)*'.")
        self.assertRefused("hw:bogus", "1",
                           "Validation failed; extra spec 'hw:bogus' does not appear to be "
                           "a valid extra spec.")

    def test_namespaces(self):
        for key in ("hw:bogus", "hw_rng:bogus", "hw_video:bogus", "os:bogus", "quota:bogus",
                    "accel:bogus", "pci_passthrough:bogus", "powervm:bogus", "vmware:bogus",
                    "capabilities:bogus", "resources:lowercase", "resources1:CUSTOM_lower",
                    "trait:NOT_A_TRAIT", "trait_x:HW_CPU_X86_AVX",
                    # spec/E D5: Zed's mistaken name is not registered.
                    "hw:max_cpu_sockets"):
            self.assertRefused(key, "1")
        # A group suffix longer than 64 makes a namespace Nova does not know (as in Nova).
        for key in ("my_ns:anything", "hide_hypervisor_id", "no_namespace", "hw-ish:x",
                    "CUSTOM:x", "resources" + "9" * 65 + ":VCPU"):
            extra_specs.validate(key, "true")

    def test_values_of_note(self):
        # spec/F §15.3: "optional" accepted for os:secure_boot.
        extra_specs.validate("os:secure_boot", "optional")
        self.assertRefused("os:secure_boot", "sometimes")
        # spec/E §1.5: one page-size parser at both layers.
        for good in ("small", "large", "any", "2048", "2MB", "2MiB", "1GiB", "2Mb", "4KB"):
            extra_specs.validate("hw:mem_page_size", good)
        for bad in ("2M", "1G", "4k", "2mb", "2 MB", "foo"):
            self.assertRefused("hw:mem_page_size", bad)
        # Granular group suffixes are upstream's [a-zA-Z0-9_-]{1,64} (spec/F §15.5).
        extra_specs.validate("resourcesABC-1_x:VCPU", "2")
        extra_specs.validate("trait_abc:HW_CPU_X86_AVX", "forbidden")
        self.assertRefused("trait:HW_CPU_X86_AVX", "maybe")
        self.assertRefused("group_policy", "sometimes")
        extra_specs.validate("capabilities:cpu_info:features", "<in> aes")
        extra_specs.validate("aggregate_instance_extra_specs:ssd", "true")
        extra_specs.validate("quota:cpu_shares_level", "custom")

    def test_namespace_patterns(self):
        self.assertEqual({"accel", "aggregate_instance_extra_specs", "capabilities", "hw",
                          "hw_rng", "hw_video", "os", "pci_passthrough", "powervm", "quota",
                          "vmware"},
                         {n for n in extra_specs.NAMESPACES if re.fullmatch(r"[a-z_]+", n)})
