"""Our default policy against Nova 26's, rule for rule.

The reference sample (``../shared/reference/nova-zed-policy.yaml.sample``) is read at
test time. Names, check strings, scope types, operations and deprecated rules must be
the same; the prose (descriptions, deprecation reasons) is ours and must not be Nova's.
"""
from __future__ import annotations

import configparser
import difflib
import importlib.metadata
import os
import re
import subprocess
import sys

from oslo_policy import generator, policy
from twisted.trial import unittest

from nova_tx import policies
from tests.helpers import in_ci, unavailable
from tests.unit import policy_sample

SAMPLE_MISSING = not os.path.exists(policy_sample.SAMPLE_PATH)


def _facts(text: str) -> list[str]:
    """The lines of a generated sample that are not prose."""
    facts: list[str] = []
    for paragraph in policy_sample._paragraphs(text):
        if policy_sample._RULE_LINE.match(paragraph[-1]):
            if paragraph[0] == "# DEPRECATED":
                facts.extend(paragraph[:2])
            facts.extend(line for line in paragraph if (
                policy_sample._OPERATION_LINE.match(line)
                or policy_sample._SCOPE_LINE.match(line)
                or policy_sample._RULE_LINE.match(line)))
        elif paragraph[0] == "# DEPRECATED":
            end = next(i for i, line in enumerate(paragraph) if line.endswith('".'))
            facts.extend(paragraph[:end + 1])
            facts.extend(line for line in paragraph[end + 1:] if (
                line.startswith(("# WARNING", "#          "))
                or policy_sample._ALIAS_LINE.match(line)))
        else:
            facts.extend(paragraph)
        facts.append("")
    return facts


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


class SampleReaderTest(unittest.SynchronousTestCase):
    """The reader of the sample understands the generator's output (so the
    comparisons below compare what they mean to)."""

    def test_reads_what_oslo_policy_writes(self):
        rule = policy.DocumentedRuleDefault(
            name="os_compute_api:os-example-things-with-long-names:create",
            check_str="rule:project_member_or_admin",
            description="A description.\n\nWith a second paragraph.",
            operations=[{"method": "POST", "path": "/things"},
                        {"method": "POST", "path": "/things/{id}/action (frob)"}],
            scope_types=["project"],
            deprecated_rule=policy.DeprecatedRule(
                name="os_compute_api:os-example-things-with-long-names",
                check_str="is_admin:True or project_id:%(project_id)s",
                deprecated_reason="Because.", deprecated_since="21.0.0"))
        [parsed] = policy_sample.parse_sample(generator._format_rule_default_yaml(rule))
        self.assertEqual(parsed.name, rule.name)
        self.assertEqual(parsed.check_str, rule.check_str)
        self.assertEqual(parsed.scope_types, ["project"])
        self.assertEqual(parsed.operations, rule.operations)
        self.assertEqual(parsed.deprecated, (
            "os_compute_api:os-example-things-with-long-names",
            "is_admin:True or project_id:%(project_id)s", "21.0.0"))
        self.assertEqual(parsed.description, "A description. With a second paragraph.")


class DefaultsMatchZedTest(unittest.SynchronousTestCase):
    if SAMPLE_MISSING and not in_ci():
        skip = f"no reference sample at {policy_sample.SAMPLE_PATH}"

    def setUp(self):
        self.sample = policy_sample.load_sample()
        self.by_name = {rule.name: rule for rule in self.sample}
        self.ours = policies.list_rules()
        self.our_by_name = {rule.name: rule for rule in self.ours}

    def test_the_sample_is_whole(self):
        # Nova 26 has 201 rules, 71 of them with a deprecated rule.
        self.assertEqual(len(self.sample), 201)
        self.assertEqual(sum(1 for rule in self.sample if rule.deprecated), 71)

    def test_same_names_in_the_same_order(self):
        self.assertEqual(len(self.our_by_name), len(self.ours), "a name is listed twice")
        self.assertEqual([rule.name for rule in self.ours],
                         [rule.name for rule in self.sample])

    def test_same_check_strings(self):
        for name, theirs in self.by_name.items():
            self.assertEqual(self.our_by_name[name].check_str, theirs.check_str, name)

    def test_same_scope_types(self):
        for name, theirs in self.by_name.items():
            self.assertEqual(self.our_by_name[name].scope_types, theirs.scope_types, name)

    def test_same_operations(self):
        for name, theirs in self.by_name.items():
            ours = getattr(self.our_by_name[name], "operations", [])
            self.assertEqual(ours, theirs.operations, name)

    def test_same_deprecated_rules(self):
        for name, theirs in self.by_name.items():
            ours = self.our_by_name[name].deprecated_rule
            if theirs.deprecated is None:
                self.assertIsNone(ours, name)
                continue
            self.assertIsNotNone(ours, name)
            since = ours.deprecated_since or self.our_by_name[name].deprecated_since
            self.assertEqual((ours.name, ours.check_str, since), theirs.deprecated, name)
            self.assertTrue(ours.deprecated_reason, name)

    def test_same_rules_deprecated_for_removal(self):
        for name, theirs in self.by_name.items():
            ours = self.our_by_name[name]
            self.assertEqual(ours.deprecated_for_removal, theirs.removal_since is not None,
                             name)
            if theirs.removal_since:
                self.assertEqual(ours.deprecated_since, theirs.removal_since, name)
                self.assertTrue(ours.deprecated_reason, name)

    def test_generated_sample_says_the_same_but_the_prose(self):
        """What oslopolicy-sample-generator writes for our rules equals the reference
        line for line, once descriptions and reasons are left out."""
        with open(policy_sample.SAMPLE_PATH, encoding="utf-8") as f:
            theirs = _facts(f.read())
        ours = _facts("".join(generator._format_rule_default_yaml(rule)
                              for rule in self.ours))
        if ours != theirs:
            diff = "\n".join(difflib.unified_diff(theirs, ours, "zed", "nova-tx",
                                                  lineterm="", n=2))
            self.fail("the generated sample differs from Zed's:\n" + diff)

    def test_descriptions_are_our_own(self):
        for rule in self.ours:
            self.assertTrue(rule.description, rule.name)
            theirs = _words(self.by_name[rule.name].description)
            self.assertNotEqual(_words(rule.description), theirs, rule.name)
            if rule.deprecated_reason:
                self.assertNotIn(_words(rule.deprecated_reason), theirs, rule.name)


