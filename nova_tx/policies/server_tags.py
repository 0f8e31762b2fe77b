"""Policy defaults for server tags."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-tags:delete_all",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Remove every tag of a server.",
        operations=[{"method": "DELETE", "path": "/servers/{server_id}/tags"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-tags:index",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See a server's tags.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/tags"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-tags:update_all",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Replace a server's tags.",
        operations=[{"method": "PUT", "path": "/servers/{server_id}/tags"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-tags:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Remove one tag of a server.",
        operations=[{"method": "DELETE", "path": "/servers/{server_id}/tags/{tag}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-tags:update",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Add one tag to a server.",
        operations=[{"method": "PUT", "path": "/servers/{server_id}/tags/{tag}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-tags:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="Check that a server has a tag.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/tags/{tag}"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
