"""Resource providers: creation, trees (parent and root), listing filters, generations."""
from __future__ import annotations

import dataclasses
import uuid as uuidlib

import sqlalchemy as sa

from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.placement.models import (
    aggregates,
    allocations,
    inventories,
    resource_providers,
    rp_aggregates,
    rp_traits,
)
from nova_tx.db.types import utcnow
from nova_tx.placement import exception
from nova_tx.placement.objects import ResourceProvider

rp = resource_providers
_parent = rp.alias("parent")
_root = rp.alias("root")

#: The columns a ResourceProvider is built from.
COLUMNS = (
    rp.c.id, rp.c.uuid, rp.c.name, rp.c.generation, rp.c.created_at, rp.c.updated_at,
    rp.c.parent_provider_id, rp.c.root_provider_id,
    _parent.c.uuid.label("parent_uuid"), _root.c.uuid.label("root_uuid"),
)


def _select() -> sa.Select:
    return (sa.select(*COLUMNS)
            .select_from(rp.outerjoin(_parent, _parent.c.id == rp.c.parent_provider_id)
                         .outerjoin(_root, _root.c.id == rp.c.root_provider_id)))


def from_row(row) -> ResourceProvider:
    return ResourceProvider(
        id=row.id, uuid=row.uuid, name=row.name, generation=row.generation or 0,
        parent_provider_uuid=row.parent_uuid, root_provider_uuid=row.root_uuid or row.uuid,
        created_at=row.created_at, updated_at=row.updated_at,
        parent_provider_id=row.parent_provider_id,
        root_provider_id=row.root_provider_id or row.id)


def get_by_uuid(conn: sa.Connection, uuid: str) -> ResourceProvider:
    row = conn.execute(_select().where(rp.c.uuid == uuid)).one_or_none()
    if row is None:
        raise exception.ResourceProviderNotFound(uuid)
    return from_row(row)


def _get_by(conn: sa.Connection, column: str, values) -> dict:
    """The providers whose ``column`` is one of ``values``, by that column's value
    (asked 500 values at a time, to stay within the drivers' bound-parameter limits)."""
    values = list(set(values))
    result = {}
    for i in range(0, len(values), 500):
        for row in conn.execute(_select().where(rp.c[column].in_(values[i:i + 500]))):
            result[getattr(row, column)] = from_row(row)
    return result


def get_by_uuids(conn: sa.Connection, uuids) -> dict[str, ResourceProvider]:
    return _get_by(conn, "uuid", uuids)


def get_by_ids(conn: sa.Connection, ids) -> dict[int, ResourceProvider]:
    return _get_by(conn, "id", ids)


@dataclasses.dataclass
class TraitFilter:
    """Traits a provider must have (all of ``required``, one of each ``any_of`` set)
    and must not have (``forbidden``), by id."""

    required: set[int] = dataclasses.field(default_factory=set)
    forbidden: set[int] = dataclasses.field(default_factory=set)
    any_of: list[set[int]] = dataclasses.field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.required or self.forbidden or self.any_of)

    def clauses(self, rp_id_col) -> list:
        """WHERE clauses on ``rp_id_col`` for these traits (one subquery each)."""
        clauses = []
        for trait_id in self.required:
            clauses.append(rp_id_col.in_(sa.select(rp_traits.c.resource_provider_id)
                                         .where(rp_traits.c.trait_id == trait_id)))
        for ids in self.any_of:
            clauses.append(rp_id_col.in_(sa.select(rp_traits.c.resource_provider_id)
                                         .where(rp_traits.c.trait_id.in_(ids))))
        if self.forbidden:
            clauses.append(rp_id_col.not_in(sa.select(rp_traits.c.resource_provider_id)
                                            .where(rp_traits.c.trait_id.in_(self.forbidden))))
        return clauses


@dataclasses.dataclass
class MemberOf:
    """One ``member_of`` parameter: a provider in any of ``aggregates`` (or, negated, in
    none of them)."""

    aggregates: list[str]
    negated: bool = False


def member_of_clauses(conn: sa.Connection, member_of: list[MemberOf], rp_id_col,
                      root_id_col=None) -> list:
    """WHERE clauses for ``member_of``; with ``root_id_col``, a root in an aggregate
    counts for its whole tree (the unsuffixed group of allocation candidates)."""
    clauses = []
    for item in member_of:
        in_aggs = (sa.select(rp_aggregates.c.resource_provider_id)
                   .join(aggregates, aggregates.c.id == rp_aggregates.c.aggregate_id)
                   .where(aggregates.c.uuid.in_(item.aggregates)))
        if root_id_col is None:
            clause = rp_id_col.in_(in_aggs)
        else:
            clause = sa.or_(rp_id_col.in_(in_aggs), root_id_col.in_(in_aggs))
        clauses.append(sa.not_(clause) if item.negated else clause)
    return clauses