class SampleGeneratorTest(unittest.SynchronousTestCase):
    """``oslopolicy-sample-generator --config-file etc/nova/nova-policy-generator.conf``."""

    def test_generator_config_names_our_namespace(self):
        parser = configparser.ConfigParser()
        parser.read(os.path.join(policy_sample.REPO, "etc", "nova",
                                 "nova-policy-generator.conf"))
        self.assertEqual(parser["DEFAULT"]["namespace"], "nova_tx")
        self.assertEqual(parser["DEFAULT"]["format"], "yaml")

    def test_entry_points_when_installed(self):
        eps = importlib.metadata.entry_points()
        found = {ep.group: ep for ep in eps.select(name="nova_tx")
                 if ep.group.startswith("oslo.policy.")}
        if not found:
            unavailable("the installed nova-tx predates the policy entry points; "
                        "reinstall (pip install -e .) to check them")
        self.assertEqual(found["oslo.policy.policies"].value, "nova_tx.policies:list_rules")
        self.assertEqual(found["oslo.policy.enforcer"].value, "nova_tx.policy:get_enforcer")
        self.assertEqual(len(found["oslo.policy.policies"].load()()), 201)

    def _entry_points_installed(self) -> bool:
        return any(ep.name == "nova_tx" for ep in importlib.metadata.entry_points(
            group="oslo.policy.policies"))

    def _probe_path(self) -> str:
        """A directory whose dist-info declares our entry points, for a checkout whose
        installed metadata predates them."""
        base = os.path.abspath(self.mktemp())
        info = os.path.join(base, "nova_tx_policy_probe-0.dist-info")
        os.makedirs(info)
        with open(os.path.join(info, "METADATA"), "w") as f:
            f.write("Metadata-Version: 2.1\nName: nova-tx-policy-probe\nVersion: 0\n")
        with open(os.path.join(info, "entry_points.txt"), "w") as f:
            f.write("[oslo.policy.policies]\nnova_tx = nova_tx.policies:list_rules\n\n"
                    "[oslo.policy.enforcer]\nnova_tx = nova_tx.policy:get_enforcer\n")
        return base

    def test_committed_sample_is_what_the_generator_writes(self):
        """``etc/nova/policy.yaml.sample`` is current: regenerate it with
        ``oslopolicy-sample-generator --config-file etc/nova/nova-policy-generator.conf``."""
        tool = os.path.join(os.path.dirname(sys.executable), "oslopolicy-sample-generator")
        if not os.path.exists(tool):
            unavailable("oslopolicy-sample-generator is not installed")
        env = dict(os.environ)
        if not self._entry_points_installed():
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (self._probe_path(), env.get("PYTHONPATH")) if p)
        out = os.path.abspath(self.mktemp())
        subprocess.run([tool, "--config-file", "etc/nova/nova-policy-generator.conf",
                        "--output-file", out], cwd=policy_sample.REPO, env=env, check=True,
                       capture_output=True, timeout=120)
        with open(out) as f:
            generated = f.read()
        with open(os.path.join(policy_sample.REPO, "etc", "nova", "policy.yaml.sample")) as f:
            committed = f.read()
        self.assertEqual(committed, generated)
        self.assertEqual(len(policy_sample.parse_sample(generated)), 201)

    def test_policy_generator_shows_the_effective_policy(self):
        """``oslopolicy-policy-generator --namespace nova_tx --config-file nova.conf``
        goes through our ``oslo.policy.enforcer`` entry point and reads the policy file
        that nova.conf names."""
        tool = os.path.join(os.path.dirname(sys.executable), "oslopolicy-policy-generator")
        if not os.path.exists(tool):
            unavailable("oslopolicy-policy-generator is not installed")
        env = dict(os.environ)
        if not self._entry_points_installed():
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (self._probe_path(), env.get("PYTHONPATH")) if p)
        base = os.path.abspath(self.mktemp())
        os.makedirs(base)
        with open(os.path.join(base, "policy.yaml"), "w") as f:
            f.write('"os_compute_api:os-services:list": "role:reader"\n')
        with open(os.path.join(base, "nova.conf"), "w") as f:
            f.write(f"[oslo_policy]\npolicy_file = {base}/policy.yaml\n")
        result = subprocess.run(
            [tool, "--namespace", "nova_tx", "--config-file", f"{base}/nova.conf"],
            cwd=base, env=env, check=True, capture_output=True, text=True, timeout=120)
        self.assertIn('"os_compute_api:os-services:list": "role:reader"', result.stdout)
        self.assertIn('"os_compute_api:os-services:update": "rule:context_is_admin"',
                      result.stdout)

    def test_sample_renders_every_rule(self):
        text = "".join(generator._format_rule_default_yaml(rule)
                       for rule in policies.list_rules())
        self.assertEqual(len(policy_sample.parse_sample(text)), len(policies.list_rules()))
