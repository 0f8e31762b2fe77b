"""The base rules every API rule is built from, and the names the modules share.

Nova 26 (Zed) defaults: an API is for the administrator (``context_is_admin``), or for a
member or reader of the project that owns the resource, or for both. The rules that
came before (``admin_or_owner``, ``admin_api``) stay as deprecated rules, so that with
``[oslo_policy] enforce_new_defaults = False`` a rule passes when either its new or its
old check string does.
"""
from oslo_policy import policy

ADMIN = "rule:context_is_admin"
PROJECT_MEMBER = "rule:project_member_api"
PROJECT_READER = "rule:project_reader_api"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"

# The check strings before the new defaults.
RULE_ADMIN_OR_OWNER = "rule:admin_or_owner"
RULE_ADMIN_API = "rule:admin_api"
RULE_ANY = "@"
RULE_NOBODY = "!"

DEPRECATED_REASON = (
    "The compute API now checks the member and reader roles of the project that owns "
    "a resource. The old check string still counts while [oslo_policy] "
    "enforce_new_defaults is false; set it to true once the roles are in place.")


def deprecated(name: str, check_str: str, since: str) -> policy.DeprecatedRule:
    """The rule a default replaced: its name, its check string, and the release."""
    return policy.DeprecatedRule(
        name=name, check_str=check_str, deprecated_reason=DEPRECATED_REASON,
        deprecated_since=since)


DEPRECATED_ADMIN_POLICY = deprecated(RULE_ADMIN_API, "is_admin:True", "21.0.0")
DEPRECATED_ADMIN_OR_OWNER_POLICY = deprecated(
    RULE_ADMIN_OR_OWNER, "is_admin:True or project_id:%(project_id)s", "21.0.0")

rules = [
    policy.RuleDefault(
        name="context_is_admin",
        check_str="role:admin",
        description="Who counts as an administrator (the is_admin:True check).",
        deprecated_rule=DEPRECATED_ADMIN_POLICY),
    policy.RuleDefault(
        name="admin_or_owner",
        check_str="is_admin:True or project_id:%(project_id)s",
        description="Old default of the non-admin APIs: an admin or the owning project.",
        deprecated_for_removal=True,
        deprecated_reason=DEPRECATED_REASON,
        deprecated_since="21.0.0"),
    policy.RuleDefault(
        name="admin_api",
        check_str="is_admin:True",
        description="Old default of the admin APIs.",
        deprecated_for_removal=True,
        deprecated_reason=DEPRECATED_REASON,
        deprecated_since="21.0.0"),
    policy.RuleDefault(
        name="project_member_api",
        check_str="role:member and project_id:%(project_id)s",
        description="A member of the project that owns the resource.",
        deprecated_rule=DEPRECATED_ADMIN_OR_OWNER_POLICY),
    policy.RuleDefault(
        name="project_reader_api",
        check_str="role:reader and project_id:%(project_id)s",
        description="A reader of the project that owns the resource.",
        deprecated_rule=DEPRECATED_ADMIN_OR_OWNER_POLICY),
    policy.RuleDefault(
        name="project_member_or_admin",
        check_str=f"{PROJECT_MEMBER} or {ADMIN}",
        description="A member of the owning project, or an administrator.",
        deprecated_rule=DEPRECATED_ADMIN_OR_OWNER_POLICY),
    policy.RuleDefault(
        name="project_reader_or_admin",
        check_str=f"{PROJECT_READER} or {ADMIN}",
        description="A reader of the owning project, or an administrator.",
        deprecated_rule=DEPRECATED_ADMIN_OR_OWNER_POLICY),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
