"""Policy defaults for security groups (a Neutron proxy)."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:get",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See the security groups.",
        operations=[{"method": "GET", "path": "/os-security-groups"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one security group.",
        operations=[{"method": "GET", "path": "/os-security-groups/{security_group_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:create",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Make a security group.",
        operations=[{"method": "POST", "path": "/os-security-groups"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:update",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Change a security group.",
        operations=[{"method": "PUT", "path": "/os-security-groups/{security_group_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Remove a security group.",
        operations=[{"method": "DELETE", "path": "/os-security-groups/{security_group_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:rule:create",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Add a security group rule.",
        operations=[{"method": "POST", "path": "/os-security-group-rules"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:rule:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Remove a security group rule.",
        operations=[{"method": "DELETE", "path": "/os-security-group-rules/{security_group_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:list",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See a server's security groups.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/os-security-groups"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:add",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Put a server in a security group.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (addSecurityGroup)"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-security-groups:remove",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Take a server out of a security group.",
        operations=[
            {"method": "POST", "path": "/servers/{server_id}/action (removeSecurityGroup)"},
        ],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-security-groups", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
