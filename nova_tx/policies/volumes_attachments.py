"""Policy defaults for volumes attached to servers."""
from oslo_policy import policy

from nova_tx.policies import base

rules = [
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes-attachments:index",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See a server's volume attachments.",
        operations=[{"method": "GET", "path": "/servers/{server_id}/os-volume_attachments"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes-attachments:create",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Attach a volume to a server.",
        operations=[{"method": "POST", "path": "/servers/{server_id}/os-volume_attachments"}],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes-attachments:show",
        check_str=base.PROJECT_READER_OR_ADMIN,
        description="See one volume attachment.",
        operations=[
            {"method": "GET", "path": "/servers/{server_id}/os-volume_attachments/{volume_id}"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes-attachments:update",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Change a volume attachment's tag or delete flag (2.85 and later).",
        operations=[
            {"method": "PUT", "path": "/servers/{server_id}/os-volume_attachments/{volume_id}"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes-attachments:swap",
        check_str=base.ADMIN,
        description="Swap the volume under an attachment.",
        operations=[
            {"method": "PUT", "path": "/servers/{server_id}/os-volume_attachments/{volume_id}"},
        ],
        scope_types=["project"],
    ),
    policy.DocumentedRuleDefault(
        name="os_compute_api:os-volumes-attachments:delete",
        check_str=base.PROJECT_MEMBER_OR_ADMIN,
        description="Detach a volume from a server.",
        operations=[
            {"method": "DELETE", "path": "/servers/{server_id}/os-volume_attachments/{volume_id}"},
        ],
        scope_types=["project"],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return rules
