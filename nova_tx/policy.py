"""Policy enforcement with oslo.policy, as Nova does it.

The defaults are in code (``nova_tx.policies``); an operator overrides any rule in
``policy.yaml`` (``[oslo_policy] policy_file``, plus the files in ``policy_dirs``), which
oslo.policy re-reads when it changes. A denial raises
``nova_tx.exception.PolicyNotAuthorized``, which the REST layer answers with 403.

Two switches from ``[oslo_policy]`` decide how strict the defaults are, and Nova 26
(Zed) shipped with both off:

- ``enforce_new_defaults``: when off, a rule that replaced an older one passes if
  either the new or the old check string passes (``admin_or_owner`` lets any role of
  the owning project through where the new rule wants ``member`` or ``reader``).
- ``enforce_scope``: when on, a token of the wrong scope (a system-scoped token on a
  project-scoped rule) is refused before the check string is looked at; when off, the
  mismatch is only logged. oslo.policy 4.x had this option; later releases always
  check scope and dropped it, so where it is missing we register it ourselves and
  keep its Zed meaning.

The API calls ``context.can(action, target)`` (``nova_tx.context.RequestContext.can``)
or ``authorize(context, action, target)`` here. The target names the owner of what is
being touched (``{"project_id": ..., "user_id": ...}``); without one the caller's own
project and user are the target, which suits creating things and listing one's own.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_policy import opts as policy_opts
from oslo_policy import policy

from nova_tx import exception, policies

if TYPE_CHECKING:
    from nova_tx.context import RequestContext

LOG = logging.getLogger(__name__)

GROUP = "oslo_policy"
DEFAULT_POLICY_FILE = "policy.yaml"

_OSLO_OPTS = policy_opts.list_opts()[0][1]
#: Whether the installed oslo.policy still has its own ``enforce_scope`` option.
OSLO_HAS_ENFORCE_SCOPE = any(opt.name == "enforce_scope" for opt in _OSLO_OPTS)

#: The defaults of the reference Zed sample (generated with a newer oslo.policy: new
#: defaults on); docs/decisions.md.
ZED_DEFAULTS: dict[str, Any] = {"enforce_new_defaults": True}
if OSLO_HAS_ENFORCE_SCOPE:
    ZED_DEFAULTS["enforce_scope"] = False

ENFORCE_SCOPE_OPT = cfg.BoolOpt(
    "enforce_scope",
    default=False,
    help="Refuse a request whose token scope (system, domain or project) is not one of "
         "the scope types of the policy rule it is checked against. When false, the "
         "mismatch is only logged and the rule's check string decides.")


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register ``[oslo_policy]`` on ``conf`` with Nova 26's defaults."""
    policy_opts.set_defaults(conf, policy_file=DEFAULT_POLICY_FILE, **ZED_DEFAULTS)
    if not OSLO_HAS_ENFORCE_SCOPE:
        conf.register_opt(ENFORCE_SCOPE_OPT, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """``[oslo_policy]`` as nova-tx registers it, for the sample config."""
    policy_opts.set_defaults(cfg.ConfigOpts(), policy_file=DEFAULT_POLICY_FILE,
                             **ZED_DEFAULTS)
    group, opts = policy_opts.list_opts()[0]
    if not OSLO_HAS_ENFORCE_SCOPE:
        opts = [*opts, ENFORCE_SCOPE_OPT]
    return [(group, sorted(opts, key=lambda opt: opt.name))]


@policy.register("is_admin")
class IsAdminCheck(policy.Check):
    """``is_admin:True`` compares with the context's boolean ``is_admin`` (as Nova)."""

    def __init__(self, kind: str, match: str) -> None:
        self.expected = match.lower() == "true"
        super().__init__(kind, str(self.expected))

    def __call__(self, target: Any, creds: Mapping[str, Any], enforcer: Any,
                 current_rule: str | None = None) -> bool:
        return creds.get("is_admin") == self.expected


class Enforcer(policy.Enforcer):
    """oslo.policy's enforcer with ``enforce_scope`` honoured on every oslo.policy.

    Releases after 4.x check the scope unconditionally; with ``enforce_scope`` off
    (Zed's default) a mismatch is logged and the check string decides, as it did.
    """

    def _enforce_scope(self, creds: Any, rule: Any, *, do_raise: bool) -> bool:
        if self.conf.oslo_policy.enforce_scope:
            return super()._enforce_scope(creds, rule, do_raise=do_raise)
        if not super()._enforce_scope(creds, rule, do_raise=False):
            LOG.debug("Policy %s is for scope %s; the token's scope is not, which "
                      "[oslo_policy] enforce_scope = False lets through",
                      getattr(rule, "name", rule), rule.scope_types)
        return True


_ENFORCERS: dict[int, tuple[cfg.ConfigOpts, Enforcer]] = {}
_ENFORCER: Enforcer | None = None


def get_enforcer(conf: cfg.ConfigOpts | None = None) -> Enforcer:
    """The enforcer of ``conf`` (built once per ConfigOpts), with every default.

    ``conf`` must have been parsed (called) before the first check: oslo.policy looks
    ``policy_file`` up along the config files' directories.

    Without ``conf`` (the ``oslo.policy.enforcer`` entry point, which
    ``oslopolicy-policy-generator`` and ``oslopolicy-checker`` call after parsing their
    own command line into oslo.config's global CONF) the enforcer reads the same
    config files, or nova.conf from the usual places, into a ConfigOpts of its own.
    """
    if conf is None:
        conf = _tool_conf()
    known = _ENFORCERS.get(id(conf))
    if known is not None and known[0] is conf:
        return known[1]
    register_opts(conf)
    enforcer = Enforcer(conf)
    # Every default changed in the move to the new roles; one warning per rule at
    # each load would bury the log (Nova silences them too).
    enforcer.suppress_default_change_warnings = True
    enforcer.register_defaults(policies.list_rules())
    _ENFORCERS[id(conf)] = (conf, enforcer)
    return enforcer


def _tool_conf() -> cfg.ConfigOpts:
    files = list(getattr(cfg.CONF, "config_file", None) or [])
    conf = cfg.ConfigOpts()
    register_opts(conf)
    conf([], project="nova", default_config_files=files or None)
    return conf


def init(conf: cfg.ConfigOpts | None = None) -> Enforcer:
    """Make ``conf``'s enforcer the one ``authorize`` uses (the global CONF's if none)."""
    global _ENFORCER
    _ENFORCER = get_enforcer(conf) if conf is not None else _global_enforcer()
    return _ENFORCER


def reset() -> None:
    """Forget every enforcer (tests; a new ``policy.yaml`` location)."""
    global _ENFORCER
    for _conf, enforcer in _ENFORCERS.values():
        enforcer.clear()
    _ENFORCERS.clear()
    _ENFORCER = None


def _global_enforcer() -> Enforcer:
    from nova_tx.conf import CONF

    return get_enforcer(CONF)


def default_target(context: RequestContext) -> dict[str, Any]:
    return {"project_id": context.project_id, "user_id": context.user_id}


def authorize(context: RequestContext, action: str, target: Mapping[str, Any] | None = None,
              fatal: bool = True) -> bool:
    """Whether ``context`` may do ``action`` to ``target``.

    Raises ``PolicyNotAuthorized`` (403) when not, unless ``fatal`` is false, in which
    case the answer is False. An action without a registered rule is a programming
    error and raises ``oslo_policy.policy.PolicyNotRegistered``.
    """
    enforcer = _ENFORCER or init()
    if target is None:
        target = default_target(context)
    credentials = context.to_policy_values()
    try:
        return enforcer.authorize(action, target, credentials, do_raise=True,
                                  exc=exception.PolicyNotAuthorized, action=action)
    except policy.PolicyNotRegistered:
        LOG.exception("Policy %s is not registered", action)
        raise
    except policy.InvalidScope:
        LOG.debug("Policy check for %s failed the scope check with credentials %s",
                  action, credentials)
        if fatal:
            raise exception.PolicyNotAuthorized(action=action) from None
        return False
    except exception.PolicyNotAuthorized:
        LOG.debug("Policy check for %s failed with credentials %s", action, credentials)
        if fatal:
            raise
        return False


def check_is_admin(context: RequestContext) -> bool:
    """Whether the ``context_is_admin`` rule holds for ``context`` (never raises)."""
    enforcer = _ENFORCER or init()
    return bool(enforcer.authorize("context_is_admin", default_target(context),
                                   context.to_policy_values()))
