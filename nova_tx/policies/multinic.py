"""Policy defaults for fixed IPs added to and removed from servers."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-multinic:add",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Give a server one more fixed IP.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (addFixedIp)"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-multinic", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-multinic:remove",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Take a fixed IP off a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (removeFixedIp)"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-multinic", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
