"""Policy defaults for the extension list."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:extensions",
        check_str=base.RULE_ANY,
        description="See the extension list.",
        operations=[
            {"method": "GET", "path": "/extensions"},
            {"method": "GET", "path": "/extensions/{alias}"},
        ],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
