"""Queries of ``instances`` and what hangs off them: the servers of one cell.

Plain functions of a Connection to a cell's database returning ``Instance`` dataclasses
(see ``nova_tx.db.api.cell_mappings`` for the conventions). Counts leave soft-deleted
rows out, as Nova reads them by default; the lookups say where they include them.

The operator's lookups (``get_by_uuid``, ``get_after``, ``count``) return the slim
instance (uuid, project, user, deleted). The service lookups (``get``,
``get_all_by_filters_sort``) return every column and, on request, the joined parts
Nova names in ``expected_attrs`` (``metadata``, ``system_metadata``, ``info_cache``,
``security_groups``, ``tags``, ``fault``, ``flavor``, ``numa_topology``,
``pci_requests``, ``trusted_certs``, ``keypairs``), each loaded in one query for the
whole page.

Stored forms are Nova's, so a cell written by Nova reads here and the other way round:
``instance_extra.flavor`` is ``{"cur": <Flavor primitive>, "old": ..., "new": ...}``,
``numa_topology`` and ``trusted_certs`` their object primitives, ``pci_requests`` the
list of request dicts, ``instance_info_caches.network_info`` the network model's JSON.

Regular-expression filters (``display_name``, ``hostname``, ...) are matched the same
way on every database: case-insensitively (``~*`` on PostgreSQL, ``REGEXP`` under
MariaDB's case-insensitive collation, a Python ``REGEXP`` function on SQLite); a
pattern that does not compile is an ``InvalidInput``.
"""
from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.compute import states
from nova_tx.db.main import models
from nova_tx.db.types import utcnow
from nova_tx.objects import instance as instance_obj
from nova_tx.objects import request_spec
from nova_tx.objects.instance import Instance, InstanceFault

instances = models.Instance.__table__
instance_extra = models.InstanceExtra.__table__
instance_metadata = models.InstanceMetadata.__table__
instance_system_metadata = models.InstanceSystemMetadata.__table__
info_caches = models.InstanceInfoCache.__table__
tags = models.Tag.__table__
security_groups = models.SecurityGroup.__table__
security_group_associations = models.SecurityGroupInstanceAssociation.__table__
instance_faults = models.InstanceFault.__table__

#: Nova's limit of tags per server.
MAX_TAGS = 50

_SELECT = sa.select(instances.c.uuid, instances.c.project_id, instances.c.user_id,
                    instances.c.deleted)
_SELECT_ALL = sa.select(*(instances.c[name] for name in instance_obj.COLUMNS))

# A row without created_at counts as the oldest, the same way on every database
# (their orderings of NULL differ).
_EPOCH = sa.literal(datetime.datetime(1970, 1, 1), sa.DateTime)
_CREATED = sa.func.coalesce(instances.c.created_at, _EPOCH)

#: Filters matched exactly (a list or tuple value: any of them), as Nova's.
EXACT_FILTERS = ("project_id", "user_id", "image_ref", "vm_state", "instance_type_id",
                 "uuid", "host", "task_state", "locked", "hidden", "launch_index",
                 "power_state", "progress", "created_at", "launched_at", "terminated_at")
#: Filters that are regular expressions searched in the column, as Nova's.
REGEX_FILTERS = ("display_name", "hostname", "key_name", "availability_zone", "node",
                 "reservation_id", "config_drive", "display_description", "access_ip_v4",
                 "access_ip_v6", "kernel_id", "ramdisk_id", "root_device_name",
                 "locked_by", "os_type", "architecture", "vm_mode")
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
#: Nova's default order of instance lists.
DEFAULT_SORT_KEYS = ("created_at", "id")
SORT_KEYS = frozenset(instance_obj.COLUMNS)


# -- the slim lookups of the operator's commands -----------------------------------------

def _from_row(row: sa.Row) -> Instance:
    return Instance(uuid=row.uuid, project_id=row.project_id, user_id=row.user_id,
                    deleted=bool(row.deleted))


def get_by_uuid(conn: sa.Connection, instance_uuid: str) -> Instance:
    """The instance ``instance_uuid``, soft-deleted or not; raises InstanceNotFound.

    An instance that is not found at all has been archived (or never existed).
    """
    row = conn.execute(_SELECT.where(instances.c.uuid == instance_uuid)).one_or_none()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    return _from_row(row)


def get_after(conn: sa.Connection, marker: str | None, limit: int) -> list[Instance]:
    """Up to ``limit`` instances, deleted ones included, oldest first, after ``marker``.

    Oldest means by ``created_at`` then ``id``. Raises MarkerNotFound when no instance
    has the uuid ``marker``.
    """
    stmt = _SELECT.order_by(_CREATED, instances.c.id).limit(limit)
    if marker is not None:
        row = conn.execute(sa.select(_CREATED.label("created"), instances.c.id)
                           .where(instances.c.uuid == marker)).one_or_none()
        if row is None:
            raise exception.MarkerNotFound(marker=marker)
        stmt = stmt.where(sa.or_(_CREATED > row.created,
                                 sa.and_(_CREATED == row.created, instances.c.id > row.id)))
    return [_from_row(row) for row in conn.execute(stmt)]


