"""Policy defaults for pausing servers."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-pause-server:pause",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Freeze a running server in memory.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (pause)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-pause-server:unpause",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Let a paused server run again.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (unpause)"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
