"""Policy defaults for the instance usage audit log."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-instance-usage-audit-log:list",
        check_str=base.ADMIN,
        description="See the usage audit log.",
        operations=[{"method": "GET", "path": "/os-instance_usage_audit_log"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-instance-usage-audit-log", base.RULE_ADMIN_API, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-instance-usage-audit-log:show",
        check_str=base.ADMIN,
        description="See the usage audit log before a time.",
        operations=[{"method": "GET", "path": "/os-instance_usage_audit_log/{before_timestamp}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-instance-usage-audit-log", base.RULE_ADMIN_API, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
