"""Policy defaults for suspending servers."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-suspend-server:resume",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Resume a suspended server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (resume)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-suspend-server:suspend",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Suspend a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (suspend)"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
