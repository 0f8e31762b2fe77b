"""The quota engine: Nova Zed's ``DbQuotaDriver`` (and ``NoopQuotaDriver``) with counted
usage, as ``nova/quota.py`` and ``objects.Quotas`` have it since Pike.

Limits: a resource's limit for a project is the project's row in ``quotas``, else
the ``default`` quota class's row in ``quota_classes``, else the ``[quota]`` option
(-1 for the nova-network leftovers, which have none); a user's limit is the user's
row in ``project_user_quotas``, else the project's. -1 is unlimited.

Usage is never stored: it is counted when a check needs it, by a *counter* per
countable resource, an async callable returning Nova's count dict
``{"project": {resource: n, ...}, "user": {resource: n, ...}}``:

======================  ===============================================  ==============
resource(s)             counter signature                                default counter
======================  ===============================================  ==============
instances, cores, ram   ``(context, project_id, user_id=None)``          cell databases
key_pairs               ``(context, user_id)``                           API database
server_groups           ``(context, project_id, user_id=None)``          API database
server_group_members    ``(context, group_uuid, user_id)``               API database
======================  ===============================================  ==============

Instances, cores and ram are counted in every cell database (Nova's legacy
counting, ``count_instances_in_cell`` in each cell) when the engine has the cells;
counting from placement (``[quota] count_usage_from_placement``) is the compute
API's counter to register (``register_counter``); until it does, the cells are
counted (with a warning).

Checks raise ``OverQuota`` (403) with ``overs``, ``quotas``, ``usages`` and
``headroom`` in its ``kwargs``; ``check_num_instances_quota`` turns that into Nova's
"Quota exceeded for instances: Requested 1, but already used 10 of 10 instances".
"""
from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg

from nova_tx import exception, log
from nova_tx.conf import quota as quota_conf
from nova_tx.db.api import key_pairs as key_pairs_db
from nova_tx.db.api import quotas as quotas_db

LOG = log.getLogger(__name__)

Counter = Callable[..., Awaitable[dict[str, dict[str, int]]]]

DB_DRIVER = "nova.quota.DbQuotaDriver"
NOOP_DRIVER = "nova.quota.NoopQuotaDriver"
UNIFIED_LIMITS_DRIVER = "nova.quota.UnifiedLimitsDriver"

#: Resources whose limit is only ever the project's (Nova's PER_PROJECT_QUOTAS): a
#: per-user update of them changes the project's row.
PER_PROJECT_QUOTAS = ("fixed_ips", "floating_ips", "networks")
#: Counted together by one counter.
INSTANCE_RESOURCES = ("instances", "cores", "ram")


@dataclasses.dataclass(frozen=True)
class Resource:
    """A quota resource: its name and the ``[quota]`` option of its default."""

    name: str
    flag: str | None = None
    countable: bool = False

    def default(self, conf: cfg.ConfigOpts) -> int:
        return -1 if self.flag is None else getattr(conf.quota, self.flag)


#: Nova's resources, in Nova's order (responses list them in this order).
RESOURCES: dict[str, Resource] = {r.name: r for r in (
    Resource("instances", "instances", countable=True),
    Resource("cores", "cores", countable=True),
    Resource("ram", "ram", countable=True),
    Resource("metadata_items", "metadata_items"),
    Resource("injected_files", "injected_files"),
    Resource("injected_file_content_bytes", "injected_file_content_bytes"),
    Resource("injected_file_path_bytes", "injected_file_path_length"),
    Resource("key_pairs", "key_pairs", countable=True),
    Resource("server_groups", "server_groups", countable=True),
    Resource("server_group_members", "server_group_members", countable=True),
    # nova-network leftovers: no option, always -1 unless set through the API.
    Resource("fixed_ips"),
    Resource("floating_ips"),
    Resource("security_groups"),
    Resource("security_group_rules"),
)}


def _unlimited_min(a: int, b: int) -> int:
    """The stricter of two limits, -1 being unlimited."""
    if a < 0:
        return b
    if b < 0:
        return a
    return min(a, b)


