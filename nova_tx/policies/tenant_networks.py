"""Policy defaults for project networks (a Neutron proxy)."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-tenant-networks:list",
        check_str=base.PROJECT_READER,
        description="See the project's networks.",
        operations=[{"method": "GET", "path": "/os-tenant-networks"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-tenant-networks", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-tenant-networks:show",
        check_str=base.PROJECT_READER,
        description="See one of the project's networks.",
        operations=[{"method": "GET", "path": "/os-tenant-networks/{network_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-tenant-networks", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
