"""Policy decisions: who may do what under Nova 26's defaults and the two switches.

The personas are the ones the compute API cares about: the admin, a member and a
reader of the project that owns the resource, a member of another project, and an
admin whose token is system-scoped. The expected answers are written from the check
strings of Zed's sample (read at test time), not from our code, and every API rule is
asked with ``enforce_new_defaults`` and ``enforce_scope`` each off and on.
"""
from __future__ import annotations

import os

from oslo_config import cfg
from oslo_policy import policy as oslo_policy
from twisted.trial import unittest

from nova_tx import context, exception, policy
from tests.helpers import in_ci
from tests.unit import policy_sample

OWNER = "owner-project"
OTHER = "other-project"

PERSONAS = {
    "admin": dict(user_id="admin-user", project_id=OWNER,
                  roles=["admin", "member", "reader"]),
    "member": dict(user_id="member-user", project_id=OWNER, roles=["member", "reader"]),
    "reader": dict(user_id="reader-user", project_id=OWNER, roles=["reader"]),
    "other_member": dict(user_id="other-user", project_id=OTHER,
                         roles=["member", "reader"]),
    "system_admin": dict(user_id="system-user", project_id=None, system_scope="all",
                         roles=["admin", "member", "reader"]),
}
EVERYONE = frozenset(PERSONAS)
NOBODY: frozenset[str] = frozenset()
ADMINS = frozenset({"admin", "system_admin"})
OWNER_ROLES = frozenset({"admin", "member", "reader"})

KEYPAIR_CHECK = "(rule:context_is_admin) or user_id:%(user_id)s"

#: Who passes each Zed check string with enforce_new_defaults on (and enforce_scope
#: off), for a resource of OWNER whose user is the caller.
NEW_DEFAULTS = {
    "rule:context_is_admin": ADMINS,
    "rule:project_member_or_admin": ADMINS | {"member"},
    "rule:project_reader_or_admin": ADMINS | {"member", "reader"},
    # The reader role on the owning project, admin or not: a system token has none.
    "rule:project_reader_api": OWNER_ROLES,
    "@": EVERYONE,
    "!": NOBODY,
    # A key pair is its user's: the target names the caller here.
    KEYPAIR_CHECK: EVERYONE,
}

#: The same with enforce_new_defaults off: each rule also passes its deprecated check
#: string, and so do the base rules (``project_*`` fall back to ``admin_or_owner``,
#: ``context_is_admin`` to ``is_admin:True``), so any role on the owning project does
#: what a member does.
OLD_DEFAULTS = {
    "rule:context_is_admin": ADMINS,
    "rule:project_member_or_admin": ADMINS | {"member", "reader"},
    "rule:project_reader_or_admin": ADMINS | {"member", "reader"},
    # admin_or_owner is "is_admin:True or project_id:...": the system admin passes.
    "rule:project_reader_api": ADMINS | {"member", "reader"},
    "@": EVERYONE,
    "!": NOBODY,
    KEYPAIR_CHECK: EVERYONE,
}


def make_conf(test: unittest.SynchronousTestCase, policy_file: str | None = None,
              **overrides) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    policy.register_opts(conf)
    conf([], default_config_files=[], default_config_dirs=[])
    if policy_file is None:
        policy_file = os.path.join(os.path.abspath(test.mktemp()), "policy.yaml")
    conf.set_override("policy_file", policy_file, group="oslo_policy")
    for name, value in overrides.items():
        conf.set_override(name, value, group="oslo_policy")
    return conf


def persona(name: str) -> context.RequestContext:
    return context.RequestContext(**PERSONAS[name])


def owner_target(ctx: context.RequestContext) -> dict:
    return {"project_id": OWNER, "user_id": ctx.user_id}


class PolicyTestCase(unittest.SynchronousTestCase):
    def use(self, **overrides) -> cfg.ConfigOpts:
        conf = make_conf(self, **overrides)
        policy.init(conf)
        self.addCleanup(policy.reset)
        return conf


