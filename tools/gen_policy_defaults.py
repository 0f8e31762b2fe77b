#!/usr/bin/env python3
"""Write ``nova_tx/policies/*.py`` from Nova 26's generated policy sample.

Run once from the repository root (``.venv/bin/python tools/gen_policy_defaults.py``),
then tidy by hand; ``tests/unit/test_policy_defaults.py`` holds the result to the
sample rule for rule. Only the facts come from the sample (names, check strings, scope
types, operations, deprecated rules); the descriptions are ours, in ``DESCRIPTIONS``.
"""
from __future__ import annotations

import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.unit.policy_sample import SampleRule, load_sample  # noqa: E402

OUT = os.path.join(REPO, "nova_tx", "policies")

#: Name prefix -> module, longest prefix wins (Nova's module names).
MODULES = {
    "os_compute_api:os-admin-actions": "admin_actions",
    "os_compute_api:os-admin-password": "admin_password",
    "os_compute_api:os-aggregates": "aggregates",
    "compute:aggregates": "aggregates",
    "os_compute_api:os-assisted-volume-snapshots": "assisted_volume_snapshots",
    "os_compute_api:os-attach-interfaces": "attach_interfaces",
    "os_compute_api:os-availability-zone": "availability_zone",
    "os_compute_api:os-baremetal-nodes": "baremetal_nodes",
    "os_compute_api:os-console-auth-tokens": "console_auth_tokens",
    "os_compute_api:os-console-output": "console_output",
    "os_compute_api:os-create-backup": "create_backup",
    "os_compute_api:os-deferred-delete": "deferred_delete",
    "os_compute_api:os-evacuate": "evacuate",
    "os_compute_api:os-extended-server-attributes": "extended_server_attributes",
    "os_compute_api:extensions": "extensions",
    "os_compute_api:os-flavor-access": "flavor_access",
    "os_compute_api:os-flavor-extra-specs": "flavor_extra_specs",
    "os_compute_api:os-flavor-manage": "flavor_manage",
    "os_compute_api:os-floating-ip-pools": "floating_ip_pools",
    "os_compute_api:os-floating-ips": "floating_ips",
    "os_compute_api:os-hosts": "hosts",
    "os_compute_api:os-hypervisors": "hypervisors",
    "os_compute_api:os-instance-actions": "instance_actions",
    "os_compute_api:os-instance-usage-audit-log": "instance_usage_audit_log",
    "os_compute_api:ips": "ips",
    "os_compute_api:os-keypairs": "keypairs",
    "os_compute_api:limits": "limits",
    "os_compute_api:os-lock-server": "lock_server",
    "os_compute_api:os-migrate-server": "migrate_server",
    "os_compute_api:os-migrations": "migrations",
    "os_compute_api:os-multinic": "multinic",
    "os_compute_api:os-networks": "networks",
    "os_compute_api:os-pause-server": "pause_server",
    "os_compute_api:os-quota-class-sets": "quota_class_sets",
    "os_compute_api:os-quota-sets": "quota_sets",
    "os_compute_api:os-remote-consoles": "remote_consoles",
    "os_compute_api:os-rescue": "rescue",
    "os_compute_api:os-unrescue": "rescue",
    "os_compute_api:os-security-groups": "security_groups",
    "os_compute_api:os-server-diagnostics": "server_diagnostics",
    "os_compute_api:os-server-external-events": "server_external_events",
    "os_compute_api:os-server-groups": "server_groups",
    "os_compute_api:server-metadata": "server_metadata",
    "os_compute_api:os-server-password": "server_password",
    "os_compute_api:os-server-tags": "server_tags",
    "compute:server:topology": "server_topology",
    "os_compute_api:servers:migrations": "servers_migrations",
    "os_compute_api:servers": "servers",
    "compute:servers": "servers",
    "network:attach_external_network": "servers",
    "os_compute_api:os-services": "services",
    "os_compute_api:os-shelve": "shelve",
    "os_compute_api:os-simple-tenant-usage": "simple_tenant_usage",
    "os_compute_api:os-suspend-server": "suspend_server",
    "os_compute_api:os-tenant-networks": "tenant_networks",
    "os_compute_api:os-volumes-attachments": "volumes_attachments",
    "os_compute_api:os-volumes": "volumes",
}

