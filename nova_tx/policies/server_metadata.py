"""Policy defaults for server metadata."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:server-metadata:index",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See a server's metadata.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/metadata"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:server-metadata:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one metadata item of a server.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/metadata/{key}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:server-metadata:create",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Add metadata to a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/metadata"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:server-metadata:update_all",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Replace a server's metadata.",
        operations=[{"method": "PUT", "path": "/servers/{server_id}/metadata"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:server-metadata:update",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Set one metadata item of a server.",
        operations=[{"method": "PUT", "path": "/servers/{server_id}/metadata/{key}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:server-metadata:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Remove one metadata item of a server.",
        operations=[{"method": "DELETE", "path": "/servers/{server_id}/metadata/{key}"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
