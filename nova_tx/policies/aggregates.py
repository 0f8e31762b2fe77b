"""Policy defaults for host aggregates and their image pre-caching."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-aggregates:set_metadata",
        check_str=base.ADMIN,
        description="Set an aggregate's metadata.",
        operations=[
            {"method": "POST", "path": "/os-aggregates/{aggregate_id}/action (set_metadata)"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-aggregates:add_host",
        check_str=base.ADMIN,
        description="Put a host in an aggregate.",
        operations=[{"method": "POST", "path": "/os-aggregates/{aggregate_id}/action (add_host)"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-aggregates:create",
        check_str=base.ADMIN,
        description="Make an aggregate.",
        operations=[{"method": "POST", "path": "/os-aggregates"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-aggregates:remove_host",
        check_str=base.ADMIN,
        description="Take a host out of an aggregate.",
        operations=[
            {"method": "POST", "path": "/os-aggregates/{aggregate_id}/action (remove_host)"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-aggregates:update",
        check_str=base.ADMIN,
        description="Rename an aggregate or change its zone.",
        operations=[{"method": "PUT", "path": "/os-aggregates/{aggregate_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-aggregates:index",
        check_str=base.ADMIN,
        description="See every aggregate.",
        operations=[{"method": "GET", "path": "/os-aggregates"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-aggregates:delete",
        check_str=base.ADMIN,
        description="Remove an aggregate.",
        operations=[{"method": "DELETE", "path": "/os-aggregates/{aggregate_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-aggregates:show",
        check_str=base.ADMIN,
        description="See one aggregate.",
        operations=[{"method": "GET", "path": "/os-aggregates/{aggregate_id}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="compute:aggregates:images",
        check_str=base.ADMIN,
        description="Pre-cache images on the hosts of an aggregate.",
        operations=[{"method": "POST", "path": "/os-aggregates/{aggregate_id}/images"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