#: What each module is about, for its docstring.
AREAS = {
    "admin_actions": "admin-only server actions (reset state, inject network info)",
    "admin_password": "changing a server's administrator password",
    "aggregates": "host aggregates and their image pre-caching",
    "assisted_volume_snapshots": "snapshots of volumes the hypervisor takes for Cinder",
    "attach_interfaces": "a server's port interfaces",
    "availability_zone": "availability zones",
    "baremetal_nodes": "the bare-metal node proxy to Ironic",
    "console_auth_tokens": "console authentication tokens",
    "console_output": "a server's console log",
    "create_backup": "server backups",
    "deferred_delete": "soft-deleted servers",
    "evacuate": "evacuating a server off a failed host",
    "extended_server_attributes": "the OS-EXT-SRV-ATTR server fields",
    "extensions": "the extension list",
    "flavor_access": "private flavor access",
    "flavor_extra_specs": "flavor extra specs",
    "flavor_manage": "creating, updating and deleting flavors",
    "floating_ip_pools": "floating IP pools (a Neutron proxy)",
    "floating_ips": "floating IPs (a Neutron proxy)",
    "hosts": "the deprecated os-hosts API",
    "hypervisors": "hypervisors",
    "instance_actions": "a server's action log and its events",
    "instance_usage_audit_log": "the instance usage audit log",
    "ips": "a server's addresses",
    "keypairs": "key pairs",
    "limits": "absolute limits",
    "lock_server": "locking servers",
    "migrate_server": "cold and live migration",
    "migrations": "the migration list",
    "multinic": "fixed IPs added to and removed from servers",
    "networks": "networks (a Neutron proxy)",
    "pause_server": "pausing servers",
    "quota_class_sets": "quota classes",
    "quota_sets": "project and user quotas",
    "remote_consoles": "remote consoles",
    "rescue": "rescue mode",
    "security_groups": "security groups (a Neutron proxy)",
    "server_diagnostics": "server diagnostics",
    "server_external_events": "external events sent to servers",
    "server_groups": "server groups",
    "server_metadata": "server metadata",
    "server_password": "the encrypted server password",
    "server_tags": "server tags",
    "server_topology": "a server's NUMA topology",
    "servers": "servers",
    "servers_migrations": "a server's in-progress migrations",
    "services": "compute services",
    "shelve": "shelving servers",
    "simple_tenant_usage": "usage reports",
    "suspend_server": "suspending servers",
    "tenant_networks": "project networks (a Neutron proxy)",
    "volumes": "volumes and volume snapshots (a Cinder proxy)",
    "volumes_attachments": "volumes attached to servers",
}

