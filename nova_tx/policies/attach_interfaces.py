"""Policy defaults for a server's port interfaces."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-attach-interfaces:list",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See the ports of a server.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/os-interface"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-attach-interfaces", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-attach-interfaces:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one port of a server.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/os-interface/{port_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-attach-interfaces", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-attach-interfaces:create",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Plug a port into a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/os-interface"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-attach-interfaces", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-attach-interfaces:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Unplug a port from a server.",
        operations=[{"method": "DELETE", "path": "/servers/{server_id}/os-interface/{port_id}"}],
        scope_types=["project"],
        deprecated_rule=base.deprecated(
            "os_compute_api:os-attach-interfaces", base.RULE_ADMIN_OR_OWNER, "21.0.0"),
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