def count(conn: sa.Connection, *, host: str | None = None) -> int:
    """The live instances of the cell, or of one compute ``host``."""
    stmt = (sa.select(sa.func.count()).select_from(instances)
            .where(instances.c.deleted == 0))
    if host is not None:
        stmt = stmt.where(instances.c.host == host)
    return conn.execute(stmt).scalar_one()


# -- whole instances -------------------------------------------------------------------------

def _full_from_row(row: sa.Row) -> Instance:
    values = {name: row._mapping[name] for name in instance_obj.COLUMNS}
    for name in instance_obj.BOOLEAN_FIELDS:
        values[name] = bool(values[name])
    return Instance(**values)


def _read_deleted(stmt, read_deleted: str):
    if read_deleted == "no":
        return stmt.where(instances.c.deleted == 0)
    if read_deleted == "only":
        return stmt.where(instances.c.deleted != 0)
    if read_deleted != "yes":
        raise ValueError(f"read_deleted must be no, yes or only, not {read_deleted!r}")
    return stmt


def get(conn: sa.Connection, instance_uuid: str, *, expected_attrs: Iterable[str] = (),
        read_deleted: str = "no") -> Instance:
    """The instance with the joined parts asked for; raises InstanceNotFound.

    ``read_deleted``: ``no`` (live only), ``yes`` or ``only`` (soft-deleted only).
    """
    row = conn.execute(_read_deleted(_SELECT_ALL.where(instances.c.uuid == instance_uuid),
                                     read_deleted)).one_or_none()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    [instance] = _with_joined(conn, [_full_from_row(row)], expected_attrs)
    return instance


def _check_attrs(expected_attrs: Iterable[str]) -> set[str]:
    wanted = set(expected_attrs)
    unknown = wanted - set(instance_obj.JOINED_ATTRS)
    if unknown:
        raise ValueError(f"Unknown expected_attrs {sorted(unknown)}")
    return wanted


def _with_joined(conn: sa.Connection, found: list[Instance],
                 expected_attrs: Iterable[str]) -> list[Instance]:
    wanted = _check_attrs(expected_attrs)
    if not found or not wanted:
        return found
    uuids = [i.uuid for i in found]
    by_uuid = {i.uuid: i for i in found}
    if "metadata" in wanted:
        for uuid, values in _key_values(conn, instance_metadata, uuids).items():
            by_uuid[uuid].metadata = values
    if "system_metadata" in wanted:
        for uuid, values in _key_values(conn, instance_system_metadata, uuids).items():
            by_uuid[uuid].system_metadata = values
    if "info_cache" in wanted:
        for row in conn.execute(sa.select(info_caches.c.instance_uuid,
                                          info_caches.c.network_info)
                                .where(info_caches.c.instance_uuid.in_(uuids))):
            by_uuid[row.instance_uuid].network_info = _network_info(row.network_info)
    if "tags" in wanted:
        for uuid, names in _tags_of(conn, uuids).items():
            by_uuid[uuid].tags = names
    if "security_groups" in wanted:
        rows = conn.execute(
            sa.select(security_group_associations.c.instance_uuid, security_groups.c.name)
            .select_from(security_group_associations.join(
                security_groups,
                security_group_associations.c.security_group_id == security_groups.c.id))
            .where(security_group_associations.c.instance_uuid.in_(uuids),
                   security_group_associations.c.deleted == 0)
            .order_by(security_groups.c.id))
        for row in rows:
            by_uuid[row.instance_uuid].security_groups.append(row.name)
    if "fault" in wanted:
        for uuid, fault in get_latest_faults(conn, uuids).items():
            by_uuid[uuid].fault = fault
    extras = wanted & set(instance_obj.EXTRA_ATTRS)
    if extras:
        columns = [instance_extra.c[name] for name in sorted(extras)]
        # One row per instance, soft-deleted with it: a deleted instance keeps its
        # flavor (as Nova reads it).
        for row in conn.execute(sa.select(instance_extra.c.instance_uuid, *columns)
                                .where(instance_extra.c.instance_uuid.in_(uuids))):
            _load_extra(by_uuid[row.instance_uuid], row._mapping, extras)
    return found


