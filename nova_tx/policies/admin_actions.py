"""Policy defaults for admin-only server actions (reset state, inject network info)."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-admin-actions:reset_state",
        check_str=base.ADMIN,
        description="Force a server's state.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (os-resetState)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-admin-actions:inject_network_info",
        check_str=base.ADMIN,
        description="Push network information into a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (injectNetworkInfo)"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
