"""Policy defaults for remote consoles."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-remote-consoles",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Open a remote console on a server.",
        operations=[
            {"method": "POST", "path": "/servers/{server_id}/action (os-getRDPConsole)"},
            {"method": "POST", "path": "/servers/{server_id}/action (os-getSerialConsole)"},
            {"method": "POST", "path": "/servers/{server_id}/action (os-getSPICEConsole)"},
            {"method": "POST", "path": "/servers/{server_id}/action (os-getVNCConsole)"},
            {"method": "POST", "path": "/servers/{server_id}/remote-consoles"},
        ],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
