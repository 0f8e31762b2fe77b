"""Policy defaults for absolute limits."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:limits",
        check_str=base.RULE_ANY,
        description="See the project's limits and usage.",
        operations=[{"method": "GET", "path": "/limits"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:limits:other_project",
        check_str=base.ADMIN,
        description="See another project's limits.",
        operations=[{"method": "GET", "path": "/limits"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-used-limits", base.RULE_ADMIN_API, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
