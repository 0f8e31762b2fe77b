"""Policy defaults for a server's in-progress migrations."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:servers:migrations:show",
        check_str=base.ADMIN,
        description="See one migration of a server.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/migrations/{migration_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:servers:migrations:force_complete",
        check_str=base.ADMIN,
        description="Force a live migration to finish.",
        operations=[
            {"method": "POST", "path": "/servers/{server_id}/migrations/{migration_id}/action (force_complete)"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:servers:migrations:delete",
        check_str=base.ADMIN,
        description="Abort a live migration.",
        operations=[{"method": "DELETE", "path": "/servers/{server_id}/migrations/{migration_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:servers:migrations:index",
        check_str=base.ADMIN,
        description="See a server's migrations.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/migrations"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
