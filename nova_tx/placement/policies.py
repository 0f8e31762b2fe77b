"""Placement's policy rules (names, defaults, deprecated rules) and their enforcer.

Names and check strings are OpenStack Placement's (Zed, ``placement/policies/``), so
a ``policy.yaml`` written for Placement applies here unchanged. Everything is
project-scoped; with ``[oslo_policy] enforce_new_defaults`` off (the default) each
rule also passes its deprecated check, ``rule:admin_api`` (``role:admin``), as
oslo.policy does for deprecated rules. The policy file is ``[oslo_policy]
policy_file``, as for the compute API: Placement's rule names cannot clash with
Nova's.

Not oslo.policy's business here: system-scoped tokens are refused before any rule
(Placement's rules are project-scoped and Placement enforces scope).
"""
from __future__ import annotations

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy

ADMIN_OR_SERVICE = "role:admin or role:service"
SERVICE = "role:service"
PROJECT_READER_OR_ADMIN_OR_SERVICE = (
    "(role:reader and project_id:%(project_id)s) or role:admin or role:service")

_DEPRECATED_REASON = (
    "The placement API now supports system scope and default roles.")
DEPRECATED_ADMIN = policy.DeprecatedRule(
    name="admin_api", check_str="role:admin", deprecated_reason=_DEPRECATED_REASON,
    deprecated_since="6.0.0")

BASE_RULES = [
    policy.RuleDefault("admin_api", "role:admin",
                       description="Default rule for most placement APIs.",
                       scope_types=["project"]),
    policy.RuleDefault("service_api", SERVICE,
                       description="Default rule for service-to-service placement APIs.",
                       scope_types=["project"]),
    policy.RuleDefault("admin_or_service_api", ADMIN_OR_SERVICE,
                       description="Default rule for most placement APIs.",
                       scope_types=["project"]),
]