DESCRIPTIONS = {
    "context_is_admin": "Who counts as an administrator (the is_admin:True check).",
    "admin_or_owner": "Old default of the non-admin APIs: an admin or the owning project.",
    "admin_api": "Old default of the admin APIs.",
    "project_member_api": "A member of the project that owns the resource.",
    "project_reader_api": "A reader of the project that owns the resource.",
    "project_member_or_admin": "A member of the owning project, or an administrator.",
    "project_reader_or_admin": "A reader of the owning project, or an administrator.",
    "os_compute_api:os-admin-actions:reset_state": "Force a server's state.",
    "os_compute_api:os-admin-actions:inject_network_info":
        "Push network information into a server.",
    "os_compute_api:os-admin-password": "Set a server's administrator password.",
    "os_compute_api:os-aggregates:set_metadata": "Set an aggregate's metadata.",
    "os_compute_api:os-aggregates:add_host": "Put a host in an aggregate.",
    "os_compute_api:os-aggregates:create": "Make an aggregate.",
    "os_compute_api:os-aggregates:remove_host": "Take a host out of an aggregate.",
    "os_compute_api:os-aggregates:update": "Rename an aggregate or change its zone.",
    "os_compute_api:os-aggregates:index": "See every aggregate.",
    "os_compute_api:os-aggregates:delete": "Remove an aggregate.",
    "os_compute_api:os-aggregates:show": "See one aggregate.",
    "compute:aggregates:images": "Pre-cache images on the hosts of an aggregate.",
    "os_compute_api:os-assisted-volume-snapshots:create":
        "Take a hypervisor-assisted volume snapshot.",
    "os_compute_api:os-assisted-volume-snapshots:delete":
        "Remove a hypervisor-assisted volume snapshot.",
    "os_compute_api:os-attach-interfaces:list": "See the ports of a server.",
    "os_compute_api:os-attach-interfaces:show": "See one port of a server.",
    "os_compute_api:os-attach-interfaces:create": "Plug a port into a server.",
    "os_compute_api:os-attach-interfaces:delete": "Unplug a port from a server.",
    "os_compute_api:os-availability-zone:list": "See the zones, without their hosts.",
    "os_compute_api:os-availability-zone:detail": "See the zones with their hosts.",
    "os_compute_api:os-baremetal-nodes:list": "See the bare-metal nodes (Ironic proxy).",
    "os_compute_api:os-baremetal-nodes:show": "See one bare-metal node (Ironic proxy).",
    "os_compute_api:os-console-auth-tokens": "See what a console token connects to.",
    "os_compute_api:os-console-output": "Read a server's console log.",
    "os_compute_api:os-create-backup": "Back a server up to an image.",
    "os_compute_api:os-deferred-delete:restore": "Bring back a soft-deleted server.",
    "os_compute_api:os-deferred-delete:force":
        "Delete a soft-deleted server now, before the reclaim.",
    "os_compute_api:os-evacuate": "Rebuild a server from a dead host elsewhere.",
    "os_compute_api:os-extended-server-attributes":
        "See the OS-EXT-SRV-ATTR fields of servers (host, instance name, reservation, "
        "launch index, hostname, kernel, ramdisk, root device, user data).",
    "os_compute_api:extensions": "See the extension list.",
    "os_compute_api:os-flavor-access:add_tenant_access":
        "Let a project use a private flavor.",
    "os_compute_api:os-flavor-access:remove_tenant_access":
        "Stop a project using a private flavor.",
    "os_compute_api:os-flavor-access": "See which projects may use a flavor.",
    "os_compute_api:os-flavor-extra-specs:show": "Read one extra spec of a flavor.",
    "os_compute_api:os-flavor-extra-specs:create": "Add extra specs to a flavor.",
    "os_compute_api:os-flavor-extra-specs:update": "Change one extra spec of a flavor.",
    "os_compute_api:os-flavor-extra-specs:delete": "Remove one extra spec of a flavor.",
    "os_compute_api:os-flavor-extra-specs:index":
        "Read a flavor's extra specs, also in the flavor bodies (2.61 and later).",
    "os_compute_api:os-flavor-manage:create": "Make a flavor.",
    "os_compute_api:os-flavor-manage:update": "Change a flavor's description.",
    "os_compute_api:os-flavor-manage:delete": "Remove a flavor.",
    "os_compute_api:os-floating-ip-pools": "See the floating IP pools.",
    "os_compute_api:os-floating-ips:add": "Give a server a floating IP.",
    "os_compute_api:os-floating-ips:remove": "Take a floating IP off a server.",
    "os_compute_api:os-floating-ips:list": "See the project's floating IPs.",
    "os_compute_api:os-floating-ips:create": "Allocate a floating IP.",
    "os_compute_api:os-floating-ips:show": "See one floating IP.",
    "os_compute_api:os-floating-ips:delete": "Release a floating IP.",
    "os_compute_api:os-hosts:list": "See the hosts.",
    "os_compute_api:os-hosts:show": "See one host's resources.",
    "os_compute_api:os-hosts:update": "Enable, disable or maintain a host.",
    "os_compute_api:os-hosts:reboot": "Reboot a host.",
    "os_compute_api:os-hosts:shutdown": "Shut a host down.",
    "os_compute_api:os-hosts:start": "Start a host.",
    "os_compute_api:os-hypervisors:list": "See the hypervisors.",
    "os_compute_api:os-hypervisors:list-detail": "See the hypervisors in detail.",
    "os_compute_api:os-hypervisors:statistics": "See totals over all hypervisors.",
    "os_compute_api:os-hypervisors:show": "See one hypervisor.",
    "os_compute_api:os-hypervisors:uptime": "See a hypervisor's uptime.",
    "os_compute_api:os-hypervisors:search": "Find hypervisors by host name.",
    "os_compute_api:os-hypervisors:servers": "See the servers on matching hypervisors.",
    "os_compute_api:os-instance-actions:events:details":
        "See the host and details of action events (2.84 and later).",
    "os_compute_api:os-instance-actions:events": "See the events of a server action.",
    "os_compute_api:os-instance-actions:list": "See a server's action log.",
    "os_compute_api:os-instance-actions:show": "See one entry of a server's action log.",
    "os_compute_api:os-instance-usage-audit-log:list": "See the usage audit log.",
    "os_compute_api:os-instance-usage-audit-log:show":
        "See the usage audit log before a time.",
    "os_compute_api:ips:show": "See a server's addresses on one network.",
    "os_compute_api:ips:index": "See a server's addresses.",
    "os_compute_api:os-keypairs:index": "See a user's key pairs.",
    "os_compute_api:os-keypairs:create": "Make or import a key pair.",
    "os_compute_api:os-keypairs:delete": "Remove a key pair.",
    "os_compute_api:os-keypairs:show": "See one key pair.",
    "os_compute_api:limits": "See the project's limits and usage.",
    "os_compute_api:limits:other_project": "See another project's limits.",
    "os_compute_api:os-lock-server:lock": "Lock a server against changes.",
    "os_compute_api:os-lock-server:unlock": "Remove the lock from a server.",
    "os_compute_api:os-lock-server:unlock:unlock_override":
        "Unlock a server that somebody else locked.",
    "os_compute_api:os-migrate-server:migrate": "Cold-migrate a server.",
    "os_compute_api:os-migrate-server:migrate_live": "Live-migrate a server.",
    "os_compute_api:os-migrations:index": "See the migrations.",
    "os_compute_api:os-multinic:add": "Give a server one more fixed IP.",
    "os_compute_api:os-multinic:remove": "Take a fixed IP off a server.",
    "os_compute_api:os-networks:list": "See the networks.",
    "os_compute_api:os-networks:show": "See one network.",
    "os_compute_api:os-pause-server:pause": "Freeze a running server in memory.",
    "os_compute_api:os-pause-server:unpause": "Let a paused server run again.",
    "os_compute_api:os-quota-class-sets:show": "See a quota class.",
    "os_compute_api:os-quota-class-sets:update": "Change a quota class.",
    "os_compute_api:os-quota-sets:update": "Change a project's or user's quotas.",
    "os_compute_api:os-quota-sets:defaults": "See the default quotas.",
    "os_compute_api:os-quota-sets:show": "See a project's or user's quotas.",
    "os_compute_api:os-quota-sets:delete": "Reset a project's or user's quotas.",
    "os_compute_api:os-quota-sets:detail": "See quotas with their usage and reservations.",
    "os_compute_api:os-remote-consoles": "Open a remote console on a server.",
    "os_compute_api:os-rescue": "Boot a server into rescue mode.",
    "os_compute_api:os-unrescue": "Bring a server out of rescue mode.",
    "os_compute_api:os-security-groups:get": "See the security groups.",
    "os_compute_api:os-security-groups:show": "See one security group.",
    "os_compute_api:os-security-groups:create": "Make a security group.",
    "os_compute_api:os-security-groups:update": "Change a security group.",
    "os_compute_api:os-security-groups:delete": "Remove a security group.",
    "os_compute_api:os-security-groups:rule:create": "Add a security group rule.",
    "os_compute_api:os-security-groups:rule:delete": "Remove a security group rule.",
    "os_compute_api:os-security-groups:list": "See a server's security groups.",
    "os_compute_api:os-security-groups:add": "Put a server in a security group.",
    "os_compute_api:os-security-groups:remove": "Take a server out of a security group.",
    "os_compute_api:os-server-diagnostics": "See a server's hypervisor diagnostics.",
    "os_compute_api:os-server-external-events:create":
        "Send events to servers (the network and volume services do).",
    "os_compute_api:os-server-groups:create": "Make a server group.",
    "os_compute_api:os-server-groups:delete": "Remove a server group.",
    "os_compute_api:os-server-groups:index": "See the project's server groups.",
    "os_compute_api:os-server-groups:index:all_projects":
        "See the server groups of every project.",
    "os_compute_api:os-server-groups:show": "See one server group.",
    "os_compute_api:server-metadata:index": "See a server's metadata.",
    "os_compute_api:server-metadata:show": "See one metadata item of a server.",
    "os_compute_api:server-metadata:create": "Add metadata to a server.",
    "os_compute_api:server-metadata:update_all": "Replace a server's metadata.",
    "os_compute_api:server-metadata:update": "Set one metadata item of a server.",
    "os_compute_api:server-metadata:delete": "Remove one metadata item of a server.",
    "os_compute_api:os-server-password:show": "Read a server's encrypted password.",
    "os_compute_api:os-server-password:clear": "Forget a server's encrypted password.",
    "os_compute_api:os-server-tags:delete_all": "Remove every tag of a server.",
    "os_compute_api:os-server-tags:index": "See a server's tags.",
    "os_compute_api:os-server-tags:update_all": "Replace a server's tags.",
    "os_compute_api:os-server-tags:delete": "Remove one tag of a server.",
    "os_compute_api:os-server-tags:update": "Add one tag to a server.",
    "os_compute_api:os-server-tags:show": "Check that a server has a tag.",
    "compute:server:topology:index": "See a server's NUMA topology.",
    "compute:server:topology:host:index":
        "See the host CPU and NUMA cell numbers in a server's topology.",
    "os_compute_api:servers:index": "See the project's servers.",
    "os_compute_api:servers:detail": "See the project's servers in detail.",
    "os_compute_api:servers:index:get_all_tenants": "See the servers of every project.",
    "os_compute_api:servers:detail:get_all_tenants":
        "See the servers of every project in detail.",
    "os_compute_api:servers:allow_all_filters": "Filter server lists by any field.",
    "os_compute_api:servers:show": "See one server.",
    "os_compute_api:servers:show:flavor-extra-specs":
        "See the flavor extra specs in server bodies (2.47 and later).",
    "os_compute_api:servers:show:host_status": "See host_status in server bodies (2.16+).",
    "os_compute_api:servers:show:host_status:unknown-only":
        "See host_status in server bodies only when it is UNKNOWN (2.16+).",
    "os_compute_api:servers:create": "Boot a server.",
    "os_compute_api:servers:create:forced_host":
        "Boot on a named host or node, skipping the scheduler's filters.",
    "compute:servers:create:requested_destination":
        "Boot on a named host or node, through the scheduler's filters.",
    "os_compute_api:servers:create:attach_volume": "Boot with volumes attached.",
    "os_compute_api:servers:create:attach_network": "Boot with networks or ports.",
    "os_compute_api:servers:create:trusted_certs": "Boot with trusted certificates.",
    "os_compute_api:servers:create:zero_disk_flavor":
        "Boot from an image with a flavor of no root disk.",
    "network:attach_external_network": "Plug a server into an external network.",
    "os_compute_api:servers:delete": "Delete a server and free what it holds.",
    "os_compute_api:servers:update": "Change a server's name or description.",
    "os_compute_api:servers:confirm_resize": "Confirm a resize or migration.",
    "os_compute_api:servers:revert_resize": "Roll back a resize or migration.",
    "os_compute_api:servers:reboot": "Soft- or hard-reboot a server.",
    "os_compute_api:servers:resize": "Move a server to another flavor.",
    "compute:servers:resize:cross_cell": "Resize a server into another cell.",
    "os_compute_api:servers:rebuild": "Rebuild a server from an image.",
    "os_compute_api:servers:rebuild:trusted_certs":
        "Rebuild a server with trusted certificates.",
    "os_compute_api:servers:create_image": "Snapshot a server to an image.",
    "os_compute_api:servers:create_image:allow_volume_backed":
        "Snapshot a volume-backed server.",
    "os_compute_api:servers:start": "Power a stopped server on.",
    "os_compute_api:servers:stop": "Power a server off.",
    "os_compute_api:servers:trigger_crash_dump": "Make a server dump its memory.",
    "os_compute_api:servers:migrations:show": "See one migration of a server.",
    "os_compute_api:servers:migrations:force_complete":
        "Force a live migration to finish.",
    "os_compute_api:servers:migrations:delete": "Abort a live migration.",
    "os_compute_api:servers:migrations:index": "See a server's migrations.",
    "os_compute_api:os-services:list": "See the compute services.",
    "os_compute_api:os-services:update": "Enable, disable or force down a service.",
    "os_compute_api:os-services:delete": "Remove a service.",
    "os_compute_api:os-shelve:shelve": "Shelve a server.",
    "os_compute_api:os-shelve:unshelve": "Unshelve a server.",
    "os_compute_api:os-shelve:unshelve_to_host":
        "Unshelve a server onto a named host (2.91 and later).",
    "os_compute_api:os-shelve:shelve_offload": "Offload a shelved server from its host.",
    "os_compute_api:os-simple-tenant-usage:show": "See one project's usage.",
    "os_compute_api:os-simple-tenant-usage:list": "See the usage of every project.",
    "os_compute_api:os-suspend-server:resume": "Resume a suspended server.",
    "os_compute_api:os-suspend-server:suspend": "Suspend a server.",
    "os_compute_api:os-tenant-networks:list": "See the project's networks.",
    "os_compute_api:os-tenant-networks:show": "See one of the project's networks.",
    "os_compute_api:os-volumes:list": "See the volumes.",
    "os_compute_api:os-volumes:create": "Make a volume.",
    "os_compute_api:os-volumes:detail": "See the volumes in detail.",
    "os_compute_api:os-volumes:show": "See one volume.",
    "os_compute_api:os-volumes:delete": "Remove a volume.",
    "os_compute_api:os-volumes:snapshots:list": "See the volume snapshots.",
    "os_compute_api:os-volumes:snapshots:create": "Snapshot a volume.",
    "os_compute_api:os-volumes:snapshots:detail": "See the volume snapshots in detail.",
    "os_compute_api:os-volumes:snapshots:show": "See one volume snapshot.",
    "os_compute_api:os-volumes:snapshots:delete": "Remove a volume snapshot.",
    "os_compute_api:os-volumes-attachments:index": "See a server's volume attachments.",
    "os_compute_api:os-volumes-attachments:create": "Attach a volume to a server.",
    "os_compute_api:os-volumes-attachments:show": "See one volume attachment.",
    "os_compute_api:os-volumes-attachments:update":
        "Change a volume attachment's tag or delete flag (2.85 and later).",
    "os_compute_api:os-volumes-attachments:swap": "Swap the volume under an attachment.",
    "os_compute_api:os-volumes-attachments:delete": "Detach a volume from a server.",
}

