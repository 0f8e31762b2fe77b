"""Policy defaults for the encrypted server password."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-password:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="Read a server's encrypted password.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/os-server-password"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-server-password", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-password:clear",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Forget a server's encrypted password.",
        operations=[{"method": "DELETE", "path": "/servers/{server_id}/os-server-password"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-server-password", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
