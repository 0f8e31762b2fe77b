"""Policy defaults for availability zones."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-availability-zone:list",
        check_str=base.RULE_ANY,
        description="See the zones, without their hosts.",
        operations=[{"method": "GET", "path": "/os-availability-zone"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-availability-zone:detail",
        check_str=base.ADMIN,
        description="See the zones with their hosts.",
        operations=[{"method": "GET", "path": "/os-availability-zone/detail"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
