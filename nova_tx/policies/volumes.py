"""Policy defaults for volumes and volume snapshots (a Cinder proxy)."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:list",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See the volumes.",
        operations=[{"method": "GET", "path": "/os-volumes"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:create",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Make a volume.",
        operations=[{"method": "POST", "path": "/os-volumes"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:detail",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See the volumes in detail.",
        operations=[{"method": "GET", "path": "/os-volumes/detail"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one volume.",
        operations=[{"method": "GET", "path": "/os-volumes/{volume_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Remove a volume.",
        operations=[{"method": "DELETE", "path": "/os-volumes/{volume_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:snapshots:list",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See the volume snapshots.",
        operations=[{"method": "GET", "path": "/os-snapshots"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:snapshots:create",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Snapshot a volume.",
        operations=[{"method": "POST", "path": "/os-snapshots"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:snapshots:detail",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See the volume snapshots in detail.",
        operations=[{"method": "GET", "path": "/os-snapshots/detail"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:snapshots:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one volume snapshot.",
        operations=[{"method": "GET", "path": "/os-snapshots/{snapshot_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes:snapshots:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Remove a volume snapshot.",
        operations=[{"method": "DELETE", "path": "/os-snapshots/{snapshot_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-volumes", base.RULE_ADMIN_OR_OWNER, "22.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