#: Check strings with a name in ``base``.
CHECK_NAMES = {
    "rule:context_is_admin": "base.ADMIN",
    "rule:project_member_api": "base.PROJECT_MEMBER",
    "rule:project_reader_api": "base.PROJECT_READER",
    "rule:project_member_or_admin": "base.PROJECT_MEMBER_OR_ADMIN",
    "rule:project_reader_or_admin": "base.PROJECT_READER_OR_ADMIN",
    "rule:admin_or_owner": "base.RULE_ADMIN_OR_OWNER",
    "rule:admin_api": "base.RULE_ADMIN_API",
    "@": "base.RULE_ANY",
    "!": "base.RULE_NOBODY",
    # Key pairs belong to users: the admin, or the user the target names.
    "(rule:context_is_admin) or user_id:%(user_id)s":
        'f"({base.ADMIN}) or user_id:%(user_id)s"',
}


def module_of(name: str) -> str:
    best = max((p for p in MODULES if name == p or name.startswith(p + ":")),
               key=len, default=None)
    if best is None:
        raise SystemExit(f"no module for {name}")
    return MODULES[best]


def _q(text: str) -> str:
    return json.dumps(text)


def _check(check: str) -> str:
    return CHECK_NAMES.get(check, _q(check))


def _operations(operations: list[dict[str, str]]) -> list[str]:
    items = [f'{{"method": {_q(op["method"])}, "path": {_q(op["path"])}}}'
             for op in operations]
    one_line = f"        operations=[{', '.join(items)}],"
    if len(one_line) <= 100:
        return [one_line]
    return ["        operations=[", *(f"            {item}," for item in items), "        ],"]


