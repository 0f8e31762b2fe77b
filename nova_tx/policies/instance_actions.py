"""Policy defaults for a server's action log and its events."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-instance-actions:events:details",
        check_str=base.ADMIN,
        description="See the host and details of action events (2.84 and later).",
        operations=[
            {"method": "GET", "path": "/servers/{server_id}/os-instance-actions/{request_id}"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-instance-actions:events",
        check_str=base.ADMIN,
        description="See the events of a server action.",
        operations=[
            {"method": "GET", "path": "/servers/{server_id}/os-instance-actions/{request_id}"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-instance-actions:list",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See a server's action log.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/os-instance-actions"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-instance-actions", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-instance-actions:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one entry of a server's action log.",
        operations=[
            {"method": "GET", "path": "/servers/{server_id}/os-instance-actions/{request_id}"},
        ],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-instance-actions", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
