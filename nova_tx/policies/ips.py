"""Policy defaults for a server's addresses."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:ips:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See a server's addresses on one network.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/ips/{network_label}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:ips:index",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See a server's addresses.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/ips"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
