"""Policy defaults for floating IPs (a Neutron proxy)."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-floating-ips:add",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Give a server a floating IP.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (addFloatingIp)"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-floating-ips", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-floating-ips:remove",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Take a floating IP off a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (removeFloatingIp)"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-floating-ips", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-floating-ips:list",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See the project's floating IPs.",
        operations=[{"method": "GET", "path": "/os-floating-ips"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-floating-ips", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-floating-ips:create",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Allocate a floating IP.",
        operations=[{"method": "POST", "path": "/os-floating-ips"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-floating-ips", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-floating-ips:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one floating IP.",
        operations=[{"method": "GET", "path": "/os-floating-ips/{floating_ip_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-floating-ips", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-floating-ips:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Release a floating IP.",
        operations=[{"method": "DELETE", "path": "/os-floating-ips/{floating_ip_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-floating-ips", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
