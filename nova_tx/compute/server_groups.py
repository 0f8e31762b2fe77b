"""Server groups: what making, reading, deleting and joining one means (Nova's
``objects.InstanceGroup`` operations and the rules its server groups API applies).

For the servers create path (``POST /servers`` with ``os:scheduler_hints.group``),
per instance, after its instance mapping exists (the member quota counts members
through the instance mappings of the user)::

    api = ServerGroupAPI(api_db, quota_engine, conf, notifier, cells=cell_engines)
    group = await api.get(context, hints["group"])          # 404 InstanceGroupNotFound
    await api.add_members(context, group.uuid, [instance_uuid], user_id=user_id)

``add_members`` checks the ``server_group_members`` quota for each instance before
adding it (``ServerGroupMembersLimitExceeded``: 403 "Quota exceeded, too many servers
in group") and, with ``[quota] recheck_quota``, again after (the instance is taken
out again and the same error raised); it sends ``servergroup.addmember`` and
``server_group.add_member``. ``check_members_quota`` is the check alone, for a caller
that wants to refuse a whole request before it stores anything.

For the scheduler (the conductor fills the RequestSpec's group) and the late
affinity check on the compute: ``get_by_instance_uuid`` finds an instance's group,
``get_hosts(context, group, exclude=...)`` the hosts its members run on, and
``group.with_hosts(hosts).to_request_spec_group()`` is what the filters read.

The ``server_groups`` quota (per project and per user) is checked on create, and
rechecked after it with ``[quota] recheck_quota``: ``ServerGroupLimitExceeded``
(403 "Quota exceeded, too many server groups.").

A group lists its members as the API shows them only when they are not deleted:
members still being scheduled (no cell yet) count, members whose instance mapping is
gone or whose instance is deleted in its cell do not (Nova's ``_get_not_deleted``);
a cell that cannot be read leaves its members out, with a warning.
"""
from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from nova_tx import exception, log
from nova_tx.db.api import instance_groups as groups_db
from nova_tx.objects.cell_mapping import BaseUrls
from nova_tx.objects.instance_group import (
    ANTI_AFFINITY,
    MAX_SERVER_PER_HOST,
    InstanceGroup,
)

LOG = log.getLogger(__name__)


def check_rules(policy: str, rules: dict | None) -> None:
    """Only ``anti-affinity`` takes rules (2.64), and ``max_server_per_host`` is at
    least 1 (Nova's schema lets the string "0" through; a group that no host can
    ever take is refused here instead)."""
    if not rules:
        return
    if policy != ANTI_AFFINITY:
        raise exception.Invalid("Only anti-affinity policy supports rules.")
    value = rules.get(MAX_SERVER_PER_HOST)
    if value is None:
        return
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise exception.Invalid("Invalid input for field/attribute max_server_per_host. "
                                "Value: %s. %s is less than the minimum of 1"
                                % (value, value))


def _live_in_cell(conn: sa.Connection, instance_uuids: list[str]) -> set[str]:
    """Those of the instances that exist and are not deleted in this cell."""
    from nova_tx.db.main import models as cell_models

    instances = cell_models.Instance.__table__
    return set(conn.execute(sa.select(instances.c.uuid).where(
        instances.c.uuid.in_(instance_uuids), instances.c.deleted == 0)).scalars())


def _hosts_in_cell(conn: sa.Connection, instance_uuids: list[str]) -> set[str]:
    """The hosts of those of the instances that are not deleted in this cell."""
    from nova_tx.db.main import models as cell_models

    instances = cell_models.Instance.__table__
    return set(conn.execute(sa.select(instances.c.host).distinct().where(
        instances.c.uuid.in_(instance_uuids), instances.c.deleted == 0,
        instances.c.host.is_not(None))).scalars())


def _by_cell(api_conn: sa.Connection, base_urls: BaseUrls | None,
             instance_uuids: Iterable[str]) -> tuple[set[str], dict[str, list[str]]]:
    """(the mapped instances with no cell yet, ``{cell database URL: instances}``)."""
    unscheduled: set[str] = set()
    by_url: dict[str, list[str]] = {}
    for uuid, cell in groups_db.member_cells(api_conn, instance_uuids,
                                             base_urls=base_urls).items():
        if cell is None:
            unscheduled.add(uuid)
        elif cell.database_connection:
            by_url.setdefault(cell.database_connection, []).append(uuid)
    return unscheduled, by_url