def get_all(conn: sa.Connection, *, name: str | None = None, uuid: str | None = None,
            member_of: list[MemberOf] | None = None, in_tree: str | None = None,
            resources: dict[int, int] | None = None,
            traits: TraitFilter | None = None) -> list[ResourceProvider]:
    """Providers matching every filter given (GET /resource_providers)."""
    query = _select()
    if name is not None:
        query = query.where(rp.c.name == name)
    if uuid is not None:
        query = query.where(rp.c.uuid == uuid)
    if in_tree is not None:
        root = conn.execute(sa.select(rp.c.root_provider_id).where(rp.c.uuid == in_tree)).scalar()
        if root is None:
            return []
        query = query.where(rp.c.root_provider_id == root)
    if member_of:
        query = query.where(*member_of_clauses(conn, member_of, rp.c.id))
    if traits:
        query = query.where(*traits.clauses(rp.c.id))
    for rc_id, amount in (resources or {}).items():
        query = query.where(rp.c.id.in_(providers_with_capacity(rc_id, amount)))
    return [from_row(r) for r in conn.execute(query.order_by(rp.c.id))]


def usage_subquery(rc_id: int) -> sa.Subquery:
    return (sa.select(allocations.c.resource_provider_id,
                      sa.func.sum(allocations.c.used).label("used"))
            .where(allocations.c.resource_class_id == rc_id)
            .group_by(allocations.c.resource_provider_id).subquery())


def capacity_clauses(inv, used, amount: int) -> list:
    """The conditions for ``amount`` more of a class to fit ``inv``, given ``used``."""
    return [
        (sa.func.coalesce(used, 0) + amount)
        <= (inv.c.total - inv.c.reserved) * inv.c.allocation_ratio,
        inv.c.min_unit <= amount,
        inv.c.max_unit >= amount,
        sa.literal(amount) % inv.c.step_size == 0,
    ]


def providers_with_capacity(rc_id: int, amount: int) -> sa.Select:
    """Ids of the providers that can take ``amount`` of class ``rc_id`` (a subquery)."""
    usage = usage_subquery(rc_id)
    return (sa.select(inventories.c.resource_provider_id)
            .select_from(inventories.outerjoin(
                usage, usage.c.resource_provider_id == inventories.c.resource_provider_id))
            .where(inventories.c.resource_class_id == rc_id,
                   *capacity_clauses(inventories, usage.c.used, amount)))


def create(conn: sa.Connection, *, name: str, uuid: str | None = None,
           parent_provider_uuid: str | None = None) -> ResourceProvider:
    uuid = uuid or str(uuidlib.uuid4())
    prefix = f'Unable to create resource provider "{name}", {uuid}: '
    parent = None
    if parent_provider_uuid is not None:
        if parent_provider_uuid == uuid:
            raise exception.BadRequest(
                prefix + "parent provider UUID cannot be same as UUID. Please set parent "
                "provider UUID to None if there is no parent.")
        try:
            parent = get_by_uuid(conn, parent_provider_uuid)
        except exception.ResourceProviderNotFound:
            raise exception.BadRequest(
                prefix + "parent provider UUID does not exist."
            ) from None
    _check_unique(conn, name, uuid)
    now = utcnow()
    try:
        with conn.begin_nested():
            rp_id = conn.execute(rp.insert().values(
                uuid=uuid, name=name, generation=0, created_at=now,
                parent_provider_id=parent.id if parent else None,
                root_provider_id=parent.root_provider_id if parent else None,
            )).inserted_primary_key[0]
            if parent is None:
                conn.execute(rp.update().where(rp.c.id == rp_id).values(root_provider_id=rp_id))
    except DBDuplicateEntry:
        _check_unique(conn, name, uuid)
        raise exception.Conflict(f"Conflicting resource provider name: {name} already exists.",
                                 code=exception.DUPLICATE_NAME) from None
    return get_by_uuid(conn, uuid)


def _check_unique(conn: sa.Connection, name: str, uuid: str, *, exclude: int | None = None
                  ) -> None:
    for column, value in (("uuid", uuid), ("name", name)):
        query = sa.select(rp.c.id).where(rp.c[column] == value)
        if exclude is not None:
            query = query.where(rp.c.id != exclude)
        if conn.execute(query).first() is not None:
            raise exception.Conflict(
                f"Conflicting resource provider {column}: {value} already exists.",
                code=exception.DUPLICATE_NAME if column == "name" else exception.UNDEFINED)


_UNSET = object()


