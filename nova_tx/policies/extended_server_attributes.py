"""Policy defaults for the OS-EXT-SRV-ATTR server fields."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-extended-server-attributes",
        check_str=base.ADMIN,
        description=(
            "See the OS-EXT-SRV-ATTR fields of servers (host, instance name, reservation, launch index, hostname, kernel, ramdisk, root device, user data)."),
        operations=[
            {"method": "GET", "path": "/servers/{id}"},
            {"method": "GET", "path": "/servers/detail"},
            {"method": "PUT", "path": "/servers/{server_id}"},
            {"method": "POST", "path": "/servers/{server_id}/action (rebuild)"},
        ],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
