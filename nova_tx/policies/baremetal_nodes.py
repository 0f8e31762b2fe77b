"""Policy defaults for the bare-metal node proxy to Ironic."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-baremetal-nodes:list",
        check_str=base.ADMIN,
        description="See the bare-metal nodes (Ironic proxy).",
        operations=[{"method": "GET", "path": "/os-baremetal-nodes"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-baremetal-nodes", base.RULE_ADMIN_API, "22.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-baremetal-nodes:show",
        check_str=base.ADMIN,
        description="See one bare-metal node (Ironic proxy).",
        operations=[{"method": "GET", "path": "/os-baremetal-nodes/{node_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-baremetal-nodes", base.RULE_ADMIN_API, "22.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
