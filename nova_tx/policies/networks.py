"""Policy defaults for networks (a Neutron proxy)."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-networks:list",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See the networks.",
        operations=[{"method": "GET", "path": "/os-networks"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-networks:view", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-networks:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one network.",
        operations=[{"method": "GET", "path": "/os-networks/{network_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-networks:view", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
