"""Policy defaults for locking servers."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-lock-server:lock",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Lock a server against changes.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (lock)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-lock-server:unlock",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Remove the lock from a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (unlock)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-lock-server:unlock:unlock_override",
        check_str=base.ADMIN,
        description="Unlock a server that somebody else locked.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (unlock)"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