def _each_cell(cells, by_url: dict[str, list[str]], query) -> set[str]:
    """The union of ``query(cell_conn, uuids)`` over the cells; a cell that cannot be
    read is left out, with a warning (as Nova leaves out down cells)."""
    found: set[str] = set()
    if cells is None:
        return found
    for url, uuids in by_url.items():
        try:
            with cells.engine(url).connect() as conn:
                found |= query(conn, uuids)
        except Exception as e:
            LOG.warning("A cell did not answer; %d server group members are left out: "
                        "%s", len(uuids), e)
    return found


def member_hosts(api_conn: sa.Connection, cells, base_urls: BaseUrls | None,
                 instance_uuids: Iterable[str]) -> set[str]:
    """The hosts the instances that are not deleted run on (Nova's
    ``InstanceGroup.get_hosts``, across cells). Runs in a pool thread."""
    _, by_url = _by_cell(api_conn, base_urls, instance_uuids)
    return _each_cell(cells, by_url, _hosts_in_cell)


def live_members(api_conn: sa.Connection, cells, base_urls: BaseUrls | None,
                 instance_uuids: Iterable[str]) -> set[str]:
    """Which of ``instance_uuids`` are members the API shows (see the module's
    docstring). Runs in a thread of the API database's pool: it reads cells."""
    unscheduled, by_url = _by_cell(api_conn, base_urls, instance_uuids)
    return unscheduled | _each_cell(cells, by_url, _live_in_cell)


