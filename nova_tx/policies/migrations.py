"""Policy defaults for the migration list."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-migrations:index",
        check_str=base.ADMIN,
        description="See the migrations.",
        operations=[{"method": "GET", "path": "/os-migrations"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
