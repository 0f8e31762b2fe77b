"""Policy defaults for a server's NUMA topology."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="compute:server:topology:index",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See a server's NUMA topology.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/topology"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="compute:server:topology:host:index",
        check_str=base.ADMIN,
        description="See the host CPU and NUMA cell numbers in a server's topology.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/topology"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
