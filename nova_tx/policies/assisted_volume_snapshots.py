"""Policy defaults for snapshots of volumes the hypervisor takes for Cinder."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-assisted-volume-snapshots:create",
        check_str=base.ADMIN,
        description="Take a hypervisor-assisted volume snapshot.",
        operations=[{"method": "POST", "path": "/os-assisted-volume-snapshots"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-assisted-volume-snapshots:delete",
        check_str=base.ADMIN,
        description="Remove a hypervisor-assisted volume snapshot.",
        operations=[{"method": "DELETE", "path": "/os-assisted-volume-snapshots/{snapshot_id}"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
