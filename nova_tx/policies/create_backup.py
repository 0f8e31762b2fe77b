"""Policy defaults for server backups."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-create-backup",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Back a server up to an image.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (createBackup)"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
