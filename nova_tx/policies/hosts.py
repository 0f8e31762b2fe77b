"""Policy defaults for the deprecated os-hosts API."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hosts:list",
        check_str=base.ADMIN,
        description="See the hosts.",
        operations=[{"method": "GET", "path": "/os-hosts"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hosts", base.RULE_ADMIN_API, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hosts:show",
        check_str=base.ADMIN,
        description="See one host's resources.",
        operations=[{"method": "GET", "path": "/os-hosts/{host_name}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hosts", base.RULE_ADMIN_API, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hosts:update",
        check_str=base.ADMIN,
        description="Enable, disable or maintain a host.",
        operations=[{"method": "PUT", "path": "/os-hosts/{host_name}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hosts", base.RULE_ADMIN_API, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hosts:reboot",
        check_str=base.ADMIN,
        description="Reboot a host.",
        operations=[{"method": "GET", "path": "/os-hosts/{host_name}/reboot"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hosts", base.RULE_ADMIN_API, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hosts:shutdown",
        check_str=base.ADMIN,
        description="Shut a host down.",
        operations=[{"method": "GET", "path": "/os-hosts/{host_name}/shutdown"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hosts", base.RULE_ADMIN_API, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hosts:start",
        check_str=base.ADMIN,
        description="Start a host.",
        operations=[{"method": "GET", "path": "/os-hosts/{host_name}/startup"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hosts", base.RULE_ADMIN_API, "22.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
