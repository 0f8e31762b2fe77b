"""Policy defaults for changing a server's administrator password."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-admin-password",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Set a server's administrator password.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (changePassword)"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
