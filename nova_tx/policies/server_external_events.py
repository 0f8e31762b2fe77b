"""Policy defaults for external events sent to servers."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-external-events:create",
        check_str=base.ADMIN,
        description="Send events to servers (the network and volume services do).",
        operations=[{"method": "POST", "path": "/os-server-external-events"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
