"""Policy defaults for creating, updating and deleting flavors."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-manage:create",
        check_str=base.ADMIN,
        description="Make a flavor.",
        operations=[{"method": "POST", "path": "/flavors"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-manage:update",
        check_str=base.ADMIN,
        description="Change a flavor's description.",
        operations=[{"method": "PUT", "path": "/flavors/{flavor_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-manage:delete",
        check_str=base.ADMIN,
        description="Remove a flavor.",
        operations=[{"method": "DELETE", "path": "/flavors/{flavor_id}"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