def _sub(v1: int, v2: int) -> int:
    return -1 if v1 == -1 or v2 == -1 else v1 - v2


@dataclasses.dataclass
class _Limits:
    """The rows a resolution needs, read in one transaction."""

    defaults: dict[str, int]
    project: dict[str, int]
    user: dict[str, int] = dataclasses.field(default_factory=dict)
    all_users: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)


class QuotaEngine:
    """Quota limits, usage and checks for one process.

    ``db`` is the API database's ``DBThreadPool`` (None: no stored limits, the
    ``[quota]`` options apply and nothing API-database is counted; for tests);
    ``cells`` a ``nova_tx.db.cells.CellEngines``: with both, instances, cores and ram
    are counted in the cell databases until another counter is registered.
    ``[quota] driver`` is read when the engine is made.
    """

    def __init__(self, conf: cfg.ConfigOpts, db=None, *, cells=None,
                 counters: dict[str, Counter] | None = None):
        quota_conf.register_opts(conf)
        self.conf = conf
        self.db = db
        driver = conf.quota.driver
        if driver == UNIFIED_LIMITS_DRIVER:
            LOG.warning("[quota] driver = %s is not supported (Nova says: do not use); "
                        "using %s", driver, DB_DRIVER)
        self.noop = driver == NOOP_DRIVER
        self.resources = RESOURCES
        self.counters: dict[str, Counter] = {
            "key_pairs": self._count_key_pairs,
            "server_groups": self._count_server_groups,
            "server_group_members": self._count_server_group_members,
        }
        self.cells = cells
        instance_counter = _count_no_instances
        if db is not None and cells is not None:
            instance_counter = self._count_instances_in_cells
            if conf.quota.count_usage_from_placement:
                LOG.warning("[quota] count_usage_from_placement: until the compute API "
                            "registers a placement counter, instances, cores and ram are "
                            "counted in the cell databases")
        for name in INSTANCE_RESOURCES:
            self.counters[name] = instance_counter
        for name, counter in (counters or {}).items():
            self.register_counter(name, counter)

    def register_counter(self, names: str | Iterable[str], counter: Counter) -> None:
        """Count ``names`` with ``counter`` (instances, cores and ram share one)."""
        for name in [names] if isinstance(names, str) else names:
            if name not in self.resources or not self.resources[name].countable:
                raise exception.QuotaResourceUnknown(unknown=[name])
            self.counters[name] = counter

    # -- the database -----------------------------------------------------------------

    async def _do(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        if self.db is None:
            return None
        return await self.db.do(fn, *args, **kwargs)

    async def _load(self, project_id: str | None, user_id: str | None = None,
                    *, all_users: bool = False) -> _Limits:
        def thd(conn: sa.Connection) -> _Limits:
            return _Limits(
                defaults=quotas_db.get_class_limits(conn),
                project=quotas_db.get_project_limits(conn, project_id) if project_id else {},
                user=(quotas_db.get_user_limits(conn, project_id, user_id)
                      if project_id and user_id else {}),
                all_users=(quotas_db.get_all_user_limits(conn, project_id)
                           if project_id and all_users else {}))

        limits = await self._do(thd)
        if limits is None:
            limits = _Limits(defaults={}, project={})
        return limits

    def _defaults(self, class_limits: dict[str, int]) -> dict[str, int]:
        return {name: class_limits.get(name, resource.default(self.conf))
                for name, resource in self.resources.items()}

    # -- limits -----------------------------------------------------------------------

    async def get_defaults(self, context=None) -> dict[str, int]:
        """Every resource's default limit: the ``default`` class, else the option."""
        if self.noop:
            return {name: -1 for name in self.resources}
        return self._defaults((await self._load(None)).defaults)

    async def get_class_quotas(self, context, class_name: str) -> dict[str, int]:
        """Every resource's limit in a quota class: its row, else the ``[quota]``
        option (Nova's ``get_class_quotas``; the noop driver's are all -1)."""
        if self.noop:
            return {name: -1 for name in self.resources}
        limits = await self._do(quotas_db.get_class_limits, class_name) or {}
        return self._defaults(limits)

    def get_reserved(self) -> int:
        """What the API shows as ``reserved`` (nothing is reserved since Pike)."""
        return -1 if self.noop else 0

    async def get_project_quotas(self, context, project_id: str, *, usages: bool = True,
                                 remains: bool = False) -> dict[str, dict[str, int]]:
        """``{resource: {"limit": n[, "in_use": n][, "remains": n]}}`` of a project.

        ``remains`` is the limit less the limits given to the project's users.
        """
        if self.noop:
            return self._noop_quotas(usages, remains)
        limits = await self._load(project_id, all_users=remains)
        in_use = await self._get_usages(context, project_id) if usages else None
        return self._process(limits.defaults, limits.project, in_use,
                             limits.all_users if remains else None)

    async def get_user_quotas(self, context, project_id: str, user_id: str, *,
                              usages: bool = True) -> dict[str, dict[str, int]]:
        """``{resource: {"limit": n[, "in_use": n]}}`` of a user in a project."""
        if self.noop:
            return self._noop_quotas(usages, False)
        limits = await self._load(project_id, user_id)
        in_use = await self._get_usages(context, project_id, user_id) if usages else None
        return self._process(limits.defaults, {**limits.project, **limits.user}, in_use, None)

    def _process(self, class_limits: dict[str, int], overrides: dict[str, int],
                 in_use: dict[str, int] | None,
                 all_users: dict[str, dict[str, int]] | None) -> dict[str, dict[str, int]]:
        defaults = self._defaults(class_limits)
        result: dict[str, dict[str, int]] = {}
        for name in self.resources:
            limit = overrides.get(name, defaults[name])
            entry = {"limit": limit}
            if in_use is not None:
                entry["in_use"] = in_use.get(name, 0)
            if all_users is not None:
                remains = limit
                for user_limits in all_users.values():
                    if name in user_limits and user_limits[name] >= 0:
                        remains = _sub(remains, user_limits[name])
                entry["remains"] = remains
            result[name] = entry
        return result

    def _noop_quotas(self, usages: bool, remains: bool) -> dict[str, dict[str, int]]:
        result = {}
        for name in self.resources:
            entry = {"limit": -1}
            if usages:
                entry["in_use"] = -1
            if remains:
                entry["remains"] = -1
            result[name] = entry
        return result

    async def get_settable_quotas(self, context, project_id: str,
                                  user_id: str | None = None) -> dict[str, dict[str, int]]:
        """``{resource: {"minimum": n, "maximum": n}}``: what an update may set.

        A project's limit may not go below its usage nor below the sum of what its
        users were given; a user's may not go below the user's usage nor above the
        project's limit less what the other users were given. -1 means no bound.
        (Nova computes the same through "remains", where a project over-allocated by
        exactly one reads as unlimited; here it does not.)
        """
        if self.noop:
            return {name: {"minimum": 0, "maximum": -1} for name in self.resources}
        limits = await self._load(project_id, user_id, all_users=True)
        project = self._process(limits.defaults, limits.project,
                                None if user_id else await self._get_usages(context, project_id),
                                None)
        settable: dict[str, dict[str, int]] = {}
        if user_id:
            in_use = await self._get_usages(context, project_id, user_id)
            for name in self.resources:
                limit = project[name]["limit"]
                if limit < 0:
                    maximum = -1
                else:
                    others = sum(v[name] for user, v in limits.all_users.items()
                                 if user != user_id and v.get(name, -1) >= 0)
                    maximum = max(limit - others, 0)
                settable[name] = {"minimum": in_use.get(name, 0), "maximum": maximum}
        else:
            for name, value in project.items():
                given = sum(v[name] for v in limits.all_users.values()
                            if v.get(name, -1) >= 0)
                settable[name] = {"minimum": max(given, value["in_use"]), "maximum": -1}
        return settable

    async def get_user_limits(self, project_id: str, user_id: str) -> dict[str, int]:
        """The user's own limit rows (no defaults): whether per-user checks apply."""
        return await self._do(quotas_db.get_user_limits, project_id, user_id) or {}

    # -- changing limits ----------------------------------------------------------------

    async def set_limits(self, context, project_id: str, limits: dict[str, int],
                         user_id: str | None = None) -> None:
        """Create or change limits of the project (or of a user in it), in one
        transaction (Nova's ``Quotas.create_limit``/``update_limit``)."""
        unknown = sorted(set(limits) - set(self.resources))
        if unknown:
            raise exception.QuotaResourceUnknown(unknown=unknown)
        if self.noop:
            return

        def thd(conn: sa.Connection) -> None:
            for resource, limit in limits.items():
                if user_id and resource not in PER_PROJECT_QUOTAS:
                    quotas_db.set_user_limit(conn, project_id, user_id, resource, limit)
                else:
                    quotas_db.set_project_limit(conn, project_id, resource, limit)

        await self._do(thd)

    async def set_class_limits(self, context, class_name: str,
                               limits: dict[str, int]) -> None:
        """Create or change limits of a quota class (``default`` is the one read)."""
        unknown = sorted(set(limits) - set(self.resources))
        if unknown:
            raise exception.QuotaResourceUnknown(unknown=unknown)

        def thd(conn: sa.Connection) -> None:
            for resource, limit in limits.items():
                quotas_db.set_class_limit(conn, class_name, resource, limit)

        await self._do(thd)

    async def destroy_all_by_project(self, context, project_id: str) -> None:
        if not self.noop:
            await self._do(quotas_db.destroy_all_by_project, project_id)

    async def destroy_all_by_project_and_user(self, context, project_id: str,
                                              user_id: str) -> None:
        if not self.noop:
            await self._do(quotas_db.destroy_all_by_project_and_user, project_id, user_id)

    # -- usage ----------------------------------------------------------------------------

    async def count_as_dict(self, context, resource: str, *args,
                            **kwargs) -> dict[str, dict[str, int]]:
        """Count ``resource`` (and what its counter counts with it) with the counter's
        arguments (see the module's table)."""
        if resource not in self.resources:
            raise exception.QuotaResourceUnknown(unknown=[resource])
        counter = self.counters.get(resource)
        if counter is None:
            raise exception.InvalidQuotaMethodUsage(method="count", res=resource)
        return await counter(context, *args, **kwargs)

    async def _get_usages(self, context, project_id: str,
                          user_id: str | None = None) -> dict[str, int]:
        """In-use counts for the quota views. key_pairs and server_group_members are
        not counted per project (Nova shows 0 for them)."""
        usages: dict[str, int] = {}
        count = await self.count_as_dict(context, "instances", project_id, user_id=user_id)
        scope = "user" if user_id else "project"
        for name in INSTANCE_RESOURCES:
            usages[name] = count.get(scope, {}).get(name, 0)
        count = await self.count_as_dict(context, "server_groups", project_id,
                                         user_id=user_id)
        usages["server_groups"] = count.get(scope, {}).get("server_groups", 0)
        return usages

    async def _count_instances_in_cells(self, context, project_id: str,
                                        user_id: str | None = None
                                        ) -> dict[str, dict[str, int]]:
        """Nova's legacy count: every cell database (cell0 too), down cells left out."""
        per_cell = await self.db.do(self.cells.gather, count_instances_in_cell,
                                    project_id, user_id=user_id)
        return add_counts(await _count_no_instances(context, project_id, user_id),
                          *per_cell.values())

    async def _count_key_pairs(self, context, user_id: str) -> dict[str, dict[str, int]]:
        count = await self._do(key_pairs_db.count_by_user, user_id)
        return {"user": {"key_pairs": count or 0}}

    async def _count_server_groups(self, context, project_id: str,
                                   user_id: str | None = None) -> dict[str, dict[str, int]]:
        count = await self._do(quotas_db.count_server_groups, project_id, user_id)
        if count is None:
            count = {"project": {"server_groups": 0}}
            if user_id is not None:
                count["user"] = {"server_groups": 0}
        return count

    async def _count_server_group_members(self, context, group: Any,
                                          user_id: str) -> dict[str, dict[str, int]]:
        group_uuid = getattr(group, "uuid", group)
        count = await self._do(quotas_db.count_server_group_members_by_user,
                               group_uuid, user_id)
        return {"user": {"server_group_members": count or 0}}

    # -- checks ---------------------------------------------------------------------------

    def _check_names(self, values: Iterable[str]) -> None:
        for name in values:
            if name not in self.resources:
                raise exception.InvalidQuotaMethodUsage(method="check", res=name)

    @staticmethod
    def _check_not_negative(values: dict[str, int]) -> None:
        """Nova's InvalidQuotaValue for the resources checked with a negative value."""
        unders = sorted(k for k, v in values.items() if v < 0)
        if unders:
            raise exception.InvalidQuotaValue(unders=unders)

    async def _limits_for(self, context, keys: Iterable[str], project_id: str,
                          user_id: str) -> tuple[dict[str, int], dict[str, int]]:
        """(project limits, user limits) of ``keys``."""
        limits = await self._load(project_id, user_id)
        defaults = self._defaults(limits.defaults)
        project = {k: limits.project.get(k, defaults[k]) for k in keys}
        user = {k: limits.user.get(k, project[k]) for k in keys}
        return project, user

    async def limit_check(self, context, project_id: str | None = None,
                          user_id: str | None = None, **values: int) -> None:
        """Check absolute values (not counts) against the project's and the user's
        limits: ``limit_check(ctx, metadata_items=129)``."""
        self._check_names(values)
        self._check_not_negative(values)
        if self.noop:
            return
        project_id = project_id or context.project_id
        user_id = user_id or context.user_id
        quotas, user_quotas = await self._limits_for(context, values, project_id, user_id)
        overs = sorted(k for k, v in values.items()
                       if 0 <= quotas[k] < v or 0 <= user_quotas[k] < v)
        if overs:
            headroom = {k: _unlimited_min(quotas[k], user_quotas[k]) for k in overs}
            raise exception.OverQuota(overs=overs, quotas=quotas, usages={},
                                      headroom=headroom)

    async def limit_check_project_and_user(
            self, context, project_values: dict[str, int] | None = None,
            user_values: dict[str, int] | None = None, project_id: str | None = None,
            user_id: str | None = None) -> None:
        """Check counted totals: ``project_values`` against the project's limits and
        ``user_values`` against the user's. A resource given in only one of them
        (key_pairs, server_group_members) must pass both limits."""
        project_values = dict(project_values or {})
        user_values = dict(user_values or {})
        self._check_names(project_values)
        self._check_names(user_values)
        if not (project_values or user_values):
            raise exception.Invalid("Must specify at least one of project_values or "
                                    "user_values for the limit check.")
        for values in (project_values, user_values):
            self._check_not_negative(values)
        if self.noop:
            return
        project_id = project_id or context.project_id
        user_id = user_id or context.user_id
        all_keys = set(project_values) | set(user_values)
        merged_values = {}
        for key in set(project_values) ^ set(user_values):
            merged_values[key] = project_values.pop(key, 0) or user_values.pop(key, 0)
        quotas, user_quotas = await self._limits_for(context, all_keys, project_id, user_id)
        if merged_values:
            merged_quotas = {k: _unlimited_min(quotas[k], user_quotas[k]) for k in quotas}
            overs = sorted(k for k, v in merged_values.items() if 0 <= merged_quotas[k] < v)
            if overs:
                raise exception.OverQuota(overs=overs, quotas=merged_quotas, usages={},
                                          headroom={k: merged_quotas[k] for k in overs})
        overs = []
        over_user = False
        for key in sorted(user_values):
            if 0 <= quotas[key] < project_values[key]:
                overs.append(key)
            elif 0 <= user_quotas[key] < user_values[key]:
                overs.append(key)
                over_user = True
        if overs:
            exceeded = user_quotas if over_user else quotas
            raise exception.OverQuota(overs=overs, quotas=exceeded, usages={},
                                      headroom={k: exceeded[k] for k in overs})

    async def check_deltas(self, context, deltas: dict[str, int], *count_args,
                           check_project_id: str | None = None,
                           check_user_id: str | None = None, **count_kwargs) -> None:
        """Count each resource of ``deltas`` (with the counter's arguments) and check
        usage + delta against the limits (Nova's ``Quotas.check_deltas``). A delta of
        0 rechecks after the resource was made. On OverQuota, ``kwargs["usages"]``
        holds the counts."""
        if self.noop:
            return
        project_values: dict[str, int] = {}
        user_values: dict[str, int] = {}
        count: dict[str, dict[str, int]] = {}
        for resource in deltas:
            if resource in project_values or resource in user_values:
                continue
            count = await self.count_as_dict(context, resource, *count_args, **count_kwargs)
            for name, value in count.get("project", {}).items():
                if name in deltas:
                    project_values[name] = value + deltas[name]
            for name, value in count.get("user", {}).items():
                if name in deltas:
                    user_values[name] = value + deltas[name]
        try:
            await self.limit_check_project_and_user(
                context, project_values=project_values, user_values=user_values,
                project_id=check_project_id, user_id=check_user_id)
        except exception.OverQuota as e:
            e.kwargs["usages"] = count.get("user" if "user" in count else "project", {})
            raise


async def _count_no_instances(context, project_id: str,
                              user_id: str | None = None) -> dict[str, dict[str, int]]:
    """Until the compute API registers its counter: no instances anywhere."""
    zero = {name: 0 for name in INSTANCE_RESOURCES}
    result = {"project": dict(zero)}
    if user_id is not None:
        result["user"] = dict(zero)
    return result


def count_instances_in_cell(conn: sa.Connection, project_id: str,
                            user_id: str | None = None) -> dict[str, dict[str, int]]:
    """Nova's legacy count in one cell database: instances not deleted, not
    SOFT_DELETED and not hidden; cores and ram are the sums of their vcpus and
    memory_mb. Add the cells' dicts up for the deployment's count."""
    from nova_tx.db.main import models as cell_models

    instances = cell_models.Instance.__table__

    def count(*where) -> dict[str, int]:
        row = conn.execute(
            sa.select(sa.func.count(instances.c.id),
                      sa.func.coalesce(sa.func.sum(instances.c.vcpus), 0),
                      sa.func.coalesce(sa.func.sum(instances.c.memory_mb), 0))
            .where(instances.c.project_id == project_id, instances.c.deleted == 0,
                   sa.or_(instances.c.vm_state.is_(None),
                          instances.c.vm_state != "soft-delete"),
                   sa.or_(instances.c.hidden.is_(None), instances.c.hidden.is_(False)),
                   *where)).one()
        return {"instances": int(row[0]), "cores": int(row[1]), "ram": int(row[2])}

    result = {"project": count()}
    if user_id is not None:
        result["user"] = count(instances.c.user_id == user_id)
    return result


def add_counts(*counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The sum of count dicts (cells counted apart)."""
    total: dict[str, dict[str, int]] = {}
    for count in counts:
        for scope, values in count.items():
            bucket = total.setdefault(scope, {})
            for name, value in values.items():
                bucket[name] = bucket.get(name, 0) + value
    return total


# -- instances: Nova's compute.utils.check_num_instances_quota ----------------------------

def get_headroom(quotas: dict[str, int], usages: dict[str, int],
                 deltas: dict[str, int]) -> dict[str, float]:
    headroom: dict[str, float] = {res: quotas[res] - usages[res] for res in quotas}
    for res in ("cores", "ram"):
        if quotas.get(res) == -1:
            if deltas.get(res):
                headroom[res] = (headroom.get("instances", 1) * deltas[res]
                                 / deltas.get("instances", 1))
            else:
                headroom[res] = headroom.get("instances", 1)
    return headroom


def get_over_quota_detail(headroom: dict[str, float], overs: list[str],
                          quotas: dict[str, int],
                          requested: dict[str, Any]) -> tuple[str, str, str, str]:
    """(overs, requested, allowed, used), each comma-joined, for TooManyInstances."""
    reqs, useds, alloweds = [], [], []
    for resource in overs:
        reqs.append(str(requested[resource]))
        useds.append(str(int(quotas[resource] - headroom[resource])))
        alloweds.append(str(quotas[resource]))
    return ", ".join(overs), ", ".join(reqs), ", ".join(alloweds), ", ".join(useds)


async def check_num_instances_quota(engine: QuotaEngine, context, *, vcpus: int,
                                    memory_mb: int, min_count: int, max_count: int,
                                    project_id: str | None = None,
                                    user_id: str | None = None,
                                    orig_num_req: int | None = None) -> int:
    """How many instances of a flavor (``vcpus``, ``memory_mb``) between ``min_count``
    and ``max_count`` fit the project's (and, when the user has per-user limits of
    instances, cores or ram, the user's) quota; raises TooManyInstances when fewer
    than ``min_count`` do. ``min_count == max_count == 0`` rechecks after creation
    (``orig_num_req`` is then the number created)."""
    project_id = project_id or context.project_id
    user_id = user_id or context.user_id
    check_user_id = None
    if user_id:
        user_limits = await engine.get_user_limits(project_id, user_id)
        if any(r in user_limits for r in INSTANCE_RESOURCES):
            check_user_id = user_id
    req_cores = max_count * vcpus
    req_ram = max_count * memory_mb
    deltas = {"instances": max_count, "cores": req_cores, "ram": req_ram}
    try:
        await engine.check_deltas(context, deltas, project_id, user_id=check_user_id,
                                  check_project_id=project_id, check_user_id=check_user_id)
    except exception.OverQuota as exc:
        quotas = exc.kwargs["quotas"]
        overs = exc.kwargs["overs"]
        usages = exc.kwargs["usages"]
        if min_count == max_count == 0:
            # A recheck: Nova words it with the deltas (0) as the headroom, so "used"
            # reads as the limit.
            num = orig_num_req or 0
            requested = {"instances": num, "cores": num * vcpus, "ram": num * memory_mb}
            over, reqs, alloweds, useds = get_over_quota_detail(
                {k: 0 for k in deltas}, overs, quotas, requested)
            raise exception.TooManyInstances(overs=over, req=reqs, used=useds,
                                             allowed=alloweds) from None
        headroom = get_headroom(quotas, usages, deltas)
        allowed = headroom.get("instances", 1)
        if vcpus:
            allowed = min(allowed, headroom["cores"] // vcpus)
        if memory_mb:
            allowed = min(allowed, headroom["ram"] // memory_mb)
        allowed = int(allowed)
        if allowed > 0 and min_count <= allowed <= max_count:
            return await check_num_instances_quota(
                engine, context, vcpus=vcpus, memory_mb=memory_mb, min_count=min_count,
                max_count=allowed, project_id=project_id, user_id=user_id)
        num_instances = (str(min_count) if min_count == max_count
                         else "%s-%s" % (min_count, max_count))
        requested = {"instances": num_instances, "cores": req_cores, "ram": req_ram}
        over, reqs, alloweds, useds = get_over_quota_detail(headroom, overs, quotas,
                                                            requested)
        raise exception.TooManyInstances(overs=over, req=reqs, used=useds,
                                         allowed=alloweds) from None
    return max_count
