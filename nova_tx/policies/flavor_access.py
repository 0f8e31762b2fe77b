"""Policy defaults for private flavor access."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-access:add_tenant_access",
        check_str=base.ADMIN,
        description="Let a project use a private flavor.",
        operations=[{"method": "POST", "path": "/flavors/{flavor_id}/action (addTenantAccess)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-access:remove_tenant_access",
        check_str=base.ADMIN,
        description="Stop a project using a private flavor.",
        operations=[{"method": "POST", "path": "/flavors/{flavor_id}/action (removeTenantAccess)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-access",
        check_str=base.ADMIN,
        description="See which projects may use a flavor.",
        operations=[{"method": "GET", "path": "/flavors/{flavor_id}/os-flavor-access"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-flavor-access", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
