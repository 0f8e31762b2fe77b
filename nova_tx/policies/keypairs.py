"""Policy defaults for key pairs."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-keypairs:index",
        check_str=f"({base.ADMIN}) or user_id:%(user_id)s",
        description="See a user's key pairs.",
        operations=[{"method": "GET", "path": "/os-keypairs"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-keypairs:create",
        check_str=f"({base.ADMIN}) or user_id:%(user_id)s",
        description="Make or import a key pair.",
        operations=[{"method": "POST", "path": "/os-keypairs"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-keypairs:delete",
        check_str=f"({base.ADMIN}) or user_id:%(user_id)s",
        description="Remove a key pair.",
        operations=[{"method": "DELETE", "path": "/os-keypairs/{keypair_name}"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-keypairs:show",
        check_str=f"({base.ADMIN}) or user_id:%(user_id)s",
        description="See one key pair.",
        operations=[{"method": "GET", "path": "/os-keypairs/{keypair_name}"}],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
