"""Policy defaults for hypervisors."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hypervisors:list",
        check_str=base.ADMIN,
        description="See the hypervisors.",
        operations=[{"method": "GET", "path": "/os-hypervisors"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hypervisors", base.RULE_ADMIN_API, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hypervisors:list-detail",
        check_str=base.ADMIN,
        description="See the hypervisors in detail.",
        operations=[{"method": "GET", "path": "/os-hypervisors/details"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hypervisors", base.RULE_ADMIN_API, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hypervisors:statistics",
        check_str=base.ADMIN,
        description="See totals over all hypervisors.",
        operations=[{"method": "GET", "path": "/os-hypervisors/statistics"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hypervisors", base.RULE_ADMIN_API, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hypervisors:show",
        check_str=base.ADMIN,
        description="See one hypervisor.",
        operations=[{"method": "GET", "path": "/os-hypervisors/{hypervisor_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hypervisors", base.RULE_ADMIN_API, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hypervisors:uptime",
        check_str=base.ADMIN,
        description="See a hypervisor's uptime.",
        operations=[{"method": "GET", "path": "/os-hypervisors/{hypervisor_id}/uptime"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hypervisors", base.RULE_ADMIN_API, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hypervisors:search",
        check_str=base.ADMIN,
        description="Find hypervisors by host name.",
        operations=[
            {"method": "GET", "path": "/os-hypervisors/{hypervisor_hostname_pattern}/search"},
        ],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hypervisors", base.RULE_ADMIN_API, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-hypervisors:servers",
        check_str=base.ADMIN,
        description="See the servers on matching hypervisors.",
        operations=[
            {"method": "GET", "path": "/os-hypervisors/{hypervisor_hostname_pattern}/servers"},
        ],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-hypervisors", base.RULE_ADMIN_API, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