class OptionsTest(PolicyTestCase):
    def test_zed_defaults(self):
        conf = make_conf(self)
        # The reference sample's default (newer oslo.policy); docs/decisions.md.
        self.assertTrue(conf.oslo_policy.enforce_new_defaults)
        self.assertFalse(conf.oslo_policy.enforce_scope)
        fresh = cfg.ConfigOpts()
        policy.register_opts(fresh)
        self.assertEqual(fresh.oslo_policy.policy_file, "policy.yaml")
        self.assertEqual(fresh.oslo_policy.policy_dirs, ["policy.d"])

    def test_list_opts_has_both_switches(self):
        [(group, opts)] = policy.list_opts()
        self.assertEqual(group, "oslo_policy")
        defaults = {opt.name: opt.default for opt in opts}
        self.assertIs(defaults["enforce_new_defaults"], True)
        self.assertIs(defaults["enforce_scope"], False)
        self.assertEqual(defaults["policy_file"], "policy.yaml")


class DecisionMatrixTest(PolicyTestCase):
    """Every API rule of Zed's sample, every persona, both switches each way."""

    if not os.path.exists(policy_sample.SAMPLE_PATH) and not in_ci():
        skip = f"no reference sample at {policy_sample.SAMPLE_PATH}"

    def expected(self, rule: policy_sample.SampleRule, persona_name: str,
                 new_defaults: bool, scope: bool) -> bool:
        table = NEW_DEFAULTS if new_defaults else OLD_DEFAULTS
        self.assertIn(rule.check_str, table, f"no expectation for {rule.name}")
        if not new_defaults and rule.deprecated:
            # Every deprecated check string of Zed's API rules is admin_or_owner
            # or admin_api, which the base rules' fallbacks already cover.
            self.assertIn(rule.deprecated[1], ("rule:admin_or_owner", "rule:admin_api"))
            if rule.deprecated[1] == "rule:admin_or_owner":
                table = {rule.check_str: table[rule.check_str] | ADMINS
                         | {"member", "reader"}}
        allowed = persona_name in table[rule.check_str]
        if scope and rule.scope_types and persona_name == "system_admin":
            allowed = False
        return allowed

    def check_matrix(self, new_defaults: bool, scope: bool) -> None:
        self.use(enforce_new_defaults=new_defaults, enforce_scope=scope)
        rules = [r for r in policy_sample.load_sample() if r.operations]
        self.assertEqual(len(rules), 194)
        wrong = []
        for rule in rules:
            for name in PERSONAS:
                ctx = persona(name)
                got = ctx.can(rule.name, owner_target(ctx), fatal=False)
                want = self.expected(rule, name, new_defaults, scope)
                if bool(got) != want:
                    wrong.append(f"{rule.name} {name}: got {got}, want {want}")
        self.assertEqual(wrong, [])

    def test_old_defaults_scope_not_enforced(self):
        self.check_matrix(new_defaults=False, scope=False)

    def test_old_defaults_scope_enforced(self):
        self.check_matrix(new_defaults=False, scope=True)

    def test_new_defaults_scope_not_enforced(self):
        self.check_matrix(new_defaults=True, scope=False)

    def test_new_defaults_scope_enforced(self):
        self.check_matrix(new_defaults=True, scope=True)