def update(conn: sa.Connection, uuid: str, *, name: str,
           parent_provider_uuid=_UNSET, allow_reparenting: bool = False) -> ResourceProvider:
    """Rename ``uuid`` and, when ``parent_provider_uuid`` is given, move it.

    A provider without a parent may always get one; un-parenting and re-parenting
    need ``allow_reparenting`` (microversion 1.37), and no move may create a loop.
    """
    current = get_by_uuid(conn, uuid)
    _check_unique(conn, name, uuid, exclude=current.id)
    values: dict = {"name": name, "updated_at": utcnow()}
    if parent_provider_uuid is not _UNSET and \
            parent_provider_uuid != current.parent_provider_uuid:
        prefix = f"Unable to save resource provider {uuid}: Object action update failed because: "
        if current.parent_provider_uuid is not None and not allow_reparenting:
            what = "un-parenting" if parent_provider_uuid is None else "re-parenting"
            raise exception.BadRequest(prefix + f"{what} a provider is not currently allowed.")
        if parent_provider_uuid is None:
            new_root = current.id
            values["parent_provider_id"] = None
        else:
            try:
                parent = get_by_uuid(conn, parent_provider_uuid)
            except exception.ResourceProviderNotFound:
                raise exception.BadRequest(
                    prefix + "parent provider UUID does not exist.") from None
            if parent.id == current.id or parent.id in descendant_ids(conn, current.id):
                raise exception.BadRequest(
                    prefix + "creating loop in the provider tree is not allowed.")
            values["parent_provider_id"] = parent.id
            new_root = parent.root_provider_id
        subtree = [current.id, *descendant_ids(conn, current.id)]
        conn.execute(rp.update().where(rp.c.id.in_(subtree)).values(root_provider_id=new_root))
    try:
        with conn.begin_nested():
            conn.execute(rp.update().where(rp.c.id == current.id).values(**values))
    except DBDuplicateEntry:
        raise exception.Conflict(f"Conflicting resource provider name: {name} already exists.",
                                 code=exception.DUPLICATE_NAME) from None
    return get_by_uuid(conn, uuid)


def descendant_ids(conn: sa.Connection, rp_id: int) -> set[int]:
    """Ids of every provider below ``rp_id`` in its tree."""
    root = conn.execute(sa.select(rp.c.root_provider_id).where(rp.c.id == rp_id)).scalar()
    children: dict[int, list[int]] = {}
    for row in conn.execute(sa.select(rp.c.id, rp.c.parent_provider_id)
                            .where(rp.c.root_provider_id == root)):
        children.setdefault(row.parent_provider_id, []).append(row.id)
    found: set[int] = set()
    stack = list(children.get(rp_id, ()))
    while stack:
        child = stack.pop()
        if child not in found:
            found.add(child)
            stack.extend(children.get(child, ()))
    return found


def delete(conn: sa.Connection, uuid: str) -> None:
    try:
        current = get_by_uuid(conn, uuid)
    except exception.ResourceProviderNotFound:
        raise exception.NotFound(
            f"No resource provider with uuid {uuid} found for delete") from None
    if conn.execute(sa.select(rp.c.id).where(rp.c.parent_provider_id == current.id)
                    .limit(1)).first():
        raise exception.Conflict(
            f"Unable to delete parent resource provider {uuid}: It has child resource "
            "providers.", code=exception.PROVIDER_CANNOT_DELETE_PARENT)
    if conn.execute(sa.select(allocations.c.id)
                    .where(allocations.c.resource_provider_id == current.id).limit(1)).first():
        raise exception.Conflict(
            f"Unable to delete resource provider {uuid}: Resource provider has allocations.",
            code=exception.PROVIDER_IN_USE)
    conn.execute(inventories.delete().where(inventories.c.resource_provider_id == current.id))
    conn.execute(rp_traits.delete().where(rp_traits.c.resource_provider_id == current.id))
    conn.execute(rp_aggregates.delete().where(
        rp_aggregates.c.resource_provider_id == current.id))
    conn.execute(rp.update().where(rp.c.id == current.id).values(root_provider_id=None))
    conn.execute(rp.delete().where(rp.c.id == current.id))


def increment_generation(conn: sa.Connection, provider: ResourceProvider,
                         expected: int | None = None, *,
                         message: str = "resource provider generation conflict",
                         error: type[exception.ConcurrentUpdate] = exception.ConcurrentUpdate
                         ) -> int:
    """Bump ``provider``'s generation if it is still ``expected``.

    ``expected`` is what the client sent, or what this transaction read before it
    decided to write; None (the client gave none) means the generation now. The
    compare-and-swap is what makes concurrent writers safe: the second of two
    transactions that read the same generation updates no row and gets a conflict.
    """
    if expected is None:
        expected = conn.execute(sa.select(rp.c.generation).where(rp.c.id == provider.id)
                                ).scalar()
        if expected is None:
            raise exception.ResourceProviderNotFound(provider.uuid)
    result = conn.execute(rp.update()
                          .where(rp.c.id == provider.id, rp.c.generation == expected)
                          .values(generation=expected + 1, updated_at=utcnow()))
    if result.rowcount != 1:
        raise error(message)
    return expected + 1
