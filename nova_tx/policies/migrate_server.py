"""Policy defaults for cold and live migration."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-migrate-server:migrate",
        check_str=base.ADMIN,
        description="Cold-migrate a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (migrate)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-migrate-server:migrate_live",
        check_str=base.ADMIN,
        description="Live-migrate a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/action (os-migrateLive)"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
