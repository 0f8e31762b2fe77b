"""Policy defaults for project and user quotas."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-quota-sets:update",
        check_str=base.ADMIN,
        description="Change a project's or user's quotas.",
        operations=[{"method": "PUT", "path": "/os-quota-sets/{tenant_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-quota-sets:defaults",
        check_str=base.RULE_ANY,
        description="See the default quotas.",
        operations=[{"method": "GET", "path": "/os-quota-sets/{tenant_id}/defaults"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-quota-sets:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See a project's or user's quotas.",
        operations=[{"method": "GET", "path": "/os-quota-sets/{tenant_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-quota-sets:delete",
        check_str=base.ADMIN,
        description="Reset a project's or user's quotas.",
        operations=[{"method": "DELETE", "path": "/os-quota-sets/{tenant_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-quota-sets:detail",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See quotas with their usage and reservations.",
        operations=[{"method": "GET", "path": "/os-quota-sets/{tenant_id}/detail"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
