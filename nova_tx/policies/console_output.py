"""Policy defaults for a server's console log."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-console-output",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Read a server's console log.",
        operations=[
            {"method": "POST", "path": "/servers/{server_id}/action (os-getConsoleOutput)"},
        ],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
