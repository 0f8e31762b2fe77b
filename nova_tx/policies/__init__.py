"""Nova's default policy in code: one module per API area, as Nova splits them.

``list_rules()`` is every default, in the order Nova 26's sample lists them; it is the
``oslo.policy.policies`` entry point (namespace ``nova_tx``) that
``oslopolicy-sample-generator`` reads.
"""
import itertools

from oslo_policy import policy

from nova_tx.policies import (
    admin_actions,
    admin_password,
    aggregates,
    assisted_volume_snapshots,
    attach_interfaces,
    availability_zone,
    baremetal_nodes,
    base,
    console_auth_tokens,
    console_output,
    create_backup,
    deferred_delete,
    evacuate,
    extended_server_attributes,
    extensions,
    flavor_access,
    flavor_extra_specs,
    flavor_manage,
    floating_ip_pools,
    floating_ips,
    hosts,
    hypervisors,
    instance_actions,
    instance_usage_audit_log,
    ips,
    keypairs,
    limits,
    lock_server,
    migrate_server,
    migrations,
    multinic,
    networks,
    pause_server,
    quota_class_sets,
    quota_sets,
    remote_consoles,
    rescue,
    security_groups,
    server_diagnostics,
    server_external_events,
    server_groups,
    server_metadata,
    server_password,
    server_tags,
    server_topology,
    servers,
    servers_migrations,
    services,
    shelve,
    simple_tenant_usage,
    suspend_server,
    tenant_networks,
    volumes,
    volumes_attachments,
)

#: The modules whose rules make up the policy, in their listing order.
MODULES = (
    base, admin_actions, admin_password, aggregates, assisted_volume_snapshots,
    attach_interfaces, availability_zone, baremetal_nodes, console_auth_tokens,
    console_output, create_backup, deferred_delete, evacuate, extended_server_attributes,
    extensions, flavor_access, flavor_extra_specs, flavor_manage, floating_ip_pools,
    floating_ips, hosts, hypervisors, instance_actions, instance_usage_audit_log, ips,
    keypairs, limits, lock_server, migrate_server, migrations, multinic, networks,
    pause_server, quota_class_sets, quota_sets, remote_consoles, rescue, security_groups,
    server_diagnostics, server_external_events, server_groups, server_metadata,
    server_password, server_tags, server_topology, servers, servers_migrations, services,
    shelve, simple_tenant_usage, suspend_server, tenant_networks, volumes,
    volumes_attachments,
)


def list_rules() -> list[policy.RuleDefault]:
    return list(itertools.chain.from_iterable(module.list_rules() for module in MODULES))