class ProjectIsolationTest(PolicyTestCase):
    """Named cases, readable on their own."""

    def test_member_of_another_project_is_refused(self):
        for new_defaults in (False, True):
            self.use(enforce_new_defaults=new_defaults)
            other = persona("other_member")
            for action in ("os_compute_api:servers:show", "os_compute_api:servers:delete",
                           "os_compute_api:os-quota-sets:show"):
                self.assertFalse(other.can(action, {"project_id": OWNER}, fatal=False))
                self.assertTrue(other.can(action, {"project_id": OTHER}, fatal=False))

    def test_reader_reads_but_writes_only_under_old_defaults(self):
        reader = persona("reader")
        target = {"project_id": OWNER}
        self.use(enforce_new_defaults=True)
        self.assertTrue(reader.can("os_compute_api:servers:show", target))
        self.assertFalse(reader.can("os_compute_api:servers:create", target, fatal=False))
        policy.reset()
        self.use(enforce_new_defaults=False)
        self.assertTrue(reader.can("os_compute_api:servers:create", target))

    def test_any_role_on_the_project_is_the_owner_under_old_defaults(self):
        ctx = context.RequestContext(user_id="u", project_id=OWNER, roles=["observer"])
        target = {"project_id": OWNER}
        self.use(enforce_new_defaults=False)
        self.assertTrue(ctx.can("os_compute_api:servers:delete", target))
        policy.reset()
        self.use(enforce_new_defaults=True)
        self.assertFalse(ctx.can("os_compute_api:servers:delete", target, fatal=False))

    def test_admin_of_any_project_is_admin(self):
        self.use(enforce_new_defaults=True)
        admin = context.RequestContext(user_id="a", project_id=OTHER, roles=["admin"])
        self.assertTrue(admin.can("os_compute_api:servers:delete", {"project_id": OWNER}))
        self.assertTrue(admin.can("os_compute_api:os-services:list"))

    def test_key_pairs_belong_to_users(self):
        self.use(enforce_new_defaults=True)
        member = persona("member")
        mine = {"user_id": member.user_id}
        theirs = {"user_id": "someone-else"}
        self.assertTrue(member.can("os_compute_api:os-keypairs:show", mine))
        self.assertFalse(member.can("os_compute_api:os-keypairs:show", theirs, fatal=False))
        self.assertTrue(persona("admin").can("os_compute_api:os-keypairs:show", theirs))

    def test_default_target_is_the_callers_project_and_user(self):
        self.use()
        member = persona("member")
        self.assertEqual(policy.default_target(member),
                         {"project_id": OWNER, "user_id": "member-user"})
        self.assertTrue(member.can("os_compute_api:servers:create"))
        self.assertTrue(member.can("os_compute_api:os-keypairs:create"))

    def test_is_admin_flag_counts_under_old_defaults_only(self):
        # Nova's admin context (get_admin_context) has is_admin but no roles.
        ctx = context.RequestContext(is_admin=True)
        self.use(enforce_new_defaults=False)
        self.assertTrue(ctx.can("os_compute_api:os-services:list"))
        policy.reset()
        self.use(enforce_new_defaults=True)
        self.assertFalse(ctx.can("os_compute_api:os-services:list", fatal=False))

    def test_system_scope_is_refused_when_scope_is_enforced(self):
        system_admin = persona("system_admin")
        self.use(enforce_scope=False)
        self.assertTrue(system_admin.can("os_compute_api:os-services:list"))
        policy.reset()
        self.use(enforce_scope=True)
        self.assertFalse(system_admin.can("os_compute_api:os-services:list", fatal=False))
        error = self.assertRaises(exception.PolicyNotAuthorized, system_admin.can,
                                  "os_compute_api:os-services:list")
        self.assertEqual(error.code, 403)
        # A project-scoped admin is unaffected.
        self.assertTrue(persona("admin").can("os_compute_api:os-services:list"))

    def test_check_is_admin(self):
        self.use()
        self.assertTrue(policy.check_is_admin(persona("admin")))
        self.assertFalse(policy.check_is_admin(persona("member")))


class DenialTest(PolicyTestCase):
    def test_denial_is_403_with_novas_message(self):
        self.use()
        error = self.assertRaises(exception.PolicyNotAuthorized, persona("member").can,
                                  "os_compute_api:os-services:list")
        self.assertEqual(error.code, 403)
        self.assertEqual(error.kwargs["code"], 403)
        self.assertIsInstance(error, exception.Forbidden)
        self.assertEqual(error.format_message(),
                         "Policy doesn't allow os_compute_api:os-services:list "
                         "to be performed.")

    def test_authorize_directly(self):
        self.use()
        member = persona("member")
        self.assertTrue(policy.authorize(member, "os_compute_api:servers:index"))
        self.assertFalse(policy.authorize(member, "os_compute_api:os-hosts:list",
                                          fatal=False))
        self.assertRaises(exception.PolicyNotAuthorized, policy.authorize, member,
                          "os_compute_api:os-hosts:list")

    def test_unregistered_action_is_an_error(self):
        self.use()
        self.assertRaises(oslo_policy.PolicyNotRegistered, persona("admin").can,
                          "os_compute_api:no-such-thing")


