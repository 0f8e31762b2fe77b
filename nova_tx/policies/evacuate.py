"""Policy defaults for evacuating a server off a failed host."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-evacuate",
        check_str=base.ADMIN,
        description="Rebuild a server from a dead host elsewhere.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (evacuate)"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
