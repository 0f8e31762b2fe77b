"""Policy defaults for rescue mode."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-rescue",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Boot a server into rescue mode.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (rescue)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-unrescue",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Bring a server out of rescue mode.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (unrescue)"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-rescue", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
