"""Policy defaults for compute services."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-services:list",
        check_str=base.ADMIN,
        description="See the compute services.",
        operations=[{"method": "GET", "path": "/os-services"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-services", base.RULE_ADMIN_API, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-services:update",
        check_str=base.ADMIN,
        description="Enable, disable or force down a service.",
        operations=[{"method": "PUT", "path": "/os-services/{service_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-services", base.RULE_ADMIN_API, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-services:delete",
        check_str=base.ADMIN,
        description="Remove a service.",
        operations=[{"method": "DELETE", "path": "/os-services/{service_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-services", base.RULE_ADMIN_API, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