def _network_info(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    value = json.loads(text)
    return value if isinstance(value, list) else []


def _load_extra(instance: Instance, row: Mapping[str, Any], extras: set[str]) -> None:
    if "flavor" in extras and row["flavor"]:
        flavors = json.loads(row["flavor"])
        for key, name in (("cur", "flavor"), ("old", "old_flavor"), ("new", "new_flavor")):
            if flavors.get(key):
                setattr(instance, name, request_spec.flavor_from_primitive(flavors[key]))
    if "numa_topology" in extras and row["numa_topology"]:
        instance.numa_topology = request_spec.numa_topology_from_primitive(
            json.loads(row["numa_topology"]))
    if "pci_requests" in extras and row["pci_requests"]:
        from nova_tx.objects.numa import InstancePCIRequest

        instance.pci_requests = [InstancePCIRequest.from_dict(instance_obj.unwrap(r))
                                 for r in json.loads(row["pci_requests"])]
    if "trusted_certs" in extras and row["trusted_certs"]:
        instance.trusted_certs = list(
            instance_obj.unwrap(json.loads(row["trusted_certs"])).get("ids") or [])
    if "keypairs" in extras and row["keypairs"]:
        instance.keypairs = instance_obj.keypairs_from_primitive(json.loads(row["keypairs"]))


def _extra_values(instance: Instance) -> dict[str, str | None]:
    """The ``instance_extra`` columns of ``instance`` in Nova's stored forms."""
    flavors = None
    if instance.flavor is not None:
        flavors = json.dumps({
            "cur": request_spec.flavor_to_primitive(instance.flavor),
            "old": (None if instance.old_flavor is None
                    else request_spec.flavor_to_primitive(instance.old_flavor)),
            "new": (None if instance.new_flavor is None
                    else request_spec.flavor_to_primitive(instance.new_flavor))})
    return {
        "flavor": flavors,
        "numa_topology": (None if instance.numa_topology is None else json.dumps(
            request_spec.numa_topology_to_primitive(instance.numa_topology))),
        "pci_requests": json.dumps([r.to_dict() for r in instance.pci_requests or ()]),
        "trusted_certs": (None if instance.trusted_certs is None else json.dumps(
            instance_obj.envelope("TrustedCerts", {"ids": list(instance.trusted_certs)}))),
        "keypairs": (None if instance.keypairs is None else json.dumps(
            instance_obj.keypairs_to_primitive(instance.keypairs))),
    }


# -- create ------------------------------------------------------------------------------------

def create(conn: sa.Connection, instance: Instance) -> Instance:
    """Store a new instance with its extra, metadata, system metadata, info cache, tags
    and security groups; returns it with ``id`` and ``created_at``.

    The flavor fills ``instance_type_id``, ``memory_mb``, ``vcpus``, ``root_gb`` and
    ``ephemeral_gb`` where they are not set. A security group named that the project
    has no row for is recorded (Neutron owns the rules; the cell keeps the names).
    """
    now = utcnow()
    values = {name: getattr(instance, name) for name in instance_obj.COLUMNS
              if name not in ("id", "deleted", "deleted_at", "updated_at")}
    values["created_at"] = instance.created_at or now
    values["deleted"] = 0
    values["cleaned"] = int(bool(instance.cleaned))  # an integer column
    flavor = instance.flavor
    if flavor is not None:
        for column, value in (("instance_type_id", flavor.id), ("memory_mb", flavor.memory_mb),
                              ("vcpus", flavor.vcpus), ("root_gb", flavor.root_gb),
                              ("ephemeral_gb", flavor.ephemeral_gb)):
            if values.get(column) is None:
                values[column] = value
    if len(instance.tags) > MAX_TAGS:
        raise exception.TooManyInstanceTags(limit=MAX_TAGS)
    instance_id = conn.execute(instances.insert().values(**values)).inserted_primary_key[0]
    uuid = instance.uuid
    conn.execute(instance_extra.insert().values(
        instance_uuid=uuid, created_at=now, deleted=0, **_extra_values(instance)))
    _insert_key_values(conn, instance_metadata, uuid, instance.metadata, now)
    _insert_key_values(conn, instance_system_metadata, uuid, instance.system_metadata, now)
    conn.execute(info_caches.insert().values(
        instance_uuid=uuid, network_info=json.dumps(instance.network_info or []),
        created_at=now, deleted=0))
    for tag in sorted(set(instance.tags)):
        conn.execute(tags.insert().values(resource_id=uuid, tag=tag))
    for group_id in _security_group_ids(conn, instance.project_id, instance.user_id,
                                        instance.security_groups, now):
        conn.execute(security_group_associations.insert().values(
            security_group_id=group_id, instance_uuid=uuid, created_at=now, deleted=0))
    # The row read back (MariaDB keeps whole seconds), with the parts as stored.
    stored = _full_from_row(conn.execute(
        _SELECT_ALL.where(instances.c.id == instance_id)).one())
    return stored.replace(
        flavor=instance.flavor, old_flavor=instance.old_flavor,
        new_flavor=instance.new_flavor, metadata=dict(instance.metadata),
        system_metadata=dict(instance.system_metadata), tags=sorted(set(instance.tags)),
        security_groups=list(dict.fromkeys(instance.security_groups)),
        trusted_certs=instance.trusted_certs, numa_topology=instance.numa_topology,
        keypairs=instance.keypairs,
        pci_requests=instance.pci_requests, network_info=instance.network_info or [],
        fault=None)


def _security_group_ids(conn: sa.Connection, project_id: str | None, user_id: str | None,
                        names: Sequence[str], now: datetime.datetime) -> list[int]:
    ids = []
    for name in dict.fromkeys(names):
        found = conn.execute(sa.select(security_groups.c.id).where(
            security_groups.c.project_id == project_id, security_groups.c.name == name,
            security_groups.c.deleted == 0)).scalar()
        if found is None:
            found = _create_security_group(conn, project_id, user_id, name, now)
        ids.append(found)
    return ids


def _create_security_group(conn: sa.Connection, project_id: str | None,
                           user_id: str | None, name: str, now: datetime.datetime) -> int:
    """Nova's ``security_group_ensure_default``: two servers of a project built at once
    (two conductor requests, their own transactions) may both find no ``default``;
    the one whose insert loses to the other's takes the winner's row."""
    from nova_tx.db.exception import DBDuplicateEntry

    try:
        with conn.begin_nested():
            return conn.execute(security_groups.insert().values(
                name=name, description=name, project_id=project_id, user_id=user_id,
                created_at=now, deleted=0)).inserted_primary_key[0]
    except (DBDuplicateEntry, sa.exc.IntegrityError):
        # A locking read: the committed row, whatever this transaction's snapshot.
        return conn.execute(sa.select(security_groups.c.id).where(
            security_groups.c.project_id == project_id, security_groups.c.name == name,
            security_groups.c.deleted == 0).with_for_update()).scalar_one()


# -- lists ---------------------------------------------------------------------------------------

def process_sort_params(sort_keys: Sequence[str] | None, sort_dirs: Sequence[str] | None,
                        default_keys: Sequence[str] = DEFAULT_SORT_KEYS,
                        default_dir: str = "desc") -> tuple[list[str], list[str]]:
    """Nova's ``process_sort_params``: directions default to the first one given (else
    ``default_dir``), and the default keys end every order so it is total."""
    default = sort_dirs[0] if sort_dirs else default_dir
    keys = list(sort_keys or ())
    dirs = []
    for sort_dir in sort_dirs or ():
        if sort_dir not in ("asc", "desc"):
            raise exception.InvalidInput(
                reason="Unknown sort direction, must be 'desc' or 'asc'")
        dirs.append(sort_dir)
    if not sort_dirs:
        dirs = [default for _ in keys]
    while len(dirs) < len(keys):
        dirs.append(default)
    if len(dirs) > len(keys):
        raise exception.InvalidInput(reason="Sort direction size exceeds sort key size")
    for key in default_keys:
        if key not in keys:
            keys.append(key)
            dirs.append(default)
    return keys, dirs


def _regex_op(conn: sa.Connection, column, pattern: str):
    try:
        re.compile(pattern)
    except re.error as e:
        raise exception.InvalidInput(
            reason=f"Invalid regular expression {pattern!r}: {e}") from None
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return column.op("~*")(pattern)
    if dialect == "sqlite":
        _register_sqlite_regexp(conn)
    return column.op("REGEXP")(pattern)


def _sqlite_regexp(pattern: str, value: Any) -> bool:
    if value is None:
        return False
    return re.search(pattern, str(value), re.IGNORECASE) is not None


def _register_sqlite_regexp(conn: sa.Connection) -> None:
    # Registered per call: cheap, and whatever made the Engine, the function is there.
    conn.connection.driver_connection.create_function(
        "regexp", 2, _sqlite_regexp, deterministic=True)


def _exact(column, value):
    if isinstance(value, (list, tuple, set, frozenset)):
        values = list(value)
        has_none = None in values
        values = [v for v in values if v is not None]
        clause = column.in_(values) if values else sa.false()
        return sa.or_(clause, column.is_(None)) if has_none else clause
    if value is None:
        return column.is_(None)
    return column == value


def _has_tags(names: Sequence[str]):
    return sa.exists().where(tags.c.resource_id == instances.c.uuid, tags.c.tag.in_(names))


def _filtered(conn: sa.Connection, stmt, filters: Mapping[str, Any]):
    """``stmt`` narrowed by Nova's instance list filters (see the module doc)."""
    filters = dict(filters)
    if "deleted" in filters:
        deleted = filters.pop("deleted")
        if deleted:
            if filters.pop("soft_deleted", True):
                stmt = stmt.where(sa.or_(instances.c.deleted == instances.c.id,
                                         instances.c.vm_state == states.SOFT_DELETED))
            else:
                stmt = stmt.where(instances.c.deleted == instances.c.id)
        else:
            stmt = stmt.where(instances.c.deleted == 0)
            if not filters.pop("soft_deleted", False):
                stmt = stmt.where(sa.or_(instances.c.vm_state != states.SOFT_DELETED,
                                         instances.c.vm_state.is_(None)))
    if "hidden" not in filters:
        stmt = stmt.where(sa.or_(instances.c.hidden == sa.false(),
                                 instances.c.hidden.is_(None)))
    if "changes-since" in filters:
        stmt = stmt.where(instances.c.updated_at >= filters.pop("changes-since"))
    if "changes-before" in filters:
        stmt = stmt.where(instances.c.updated_at <= filters.pop("changes-before"))
    if filters.get("tags"):
        for tag in filters["tags"]:
            stmt = stmt.where(_has_tags([tag]))
    if filters.get("tags-any"):
        stmt = stmt.where(_has_tags(filters["tags-any"]))
    if filters.get("not-tags"):
        stmt = stmt.where(sa.not_(sa.and_(*(_has_tags([t]) for t in filters["not-tags"]))))
    if filters.get("not-tags-any"):
        stmt = stmt.where(sa.not_(_has_tags(filters["not-tags-any"])))
    for name in EXACT_FILTERS:
        if name in filters:
            stmt = stmt.where(_exact(instances.c[name], filters[name]))
    for name in REGEX_FILTERS:
        if name in filters and filters[name] is not None:
            stmt = stmt.where(_regex_op(conn, instances.c[name], str(filters[name])))
    return stmt


def _order_terms(key: str, direction: str) -> list:
    column = instances.c[key]
    # NULL sorts as the smallest value on every database.
    is_set = sa.case((column.is_(None), 0), else_=1)
    if direction == "desc":
        return [is_set.desc(), column.desc()]
    return [is_set.asc(), column.asc()]


def _after(key: str, direction: str, value: Any):
    column = instances.c[key]
    if direction == "asc":
        return column.isnot(None) if value is None else column > value
    return sa.false() if value is None else sa.or_(column < value, column.is_(None))


def _equal(key: str, value: Any):
    column = instances.c[key]
    return column.is_(None) if value is None else column == value


def _past_marker(keys: Sequence[str], dirs: Sequence[str], values: Mapping[str, Any]):
    """Rows that come after the marker's ``values`` in the order (keys, dirs)."""
    alternatives = []
    for i, (key, direction) in enumerate(zip(keys, dirs, strict=True)):
        same = [_equal(k, values[k]) for k in keys[:i]]
        alternatives.append(sa.and_(*same, _after(key, direction, values[key])))
    return sa.or_(*alternatives)


def get_sort_values(conn: sa.Connection, marker: str, sort_keys: Sequence[str]
                    ) -> dict[str, Any]:
    """The marker instance's values of ``sort_keys`` (deleted or not), to page after it
    in this cell or another; raises MarkerNotFound."""
    row = conn.execute(sa.select(*(instances.c[k] for k in sort_keys))
                       .where(instances.c.uuid == marker)).one_or_none()
    if row is None:
        raise exception.MarkerNotFound(marker=marker)
    return dict(row._mapping)


def _check_sort_keys(keys: Sequence[str]) -> None:
    for key in keys:
        if key not in SORT_KEYS:
            raise exception.InvalidSortKey()


def validate_filters(filters: Mapping[str, Any], sort_keys: Sequence[str] = ()) -> None:
    """Raise what ``get_all_by_filters_sort`` would for these filters and sort keys
    (InvalidInput for a regex that does not compile, InvalidSortKey), before a query
    runs in several cells that would each swallow it."""
    _check_sort_keys(sort_keys)
    for name in REGEX_FILTERS + ("ip", "ip6"):
        if filters.get(name) is not None:
            try:
                re.compile(str(filters[name]))
            except re.error as e:
                raise exception.InvalidInput(
                    reason=f"Invalid regular expression {filters[name]!r}: {e}") from None


def get_all_by_filters_sort(
    conn: sa.Connection, filters: Mapping[str, Any], *, limit: int | None = None,
    marker: str | None = None, after: Mapping[str, Any] | None = None,
    sort_keys: Sequence[str] | None = None, sort_dirs: Sequence[str] | None = None,
    expected_attrs: Iterable[str] = (),
) -> list[Instance]:
    """The instances that pass ``filters``, in order, after ``marker``, at most ``limit``.

    Without a ``deleted`` filter deleted instances are listed too (as Nova's, for
    ``changes-since``). ``marker`` is an instance uuid of this cell (MarkerNotFound if
    there is none);
    ``after`` the marker's sort values when it lives in another cell
    (``get_sort_values``). Sorting is Nova's (``process_sort_params``: by default
    ``created_at`` then ``id``, newest first). ``ip``/``ip6`` filters are regular
    expressions matched at the start of the fixed IPv4/IPv6 addresses of the info cache.
    """
    keys, dirs = process_sort_params(sort_keys, sort_dirs)
    _check_sort_keys(keys)
    wanted = _check_attrs(expected_attrs)
    filters = dict(filters)
    if any(isinstance(filters.get(name), (list, tuple, set, frozenset))
           and not filters[name] for name in EXACT_FILTERS):
        return []
    ip_filters = {name: filters.pop(name) for name in ("ip", "ip6") if name in filters}
    if limit == 0:
        return []
    stmt = _filtered(conn, _SELECT_ALL, filters)
    if marker is not None:
        after = get_sort_values(conn, marker, keys)
    if after is not None:
        stmt = stmt.where(_past_marker(keys, dirs, after))
    order = []
    for key, direction in zip(keys, dirs, strict=True):
        order.extend(_order_terms(key, direction))
    stmt = stmt.order_by(*order)
    if not ip_filters:
        if limit is not None:
            stmt = stmt.limit(limit)
        found = [_full_from_row(row) for row in conn.execute(stmt)]
        return _with_joined(conn, found, wanted)
    matches = _ip_matcher(ip_filters)
    found = []
    for row in conn.execute(stmt):
        instance = _full_from_row(row)
        _with_joined(conn, [instance], {"info_cache"})
        if matches(instance.network_info or []):
            found.append(instance)
            if limit is not None and len(found) >= limit:
                break
    return _with_joined(conn, found, wanted - {"info_cache"})


def _ip_matcher(ip_filters: Mapping[str, str]):
    patterns = {}
    for name, version in (("ip", 4), ("ip6", 6)):
        if name in ip_filters:
            try:
                patterns[version] = re.compile(str(ip_filters[name]))
            except re.error as e:
                raise exception.InvalidInput(
                    reason=f"Invalid regular expression {ip_filters[name]!r}: {e}") from None

    def matches(network_info: list[dict[str, Any]]) -> bool:
        for address, version in fixed_ips(network_info):
            pattern = patterns.get(version)
            if pattern is not None and pattern.match(address):
                return True
        return False

    return matches


def fixed_ips(network_info: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(address, version) of every fixed IP of Nova's network model."""
    found = []
    for vif in network_info or ():
        for subnet in ((vif.get("network") or {}).get("subnets") or ()):
            for ip in subnet.get("ips") or ():
                address = ip.get("address")
                if not address:
                    continue
                version = ip.get("version") or (6 if ":" in address else 4)
                found.append((address, int(version)))
    return found


def ordering(keys: Sequence[str], dirs: Sequence[str],
             value: Callable[[Any, str], Any] = getattr) -> Callable[[Any], Any]:
    """A Python sort key ordering as ``get_all_by_filters_sort`` does: by ``keys`` in
    ``dirs``, None first ascending (``value(item, key)`` reads a key)."""

    def compare(a: Any, b: Any) -> int:
        for key, direction in zip(keys, dirs, strict=True):
            x, y = value(a, key), value(b, key)
            if x == y:
                continue
            if x is None or y is None:
                result = -1 if x is None else 1
            else:
                result = -1 if x < y else 1
            return -result if direction == "desc" else result
        return 0

    return functools.cmp_to_key(compare)


def sort_value(instance: Instance, keys: Sequence[str], dirs: Sequence[str]):
    """A Python key ordering instances as ``get_all_by_filters_sort`` does (to merge
    the pages of several cells)."""
    return ordering(keys, dirs)(instance)


# -- update and delete ------------------------------------------------------------------------

_UNSET: Any = object()


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def update(conn: sa.Connection, instance_uuid: str, values: Mapping[str, Any], *,
           expected_task_state: Any = _UNSET, expected_vm_state: Any = _UNSET,
           expected_attrs: Iterable[str] = ()) -> Instance:
    """Change a live instance and return it; raises InstanceNotFound.

    ``values`` holds columns and may hold ``metadata`` and ``system_metadata`` (the
    whole new dicts), ``network_info``, ``flavor``/``old_flavor``/``new_flavor``,
    ``numa_topology``, ``pci_requests``, ``trusted_certs`` and ``keypairs``. With
    ``expected_task_state``/``expected_vm_state`` (a value or a list; None means no
    state) the update is a compare-and-swap: if the instance is in another state
    nothing changes and UnexpectedDeletingTaskStateError (the instance is being
    deleted), UnexpectedTaskStateError or InstanceUpdateConflict says so.
    """
    values = dict(values)
    now = utcnow()
    extra = {name: values.pop(name) for name in
             ("flavor", "old_flavor", "new_flavor", "numa_topology", "pci_requests",
              "trusted_certs", "keypairs") if name in values}
    metadata = values.pop("metadata", None)
    system_metadata = values.pop("system_metadata", None)
    network_info = values.pop("network_info", _UNSET)
    unknown = set(values) - set(instance_obj.COLUMNS)
    if unknown or "uuid" in values or "id" in values:
        raise ValueError(f"Cannot update {sorted(unknown | ({'uuid', 'id'} & set(values)))}")
    values.setdefault("updated_at", now)
    if "cleaned" in values:
        values["cleaned"] = int(bool(values["cleaned"]))
    compare: dict[str, list] = {}
    if expected_task_state is not _UNSET:
        compare["task_state"] = _as_list(expected_task_state)
    if expected_vm_state is not _UNSET:
        compare["vm_state"] = _as_list(expected_vm_state)
    stmt = instances.update().where(instances.c.uuid == instance_uuid,
                                    instances.c.deleted == 0)
    for name, expected in compare.items():
        stmt = stmt.where(_exact(instances.c[name], expected))
    if conn.execute(stmt.values(**values)).rowcount == 0:
        _raise_conflict(conn, instance_uuid, compare)
    current = get(conn, instance_uuid, expected_attrs=instance_obj.EXTRA_ATTRS)
    if extra:
        changed = current.replace(**extra)
        conn.execute(instance_extra.update()
                     .where(instance_extra.c.instance_uuid == instance_uuid)
                     .values(updated_at=now, **{k: v for k, v in _extra_values(changed).items()
                                                if _extra_column(k) & set(extra)}))
    if metadata is not None:
        update_metadata(conn, instance_uuid, metadata, delete=True)
    if system_metadata is not None:
        update_system_metadata(conn, instance_uuid, system_metadata, delete=True)
    if network_info is not _UNSET:
        set_network_info(conn, instance_uuid, network_info)
    return get(conn, instance_uuid, expected_attrs=expected_attrs)


def _extra_column(column: str) -> set[str]:
    """The fields an ``instance_extra`` column holds."""
    return {"flavor", "old_flavor", "new_flavor"} if column == "flavor" else {column}


def _raise_conflict(conn: sa.Connection, instance_uuid: str,
                    compare: Mapping[str, list]) -> None:
    row = conn.execute(sa.select(instances.c.task_state, instances.c.vm_state)
                       .where(instances.c.uuid == instance_uuid,
                              instances.c.deleted == 0)).one_or_none()
    if row is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)
    expected, actual = {}, {}
    for name, wanted in compare.items():
        value = row._mapping[name]
        if value not in wanted:
            expected[name] = wanted
            actual[name] = value
    props = {"instance_uuid": instance_uuid, "expected": expected, "actual": actual}
    if "task_state" in actual:
        if actual["task_state"] == states.DELETING:
            raise exception.UnexpectedDeletingTaskStateError(**props)
        raise exception.UnexpectedTaskStateError(**props)
    raise exception.InstanceUpdateConflict(**props)


def destroy(conn: sa.Connection, instance_uuid: str, *, hard_delete: bool = False
            ) -> Instance:
    """Delete a live instance as Nova's ``instance_destroy``; returns it as it was.

    Soft delete (the default): the instance, its extra, metadata, system metadata,
    info cache, security group associations and faults keep their rows with
    ``deleted`` set; tags go. ``hard_delete`` removes every row.
    """
    instance = get(conn, instance_uuid, expected_attrs=("metadata", "system_metadata"))
    now = utcnow()
    dependents = (instance_extra, instance_metadata, instance_system_metadata, info_caches,
                  security_group_associations, instance_faults)
    conn.execute(tags.delete().where(tags.c.resource_id == instance_uuid))
    if hard_delete:
        for table in dependents:
            conn.execute(table.delete().where(table.c.instance_uuid == instance_uuid))
        conn.execute(instances.delete().where(instances.c.uuid == instance_uuid))
        return instance
    for table in dependents:
        conn.execute(table.update().where(table.c.instance_uuid == instance_uuid,
                                          table.c.deleted == 0)
                     .values(deleted=table.c.id, deleted_at=now))
    conn.execute(instances.update().where(instances.c.uuid == instance_uuid)
                 .values(deleted=instances.c.id, deleted_at=now,
                         updated_at=instances.c.updated_at))
    return instance.replace(deleted=True, deleted_at=now)


# -- metadata and system metadata ----------------------------------------------------------

def _key_values(conn: sa.Connection, table: sa.Table, uuids: Sequence[str]
                ) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {uuid: {} for uuid in uuids}
    for row in conn.execute(sa.select(table.c.instance_uuid, table.c.key, table.c.value)
                            .where(table.c.instance_uuid.in_(uuids), table.c.deleted == 0)
                            .order_by(table.c.id)):
        found[row.instance_uuid][row.key] = row.value
    return found


def _insert_key_values(conn: sa.Connection, table: sa.Table, instance_uuid: str,
                       values: Mapping[str, str], now: datetime.datetime) -> None:
    for key, value in values.items():
        conn.execute(table.insert().values(instance_uuid=instance_uuid, key=key,
                                           value=value, created_at=now, deleted=0))


def _check_live(conn: sa.Connection, instance_uuid: str) -> None:
    found = conn.execute(sa.select(instances.c.id).where(
        instances.c.uuid == instance_uuid, instances.c.deleted == 0)).first()
    if found is None:
        raise exception.InstanceNotFound(instance_id=instance_uuid)


def _update_key_values(conn: sa.Connection, table: sa.Table, instance_uuid: str,
                       values: Mapping[str, str], delete: bool) -> dict[str, str]:
    _check_live(conn, instance_uuid)
    now = utcnow()
    current = _key_values(conn, table, [instance_uuid])[instance_uuid]
    live = sa.and_(table.c.instance_uuid == instance_uuid, table.c.deleted == 0)
    if delete:
        gone = [key for key in current if key not in values]
        if gone:
            conn.execute(table.update().where(live, table.c.key.in_(gone))
                         .values(deleted=table.c.id, deleted_at=now))
    for key, value in values.items():
        if key in current:
            if current[key] != value:
                conn.execute(table.update().where(live, table.c.key == key)
                             .values(value=value, updated_at=now))
        else:
            conn.execute(table.insert().values(instance_uuid=instance_uuid, key=key,
                                               value=value, created_at=now, deleted=0))
    return _key_values(conn, table, [instance_uuid])[instance_uuid]


def get_metadata(conn: sa.Connection, instance_uuid: str) -> dict[str, str]:
    """The live instance's metadata; raises InstanceNotFound."""
    _check_live(conn, instance_uuid)
    return _key_values(conn, instance_metadata, [instance_uuid])[instance_uuid]


def update_metadata(conn: sa.Connection, instance_uuid: str, metadata: Mapping[str, str],
                    *, delete: bool = False) -> dict[str, str]:
    """Merge ``metadata`` into the instance's (``delete``: replace it); the result."""
    return _update_key_values(conn, instance_metadata, instance_uuid, metadata, delete)


def _delete_key(conn: sa.Connection, table: sa.Table, instance_uuid: str, key: str
                ) -> bool:
    _check_live(conn, instance_uuid)
    return conn.execute(table.update().where(
        table.c.instance_uuid == instance_uuid, table.c.key == key,
        table.c.deleted == 0).values(deleted=table.c.id, deleted_at=utcnow())).rowcount > 0


def delete_metadata_key(conn: sa.Connection, instance_uuid: str, key: str) -> bool:
    """Remove one metadata item; whether there was one."""
    return _delete_key(conn, instance_metadata, instance_uuid, key)


def delete_system_metadata_key(conn: sa.Connection, instance_uuid: str, key: str) -> bool:
    """Remove one system metadata item; whether there was one."""
    return _delete_key(conn, instance_system_metadata, instance_uuid, key)


def get_system_metadata(conn: sa.Connection, instance_uuid: str) -> dict[str, str]:
    _check_live(conn, instance_uuid)
    return _key_values(conn, instance_system_metadata, [instance_uuid])[instance_uuid]


def update_system_metadata(conn: sa.Connection, instance_uuid: str,
                           metadata: Mapping[str, str], *, delete: bool = False
                           ) -> dict[str, str]:
    return _update_key_values(conn, instance_system_metadata, instance_uuid, metadata,
                              delete)


def set_network_info(conn: sa.Connection, instance_uuid: str,
                     network_info: list[dict[str, Any]] | None) -> None:
    """Replace the info cache (made if the instance has none yet)."""
    text = json.dumps(network_info or [])
    now = utcnow()
    result = conn.execute(info_caches.update().where(
        info_caches.c.instance_uuid == instance_uuid, info_caches.c.deleted == 0)
        .values(network_info=text, updated_at=now))
    if result.rowcount == 0:
        _check_live(conn, instance_uuid)
        conn.execute(info_caches.insert().values(instance_uuid=instance_uuid,
                                                 network_info=text, created_at=now,
                                                 deleted=0))


# -- tags ----------------------------------------------------------------------------------------

def _tags_of(conn: sa.Connection, uuids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {uuid: [] for uuid in uuids}
    for row in conn.execute(sa.select(tags.c.resource_id, tags.c.tag)
                            .where(tags.c.resource_id.in_(uuids)).order_by(tags.c.tag)):
        found[row.resource_id].append(row.tag)
    return found


def get_tags(conn: sa.Connection, instance_uuid: str) -> list[str]:
    """The live instance's tags, sorted; raises InstanceNotFound."""
    _check_live(conn, instance_uuid)
    return _tags_of(conn, [instance_uuid])[instance_uuid]


def tag_exists(conn: sa.Connection, instance_uuid: str, tag: str) -> bool:
    _check_live(conn, instance_uuid)
    return conn.execute(sa.select(tags.c.tag).where(
        tags.c.resource_id == instance_uuid, tags.c.tag == tag)).first() is not None


def add_tag(conn: sa.Connection, instance_uuid: str, tag: str) -> bool:
    """Add one tag; False when the instance had it already. TooManyInstanceTags past
    the 50th."""
    if tag_exists(conn, instance_uuid, tag):
        return False
    if len(_tags_of(conn, [instance_uuid])[instance_uuid]) >= MAX_TAGS:
        raise exception.TooManyInstanceTags(limit=MAX_TAGS)
    conn.execute(tags.insert().values(resource_id=instance_uuid, tag=tag))
    return True


def set_tags(conn: sa.Connection, instance_uuid: str, new_tags: Iterable[str]) -> list[str]:
    """Replace the instance's tags; the result, sorted."""
    wanted = sorted(set(new_tags))
    if len(wanted) > MAX_TAGS:
        raise exception.TooManyInstanceTags(limit=MAX_TAGS)
    current = set(get_tags(conn, instance_uuid))
    gone = current - set(wanted)
    if gone:
        conn.execute(tags.delete().where(tags.c.resource_id == instance_uuid,
                                         tags.c.tag.in_(gone)))
    for tag in wanted:
        if tag not in current:
            conn.execute(tags.insert().values(resource_id=instance_uuid, tag=tag))
    return wanted


def delete_tag(conn: sa.Connection, instance_uuid: str, tag: str) -> None:
    """Remove one tag; raises InstanceTagNotFound."""
    _check_live(conn, instance_uuid)
    result = conn.execute(tags.delete().where(tags.c.resource_id == instance_uuid,
                                              tags.c.tag == tag))
    if result.rowcount == 0:
        raise exception.InstanceTagNotFound(instance_id=instance_uuid, tag=tag)


def delete_all_tags(conn: sa.Connection, instance_uuid: str) -> None:
    _check_live(conn, instance_uuid)
    conn.execute(tags.delete().where(tags.c.resource_id == instance_uuid))


# -- faults --------------------------------------------------------------------------------------

def add_fault(conn: sa.Connection, fault: InstanceFault) -> InstanceFault:
    """Record why an instance failed (the message is cut to its column's 255)."""
    now = fault.created_at or utcnow()
    message = (fault.message or "")[:255]
    fault_id = conn.execute(instance_faults.insert().values(
        instance_uuid=fault.instance_uuid, code=fault.code, message=message,
        details=fault.details, host=fault.host, created_at=now,
        deleted=0)).inserted_primary_key[0]
    return InstanceFault(instance_uuid=fault.instance_uuid, code=fault.code, message=message,
                         details=fault.details, host=fault.host, created_at=now, id=fault_id)


def get_latest_faults(conn: sa.Connection, instance_uuids: Sequence[str]
                      ) -> dict[str, InstanceFault]:
    """The latest fault of each instance that has one."""
    if not instance_uuids:
        return {}
    latest = (sa.select(instance_faults.c.instance_uuid,
                        sa.func.max(instance_faults.c.id).label("id"))
              .where(instance_faults.c.instance_uuid.in_(list(instance_uuids)))
              .group_by(instance_faults.c.instance_uuid).subquery())
    rows = conn.execute(sa.select(instance_faults).join(
        latest, instance_faults.c.id == latest.c.id))
    return {row.instance_uuid: InstanceFault(
        instance_uuid=row.instance_uuid, code=row.code, message=row.message,
        details=row.details, host=row.host, created_at=row.created_at, id=row.id)
        for row in rows}