def _could_be_stored(group_uuid: str) -> bool:
    """Whether a group could have this id: at most 36 characters of text without
    NUL (PostgreSQL refuses to compare a NUL or a lone surrogate at all)."""
    if len(group_uuid) > 36 or "\x00" in group_uuid:
        return False
    try:
        group_uuid.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ServerGroupAPI:
    """Server group operations for the REST API and the servers create path.

    ``db`` is the API database's DBThreadPool, ``quota`` the QuotaEngine, ``notifier``
    (optional) a ``nova_tx.notifications.server_group.ServerGroupNotifier``, ``cells``
    (optional) the ``CellEngines`` that members are looked up in.
    """

    def __init__(self, db, quota, conf, notifier=None, *, cells=None):
        self.db = db
        self.quota = quota
        self.conf = conf
        self.notifier = notifier
        self.cells = cells

    def _notify(self, context, action: str, group: InstanceGroup,
                instance_uuids: list[str] | None = None) -> None:
        if self.notifier is not None:
            self.notifier.notify(context, action, group, instance_uuids)

    def _recheck(self) -> bool:
        try:
            return bool(self.conf.quota.recheck_quota)
        except Exception:  # no [quota] options registered: Nova's default
            return True

    # -- groups -------------------------------------------------------------------------

    async def _check_groups_quota(self, context, project_id: str, user_id: str,
                                  delta: int) -> None:
        try:
            await self.quota.check_deltas(context, {"server_groups": delta}, project_id,
                                          user_id, check_project_id=project_id,
                                          check_user_id=user_id)
        except exception.OverQuota:
            raise exception.ServerGroupLimitExceeded() from None

    async def create(self, context, *, name: str, policy: str,
                     rules: dict | None = None) -> InstanceGroup:
        """A new group of the caller's project and user; quota first, as Nova."""
        project_id, user_id = context.project_id, context.user_id
        await self._check_groups_quota(context, project_id, user_id, 1)
        check_rules(policy, rules)
        group = await self.db.do(groups_db.create, InstanceGroup.new(
            uuid=str(uuidlib.uuid4()), name=name, user_id=user_id,
            project_id=project_id, policy=policy, rules=rules))
        if self._recheck():
            try:
                await self._check_groups_quota(context, project_id, user_id, 0)
            except exception.ServerGroupLimitExceeded:
                await self.db.do(groups_db.destroy, group.uuid)
                raise
        self._notify(context, "create", group)
        return group

    async def get(self, context, group_uuid: str) -> InstanceGroup:
        """The group; InstanceGroupNotFound (also, without asking the database, for
        an id no group can have: see ``_could_be_stored``)."""
        if not _could_be_stored(group_uuid):
            raise exception.InstanceGroupNotFound(group_uuid=group_uuid)
        return await self.db.do(groups_db.get_by_uuid, group_uuid)

    async def get_by_instance_uuid(self, context, instance_uuid: str) -> InstanceGroup:
        """The group the instance belongs to; InstanceGroupNotFound."""
        return await self.db.do(groups_db.get_by_instance_uuid, instance_uuid)

    async def list(self, context, project_id: str | None, *, limit: int | None = None,
                   offset: int = 0) -> list[InstanceGroup]:
        """The project's groups, or every project's when ``project_id`` is None."""
        if project_id is None:
            return await self.db.do(groups_db.get_all, limit=limit, offset=offset)
        return await self.db.do(groups_db.get_by_project_id, project_id, limit=limit,
                                offset=offset)

    async def delete(self, context, group: InstanceGroup) -> None:
        """Remove the group (its members stay servers); InstanceGroupNotFound when
        it went meanwhile."""
        await self.db.do(groups_db.destroy, group.uuid)
        self._notify(context, "delete", group)

    async def shown_members(self, groups: Sequence[InstanceGroup]) -> list[list[str]]:
        """Each group's members that are not deleted, in the order they joined."""
        wanted = {uuid for group in groups for uuid in group.members}
        if not wanted:
            return [[] for _ in groups]
        base_urls = BaseUrls.from_conf(self.conf) if self.cells is not None else None
        live = await self.db.do(live_members, self.cells, base_urls, wanted)
        return [[uuid for uuid in group.members if uuid in live] for group in groups]

    async def get_hosts(self, context, group: InstanceGroup,
                        exclude: Iterable[str] = ()) -> list[str]:
        """The hosts of the group's members that are not deleted, but those in
        ``exclude`` (Nova's ``get_hosts``): what the scheduler's affinity filters and
        the late affinity check need (``group.with_hosts(...)``)."""
        members = set(group.members) - set(exclude)
        if not members:
            return []
        base_urls = BaseUrls.from_conf(self.conf) if self.cells is not None else None
        return sorted(await self.db.do(member_hosts, self.cells, base_urls, members))

    # -- members ------------------------------------------------------------------------

    async def check_members_quota(self, context, group: InstanceGroup | str,
                                  user_id: str | None = None, delta: int = 1) -> None:
        """Whether ``delta`` more of the user's servers fit in the group
        (``server_group_members``); ServerGroupMembersLimitExceeded if not."""
        user_id = user_id or context.user_id
        try:
            await self.quota.check_deltas(context, {"server_group_members": delta},
                                          group, user_id, check_user_id=user_id)
        except exception.OverQuota:
            raise exception.ServerGroupMembersLimitExceeded() from None

    async def add_members(self, context, group_uuid: str, instance_uuids: Iterable[str], *,
                          user_id: str | None = None, check_quota: bool = True) -> list[str]:
        """Put the instances in the group, one at a time with the member quota
        checked before (and rechecked after) each; returns their uuids. On a
        refusal the instances added before stay members (as in Nova: the servers
        create path removes its instances on failure)."""
        added: list[str] = []
        uuids = list(dict.fromkeys(instance_uuids))
        for instance_uuid in uuids:
            if check_quota:
                await self.check_members_quota(context, group_uuid, user_id, 1)
            await self.db.do(groups_db.add_members, group_uuid, [instance_uuid])
            if check_quota and self._recheck():
                try:
                    await self.check_members_quota(context, group_uuid, user_id, 0)
                except exception.ServerGroupMembersLimitExceeded:
                    await self.db.do(groups_db.remove_members, group_uuid,
                                     [instance_uuid])
                    raise
            added.append(instance_uuid)
        if added:
            group = await self.db.do(groups_db.get_by_uuid, group_uuid)
            self._notify(context, "add_member", group, added)
        return added

    async def remove_members(self, context, group_uuid: str,
                             instance_uuids: Iterable[str]) -> int:
        """Take the instances out of the group; how many were members."""
        return await self.db.do(groups_db.remove_members, group_uuid, list(instance_uuids))
