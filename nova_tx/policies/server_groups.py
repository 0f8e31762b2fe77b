"""Policy defaults for server groups."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-groups:create",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Make a server group.",
        operations=[{"method": "POST", "path": "/os-server-groups"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-groups:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Remove a server group.",
        operations=[{"method": "DELETE", "path": "/os-server-groups/{server_group_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-groups:index",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See the project's server groups.",
        operations=[{"method": "GET", "path": "/os-server-groups"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-groups:index:all_projects",
        check_str=base.ADMIN,
        description="See the server groups of every project.",
        operations=[{"method": "GET", "path": "/os-server-groups"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-groups:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one server group.",
        operations=[{"method": "GET", "path": "/os-server-groups/{server_group_id}"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
