"""Policy defaults for floating IP pools (a Neutron proxy)."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-floating-ip-pools",
        check_str=base.RULE_ANY,
        description="See the floating IP pools.",
        operations=[{"method": "GET", "path": "/os-floating-ip-pools"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