def _description(text: str) -> list[str]:
    line = f"        description={_q(text)},"
    if len(line) <= 100:
        return [line]
    return ["        description=(", f"            {_q(text)}),"]


def _rule_source(rule: SampleRule) -> str:
    lines = ["    policy.DocumentedRuleDefault("]
    lines.append(f"        name={_q(rule.name)},")
    lines.append(f"        check_str={_check(rule.check_str)},")
    lines.extend(_description(DESCRIPTIONS[rule.name]))
    lines.extend(_operations(rule.operations))
    lines.append(f"        scope_types={json.dumps(rule.scope_types)},")
    if rule.deprecated:
        old_name, old_check, since = rule.deprecated
        lines.append("        deprecated_rule=base.deprecated(")
        lines.append(f"            {_q(old_name)}, {_check(old_check)}, {_q(since)}),")
    lines.append("    ),")
    return "\n".join(lines)


def module_source(module: str, rules: list[SampleRule]) -> str:
    head = (f'"""Policy defaults for {AREAS[module]}."""\n'
            "from oslo_policy import policy\n\n"
            "from nova_tx.policies import base\n\n"
            "rules = [\n")
    body = "\n".join(_rule_source(rule) for rule in rules)
    tail = ("\n]\n\n\n"
            "def list_rules() -> list[policy.RuleDefault]:\n"
            "    return rules\n")
    return head + body + tail


def main() -> None:
    by_module: dict[str, list[SampleRule]] = {}
    for rule in load_sample():
        if rule.operations:
            by_module.setdefault(module_of(rule.name), []).append(rule)
    for module, rules in by_module.items():
        with open(os.path.join(OUT, module + ".py"), "w") as f:
            f.write(module_source(module, rules))
    print("\n".join(by_module))


if __name__ == "__main__":
    main()
