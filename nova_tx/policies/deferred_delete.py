"""Policy defaults for soft-deleted servers."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-deferred-delete:restore",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Bring back a soft-deleted server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (restore)"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-deferred-delete", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-deferred-delete:force",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Delete a soft-deleted server now, before the reclaim.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (forceDelete)"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-deferred-delete", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
