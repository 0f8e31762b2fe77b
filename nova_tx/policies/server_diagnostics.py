"""Policy defaults for server diagnostics."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-server-diagnostics",
        check_str=base.ADMIN,
        description="See a server's hypervisor diagnostics.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/diagnostics"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
