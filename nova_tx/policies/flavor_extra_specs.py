"""Policy defaults for flavor extra specs."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-extra-specs:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="Read one extra spec of a flavor.",
        operations=[
            {"method": "GET", "path": "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-extra-specs:create",
        check_str=base.ADMIN,
        description="Add extra specs to a flavor.",
        operations=[{"method": "POST", "path": "/flavors/{flavor_id}/os-extra_specs/"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-extra-specs:update",
        check_str=base.ADMIN,
        description="Change one extra spec of a flavor.",
        operations=[
            {"method": "PUT", "path": "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-extra-specs:delete",
        check_str=base.ADMIN,
        description="Remove one extra spec of a flavor.",
        operations=[
            {"method": "DELETE", "path": "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-flavor-extra-specs:index",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="Read a flavor's extra specs, also in the flavor bodies (2.61 and later).",
        operations=[
            {"method": "GET", "path": "/flavors/{flavor_id}/os-extra_specs/"},
            {"method": "POST", "path": "/flavors"},
            {"method": "GET", "path": "/flavors/detail"},
            {"method": "GET", "path": "/flavors/{flavor_id}"},
            {"method": "PUT", "path": "/flavors/{flavor_id}"},
        ],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