# (name, check string, method, path, description)
_API = [
    ("placement:resource_providers:list", ADMIN_OR_SERVICE, "GET", "/resource_providers",
     "List resource providers."),
    ("placement:resource_providers:create", ADMIN_OR_SERVICE, "POST", "/resource_providers",
     "Create resource provider."),
    ("placement:resource_providers:show", ADMIN_OR_SERVICE, "GET",
     "/resource_providers/{uuid}", "Show resource provider."),
    ("placement:resource_providers:update", ADMIN_OR_SERVICE, "PUT",
     "/resource_providers/{uuid}", "Update resource provider."),
    ("placement:resource_providers:delete", ADMIN_OR_SERVICE, "DELETE",
     "/resource_providers/{uuid}", "Delete resource provider."),
    ("placement:resource_classes:list", ADMIN_OR_SERVICE, "GET", "/resource_classes",
     "List resource classes."),
    ("placement:resource_classes:create", ADMIN_OR_SERVICE, "POST", "/resource_classes",
     "Create resource class."),
    ("placement:resource_classes:show", ADMIN_OR_SERVICE, "GET", "/resource_classes/{name}",
     "Show resource class."),
    ("placement:resource_classes:update", ADMIN_OR_SERVICE, "PUT",
     "/resource_classes/{name}", "Update resource class."),
    ("placement:resource_classes:delete", ADMIN_OR_SERVICE, "DELETE",
     "/resource_classes/{name}", "Delete resource class."),
    ("placement:resource_providers:inventories:list", ADMIN_OR_SERVICE, "GET",
     "/resource_providers/{uuid}/inventories", "List resource provider inventories."),
    ("placement:resource_providers:inventories:create", ADMIN_OR_SERVICE, "POST",
     "/resource_providers/{uuid}/inventories", "Create one resource provider inventory."),
    ("placement:resource_providers:inventories:show", ADMIN_OR_SERVICE, "GET",
     "/resource_providers/{uuid}/inventories/{resource_class}",
     "Show resource provider inventory."),
    ("placement:resource_providers:inventories:update", ADMIN_OR_SERVICE, "PUT",
     "/resource_providers/{uuid}/inventories", "Update resource provider inventory."),
    ("placement:resource_providers:inventories:delete", ADMIN_OR_SERVICE, "DELETE",
     "/resource_providers/{uuid}/inventories", "Delete resource provider inventory."),
    ("placement:resource_providers:aggregates:list", ADMIN_OR_SERVICE, "GET",
     "/resource_providers/{uuid}/aggregates", "List resource provider aggregates."),
    ("placement:resource_providers:aggregates:update", ADMIN_OR_SERVICE, "PUT",
     "/resource_providers/{uuid}/aggregates", "Update resource provider aggregates."),
    ("placement:resource_providers:usages", ADMIN_OR_SERVICE, "GET",
     "/resource_providers/{uuid}/usages", "List resource provider usages."),
    ("placement:usages", PROJECT_READER_OR_ADMIN_OR_SERVICE, "GET", "/usages",
     "List total resource usages for a given project."),
    ("placement:traits:list", ADMIN_OR_SERVICE, "GET", "/traits", "List traits."),
    ("placement:traits:show", ADMIN_OR_SERVICE, "GET", "/traits/{name}", "Show trait."),
    ("placement:traits:update", ADMIN_OR_SERVICE, "PUT", "/traits/{name}", "Update trait."),
    ("placement:traits:delete", ADMIN_OR_SERVICE, "DELETE", "/traits/{name}",
     "Delete trait."),
    ("placement:resource_providers:traits:list", ADMIN_OR_SERVICE, "GET",
     "/resource_providers/{uuid}/traits", "List resource provider traits."),
    ("placement:resource_providers:traits:update", ADMIN_OR_SERVICE, "PUT",
     "/resource_providers/{uuid}/traits", "Update resource provider traits."),
    ("placement:resource_providers:traits:delete", ADMIN_OR_SERVICE, "DELETE",
     "/resource_providers/{uuid}/traits", "Delete resource provider traits."),
    ("placement:allocations:manage", ADMIN_OR_SERVICE, "POST", "/allocations",
     "Manage allocations."),
    ("placement:allocations:list", ADMIN_OR_SERVICE, "GET", "/allocations/{consumer_uuid}",
     "List allocations."),
    ("placement:allocations:update", ADMIN_OR_SERVICE, "PUT", "/allocations/{consumer_uuid}",
     "Update allocations."),
    ("placement:allocations:delete", ADMIN_OR_SERVICE, "DELETE",
     "/allocations/{consumer_uuid}", "Delete allocations."),
    ("placement:resource_providers:allocations:list", ADMIN_OR_SERVICE, "GET",
     "/resource_providers/{uuid}/allocations", "List resource provider allocations."),
    ("placement:allocation_candidates:list", ADMIN_OR_SERVICE, "GET",
     "/allocation_candidates", "List allocation candidates."),
    ("placement:reshaper:reshape", SERVICE, "POST", "/reshaper", "Reshape Inventory and Allocations."),
]


def list_rules() -> list[policy.RuleDefault]:
    return BASE_RULES + [
        policy.DocumentedRuleDefault(
            name=name, check_str=check, description=description,
            operations=[{"method": method, "path": path}], scope_types=["project"],
            deprecated_rule=DEPRECATED_ADMIN)
        for name, check, method, path, description in _API]


def make_enforcer(conf: cfg.ConfigOpts | None) -> policy.Enforcer:
    """An Enforcer of Placement's rules, reading ``[oslo_policy]`` from ``conf``."""
    if conf is None:
        conf = cfg.ConfigOpts()
        conf([], project="nova")
    # Zed's defaults (oslo.policy 4.0 and later default enforce_new_defaults to True).
    policy_opts.set_defaults(conf, policy_file="policy.yaml", enforce_new_defaults=False)
    enforcer = policy.Enforcer(conf)
    enforcer.suppress_deprecation_warnings = True
    enforcer.suppress_default_change_warnings = True
    enforcer.register_defaults(list_rules())
    return enforcer
