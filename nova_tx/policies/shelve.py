"""Policy defaults for shelving servers."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-shelve:shelve",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Shelve a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (shelve)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-shelve:unshelve",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Unshelve a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (unshelve)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-shelve:unshelve_to_host",
        check_str=base.ADMIN,
        description="Unshelve a server onto a named host (2.91 and later).",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (unshelve)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-shelve:shelve_offload",
        check_str=base.ADMIN,
        description="Offload a shelved server from its host.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (shelveOffload)"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