class PolicyFileTest(PolicyTestCase):
    def write(self, path: str, text: str) -> str:
        path = os.path.abspath(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_override_changes_a_decision(self):
        path = self.write(os.path.join(self.mktemp(), "policy.yaml"),
                          '"os_compute_api:os-services:list": "role:reader"\n'
                          '"os_compute_api:servers:show": "!"\n')
        self.use(policy_file=path, enforce_new_defaults=True)
        self.assertTrue(persona("reader").can("os_compute_api:os-services:list"))
        self.assertFalse(persona("admin").can("os_compute_api:servers:show",
                                              {"project_id": OWNER}, fatal=False))
        # Rules the file does not name keep their defaults.
        self.assertFalse(persona("reader").can("os_compute_api:os-hosts:list", fatal=False))

    def test_overriding_a_base_rule_moves_every_rule_built_on_it(self):
        path = self.write(os.path.join(self.mktemp(), "policy.yaml"),
                          '"context_is_admin": "role:admin or role:operator"\n')
        self.use(policy_file=path, enforce_new_defaults=True)
        operator = context.RequestContext(user_id="o", project_id=OTHER, roles=["operator"])
        self.assertTrue(operator.can("os_compute_api:os-hypervisors:list"))
        self.assertTrue(operator.can("os_compute_api:servers:delete", {"project_id": OWNER}))

    def test_override_under_the_old_name_still_applies(self):
        # An operator's rule for a name that Nova has since split keeps working.
        path = self.write(os.path.join(self.mktemp(), "policy.yaml"),
                          '"os_compute_api:os-hosts": "@"\n')
        self.use(policy_file=path)
        self.assertTrue(persona("reader").can("os_compute_api:os-hosts:list"))

    def test_policy_dirs(self):
        base = os.path.abspath(self.mktemp())
        path = self.write(os.path.join(base, "policy.yaml"), "{}\n")
        self.write(os.path.join(base, "policy.d", "10-services.yaml"),
                   '"os_compute_api:os-services:list": "role:reader"\n')
        self.use(policy_file=path, policy_dirs=[os.path.join(base, "policy.d")])
        self.assertTrue(persona("reader").can("os_compute_api:os-services:list"))

    def test_changed_file_is_read_again(self):
        path = os.path.join(os.path.abspath(self.mktemp()), "policy.yaml")
        self.use(policy_file=path)
        reader = persona("reader")
        self.assertFalse(reader.can("os_compute_api:os-services:list", fatal=False))
        self.write(path, '"os_compute_api:os-services:list": "role:reader"\n')
        self.assertTrue(reader.can("os_compute_api:os-services:list"))


class EnforcerTest(PolicyTestCase):
    def test_one_enforcer_per_conf(self):
        conf = make_conf(self)
        self.addCleanup(policy.reset)
        self.assertIs(policy.get_enforcer(conf), policy.get_enforcer(conf))
        self.assertIsNot(policy.get_enforcer(conf), policy.get_enforcer(make_conf(self)))

    def test_every_default_is_registered(self):
        conf = make_conf(self)
        self.addCleanup(policy.reset)
        enforcer = policy.get_enforcer(conf)
        self.assertEqual(len(enforcer.registered_rules), 201)


class ToPolicyValuesTest(unittest.SynchronousTestCase):
    def test_keys(self):
        ctx = context.RequestContext(user_id="u", project_id="p", roles=["reader"],
                                     domain_id=None, system_scope=None)
        values = ctx.to_policy_values()
        self.assertEqual(values["user_id"], "u")
        self.assertEqual(values["project_id"], "p")
        self.assertEqual(values["roles"], ["reader"])
        self.assertIs(values["is_admin"], False)
        self.assertIsNone(values["system_scope"])
        for key in ("user_domain_id", "domain_id", "project_domain_id", "is_admin_project",
                    "service_user_id", "service_roles"):
            self.assertIn(key, values)
