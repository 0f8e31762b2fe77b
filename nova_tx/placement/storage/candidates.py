"""Allocation candidates: where a request (one or more request groups) can be placed.

The filtering is SQL: for each request group and resource class one query returns the
providers with room for the amount (capacity ``(total - reserved) * allocation_ratio``
minus usage, ``min_unit``, ``max_unit``, ``step_size``), already narrowed by the
group's aggregates (``member_of``), tree (``in_tree``) and, where they apply to the
provider itself, traits. Python then only combines what survived, one tree at a time:
the providers of a tree (and the sharing providers anchored to it) into allocation
requests, checked for the unsuffixed group's traits, ``group_policy``,
``same_subtree`` and summed capacity. With a ``limit`` (and no
randomisation) it stops after the first ``limit`` requests, so a small answer out of
tens of thousands of providers costs the queries and a few trees.

The rules are OpenStack Placement's (``placement/objects/allocation_candidate.py`` and
``research_context.py``), including these:

- The unsuffixed group may spread over the providers of one tree plus sharing
  providers; its ``member_of`` is satisfied by a provider's root too; its required
  traits by the union of the providers it uses; its forbidden traits by none of them.
- A suffixed group is satisfied by one provider, which has all its traits.
- A sharing provider (trait ``MISC_SHARES_VIA_AGGREGATE``) serves the trees of the
  providers it shares an aggregate with.
- ``root_required`` filters the trees by their root's traits.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import gc
import itertools
import random
import threading

import os_traits
import sqlalchemy as sa

from nova_tx.db.placement.models import (
    allocations,
    inventories,
    resource_providers,
    rp_aggregates,
    rp_traits,
)
from nova_tx.placement.storage import resource_classes as rc_store
from nova_tx.placement.storage import resource_providers as rp_store
from nova_tx.placement.storage import traits as trait_store

rp = resource_providers

#: Above this many providers, summaries are read with one scan instead of IN lists.
_SCAN_THRESHOLD = 2000


@dataclasses.dataclass
class RequestGroup:
    """One request group: the unsuffixed one (``suffix`` "") or a suffixed one."""

    suffix: str = ""
    resources: dict[str, int] = dataclasses.field(default_factory=dict)
    required: set[str] = dataclasses.field(default_factory=set)
    forbidden: set[str] = dataclasses.field(default_factory=set)
    any_of: list[set[str]] = dataclasses.field(default_factory=list)
    member_of: list[rp_store.MemberOf] = dataclasses.field(default_factory=list)
    in_tree: str | None = None

    @property
    def use_same_provider(self) -> bool:
        return bool(self.suffix)


@dataclasses.dataclass
class CandidateQuery:
    groups: list[RequestGroup]
    group_policy: str | None = None
    same_subtrees: list[list[str]] = dataclasses.field(default_factory=list)
    root_required: set[str] = dataclasses.field(default_factory=set)
    root_forbidden: set[str] = dataclasses.field(default_factory=set)
    root_any_of: list[set[str]] = dataclasses.field(default_factory=list)
    limit: int | None = None
    randomize: bool = False
    #: Microversion 1.29 and later: allocation requests may use several providers of
    #: one tree.
    nested_aware: bool = True


@dataclasses.dataclass
class AllocationRequest:
    #: provider uuid -> class -> amount
    allocations: dict[str, dict[str, int]]
    #: group suffix -> provider uuids
    mappings: dict[str, list[str]]


class SummaryProvider:
    """What a provider summary tells of its provider."""

    __slots__ = ("uuid", "parent_provider_uuid", "root_provider_uuid")

    def __init__(self, uuid: str, parent_provider_uuid: str | None, root_provider_uuid: str):
        self.uuid = uuid
        self.parent_provider_uuid = parent_provider_uuid
        self.root_provider_uuid = root_provider_uuid


@dataclasses.dataclass
class ProviderSummary:
    provider: SummaryProvider
    #: class -> (capacity, used)
    resources: dict[str, tuple[int, int]]
    traits: list[str]


class _Partial:
    """One group's share of an allocation request."""

    __slots__ = ("amounts", "providers", "suffix", "same_provider")

    def __init__(self, amounts: dict[tuple[int, int], int], providers: frozenset[int],
                 suffix: str, same_provider: bool):
        self.amounts = amounts
        self.providers = providers
        self.suffix = suffix
        self.same_provider = same_provider


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused():
    """Python's cyclic garbage collector off while the block runs (in any thread).

    An answer for ten thousand providers allocates a few hundred thousand small
    objects, none of them in reference cycles, and each of those allocations counts
    towards the collector's next run: with it on, collections that walk the whole
    heap take as long as the work itself. Reference counting still frees everything;
    the collector is back on when the last paused block ends.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def get_candidates(conn: sa.Connection, query: CandidateQuery
                   ) -> tuple[list[AllocationRequest], list[ProviderSummary]]:
    """The allocation requests and provider summaries of ``query``.

    Raises ResourceClassNotFound / TraitNotFound for unknown names.
    """
    with gc_paused():
        return _get_candidates(conn, query)


def _get_candidates(conn: sa.Connection, query: CandidateQuery
                    ) -> tuple[list[AllocationRequest], list[ProviderSummary]]:
    rc_ids = rc_store.ids_by_name(conn, {rc for g in query.groups for rc in g.resources})
    trait_names = {t for g in query.groups for t in _trait_names(g.required, g.forbidden,
                                                                 g.any_of)}
    trait_names |= _trait_names(query.root_required, query.root_forbidden, query.root_any_of)
    trait_ids = trait_store.ids_by_name(conn, trait_names)
    sharing_trait = conn.execute(sa.select(trait_store.traits.c.id).where(
        trait_store.traits.c.name == os_traits.MISC_SHARES_VIA_AGGREGATE)).scalar()

    # (provider, class) -> (capacity, used, max_unit)
    invs: dict[tuple[int, int], tuple[int, int, int]] = {}
    root_of: dict[int, int] = {}
    # group index -> rc id -> set of provider ids (resourceless groups: rc id None).
    found: list[dict[int | None, set[int]]] = []
    every_inventory: list | None = None
    for group in query.groups:
        per_rc: dict[int | None, set[int]] = {}
        tree_root = _tree_root(conn, group.in_tree) if group.in_tree else None
        if group.in_tree and tree_root is None:
            return [], []
        filters = _provider_filters(conn, group, trait_ids, tree_root, sharing_trait)
        if not group.resources:
            ids = per_rc[None] = set()
            for pid, root in conn.execute(
                    sa.select(rp.c.id, rp.c.root_provider_id).where(*filters)).all():
                ids.add(pid)
                root_of[pid] = root
        amounts = {rc_ids[rc]: amount for rc, amount in group.resources.items()}
        for rc_id in amounts:
            per_rc[rc_id] = set()
        if amounts:
            # One query for all the group's classes; .all() fetches every row at once,
            # much cheaper than iterating row by row. A group without filters reads
            # every inventory, once for all such groups and the provider summaries.
            if filters:
                rows = conn.execute(_inventory_query(amounts, filters)).all()
            else:
                if every_inventory is None:
                    every_inventory = conn.execute(_inventory_query()).all()
                rows = every_inventory
            for pid, root, rc_id, total, reserved, ratio, min_unit, max_unit, step, used \
                    in rows:
                amount = amounts.get(rc_id)
                if amount is None:
                    continue
                capacity = int((total - reserved) * ratio)
                used = int(used or 0)
                if (used + amount > capacity or not min_unit <= amount <= max_unit
                        or amount % step):
                    continue
                per_rc[rc_id].add(pid)
                root_of[pid] = root
                invs[pid, rc_id] = (capacity, used, max_unit)
        if group.use_same_provider and group.resources:
            common = set.intersection(*per_rc.values())
            per_rc = {rc_id: common for rc_id in per_rc}
        found.append(per_rc)

    candidates = {p for per_rc in found for ids in per_rc.values() for p in ids}
    sharing = _sharing(conn, candidates, sharing_trait)
    anchors = _anchors(conn, sharing, root_of)

    # group index -> rc id -> tree root -> providers serving that tree (for a
    # resourceless group, the providers of the tree itself).
    index: list[dict[int | None, dict[int, list[int]]]] = []
    for per_rc in found:
        by_rc: dict[int | None, dict[int, list[int]]] = {}
        for rc_id, ids in per_rc.items():
            by_root: dict[int, list[int]] = collections.defaultdict(list)
            for p in ids:
                if rc_id is not None and p in sharing:
                    for t in anchors[p]:
                        by_root[t].append(p)
                else:
                    by_root[root_of[p]].append(p)
            by_rc[rc_id] = by_root
        index.append(by_rc)

    trees: set[int] | None = None
    for by_rc in index:
        for by_root in by_rc.values():
            trees = set(by_root) if trees is None else trees.intersection(by_root)
    trees = trees or set()
    if trees and (query.root_required or query.root_forbidden or query.root_any_of):
        trees = _roots_with_traits(conn, trees, rp_store.TraitFilter(
            required={trait_ids[n] for n in query.root_required},
            forbidden={trait_ids[n] for n in query.root_forbidden},
            any_of=[{trait_ids[n] for n in s} for s in query.root_any_of]))
    if not trees:
        return [], []

    # The unsuffixed groups' required and any-of traits, checked on the union of the
    # providers of a request: only those traits of only the providers that can serve
    # one of the trees are read.
    wanted_traits = {trait_ids[n] for g in query.groups if not g.use_same_provider
                     for n in _trait_names(g.required, (), g.any_of)}
    need_traits = {p for g, by_rc in zip(query.groups, index, strict=True)
                   if not g.use_same_provider and (g.required or g.any_of)
                   for by_root in by_rc.values()
                   for t, ps in by_root.items() if t in trees for p in ps}
    traits_of = _trait_ids_for(conn, need_traits, wanted_traits)
    parent_of = _parents(conn, {root_of[p] for p in candidates if root_of[p] in trees}) \
        if query.same_subtrees else {}

    ordered = sorted(trees)
    stop_at = query.limit if (query.limit and not query.randomize) else None
    results: list[tuple[dict, dict]] = []
    # The same request can come from several trees (a sharing provider serves each
    # tree it is anchored to): it is listed once.
    seen: set = set()
    # The common request (one unsuffixed group of resources, no traits to check on
    # the union, no same_subtree): a tree with a single provider for each class gives
    # one request, whose amounts the capacity queries have already checked.
    only = query.groups[0]
    simple = (len(query.groups) == 1 and not only.use_same_provider and only.resources
              and not only.required and not only.any_of and not query.same_subtrees
              and query.nested_aware)
    if simple:
        simple_rcs = [(rc_ids[rc], amount, index[0][rc_ids[rc]])
                      for rc, amount in only.resources.items()]
    for t in ordered:
        if simple:
            picked = []
            for rc_id, amount, by_root in simple_rcs:
                ps = by_root.get(t, ())
                if len(ps) != 1:
                    break
                picked.append(((ps[0], rc_id), amount))
            else:
                providers = {key[0] for key, _ in picked}
                if providers <= sharing:
                    key = (tuple(sorted(picked)), (("", tuple(sorted(providers))),))
                    if key in seen:
                        continue
                    seen.add(key)
                results.append((dict(picked), {"": providers}))
                if stop_at is not None and len(results) >= stop_at:
                    break
                continue
        tree_groups = [{rc_id: by_root.get(t, []) for rc_id, by_root in by_rc.items()}
                       for by_rc in index]
        for request in _tree_requests(query, tree_groups, traits_of, trait_ids, invs,
                                      root_of, parent_of, seen):
            results.append(request)
            if stop_at is not None and len(results) >= stop_at:
                break
        if stop_at is not None and len(results) >= stop_at:
            break
    if query.limit and len(results) > query.limit:
        results = random.sample(results, query.limit) if query.randomize \
            else results[:query.limit]
    if not results:
        return [], []

    used_ids = {p for amounts, _ in results for (p, _rc) in amounts}
    used_ids |= {p for _, mappings in results for ps in mappings.values() for p in ps}
    if query.nested_aware:
        summary_roots = {root_of[p] for p in used_ids}
        providers = _providers_in_trees(conn, summary_roots)
    else:
        providers = {i: SummaryProvider(p.uuid, p.parent_provider_uuid, p.root_provider_uuid)
                     for i, p in rp_store.get_by_ids(conn, used_ids).items()}
    summaries = _summaries(conn, providers, every_inventory)
    uuid_of = {i: p.uuid for i, p in providers.items()}
    names = rc_store.names_by_id(conn)
    requests = []
    for amounts, mappings in results:
        allocations: dict[str, dict[str, int]] = {}
        for (p, rc_id), amount in amounts.items():
            allocations.setdefault(uuid_of[p], {})[names[rc_id]] = amount
        requests.append(AllocationRequest(
            allocations=allocations,
            mappings={s: sorted([uuid_of[p] for p in ps]) for s, ps in mappings.items()}))
    return requests, summaries


def _trait_names(required, forbidden, any_of) -> set[str]:
    return set(required) | set(forbidden) | {n for s in any_of for n in s}


def _tree_root(conn: sa.Connection, uuid: str) -> int | None:
    return conn.execute(sa.select(rp.c.root_provider_id).where(rp.c.uuid == uuid)).scalar()


def _provider_filters(conn: sa.Connection, group: RequestGroup, trait_ids: dict[str, int],
                      tree_root: int | None, sharing_trait: int | None) -> list:
    filters = []
    if tree_root is not None:
        filters.append(rp.c.root_provider_id == tree_root)
    if group.member_of:
        filters += rp_store.member_of_clauses(
            conn, group.member_of, rp.c.id,
            None if group.use_same_provider else rp.c.root_provider_id)
    if group.use_same_provider:
        traits = rp_store.TraitFilter(
            required={trait_ids[n] for n in group.required},
            forbidden={trait_ids[n] for n in group.forbidden},
            any_of=[{trait_ids[n] for n in s} for s in group.any_of])
    else:
        # The unsuffixed group's required traits are checked on the union of the
        # providers of each request; its forbidden ones on each provider.
        traits = rp_store.TraitFilter(forbidden={trait_ids[n] for n in group.forbidden})
        # What the union needs, the tree must have somewhere, unless a sharing
        # provider can bring it: a provider is only read if its tree has each required
        # trait (one of each any-of set) or it is a sharing provider itself.
        for ids in [{trait_ids[n]} for n in group.required] + \
                [{trait_ids[n] for n in names} for names in group.any_of]:
            if not _shared_trait(conn, ids, sharing_trait):
                filters.append(_tree_has_trait(ids, sharing_trait))
    filters += traits.clauses(rp.c.id)
    return filters


def _shared_trait(conn: sa.Connection, ids: set[int], sharing_trait: int | None) -> bool:
    """Whether a sharing provider has one of the traits ``ids``."""
    if sharing_trait is None:
        return False
    sharing = rp_traits.alias("sharing")
    return conn.execute(
        sa.select(rp_traits.c.resource_provider_id)
        .join(sharing, sharing.c.resource_provider_id == rp_traits.c.resource_provider_id)
        .where(rp_traits.c.trait_id.in_(ids), sharing.c.trait_id == sharing_trait)
        .limit(1)).first() is not None


def _tree_has_trait(ids: set[int], sharing_trait: int | None):
    """A provider whose tree has one of the traits ``ids``, or a sharing provider."""
    member = rp.alias("member")
    roots = (sa.select(member.c.root_provider_id)
             .join(rp_traits, rp_traits.c.resource_provider_id == member.c.id)
             .where(rp_traits.c.trait_id.in_(ids)))
    clause = rp.c.root_provider_id.in_(roots)
    if sharing_trait is not None:
        clause = sa.or_(clause, rp.c.id.in_(
            sa.select(rp_traits.c.resource_provider_id)
            .where(rp_traits.c.trait_id == sharing_trait)))
    return clause


def _inventory_query(amounts: dict[int, int] | None = None, filters=(),
                     provider_ids=None) -> sa.Select:
    """Inventories with their providers' roots and usage (every column the capacity
    check and the summaries need), of the classes of ``amounts`` (all when None), of the
    providers that pass ``filters`` (and are in ``provider_ids`` when given); capacity
    itself is checked on the rows."""
    usage = (sa.select(allocations.c.resource_provider_id, allocations.c.resource_class_id,
                       sa.func.sum(allocations.c.used).label("used"))
             .group_by(allocations.c.resource_provider_id, allocations.c.resource_class_id))
    where = list(filters)
    if provider_ids is not None:
        usage = usage.where(allocations.c.resource_provider_id.in_(provider_ids))
        where.append(inventories.c.resource_provider_id.in_(provider_ids))
    if amounts is not None:
        rc_ids = sorted(amounts)
        usage = usage.where(allocations.c.resource_class_id.in_(rc_ids))
        # Only the rows that can fit the smallest amount asked of any class.
        where += [inventories.c.resource_class_id.in_(rc_ids),
                  inventories.c.min_unit <= max(amounts.values()),
                  inventories.c.max_unit >= min(amounts.values())]
    usage = usage.subquery()
    return (sa.select(rp.c.id, rp.c.root_provider_id, inventories.c.resource_class_id,
                      inventories.c.total, inventories.c.reserved,
                      inventories.c.allocation_ratio, inventories.c.min_unit,
                      inventories.c.max_unit, inventories.c.step_size, usage.c.used)
            .select_from(inventories.join(rp, rp.c.id == inventories.c.resource_provider_id)
                         .outerjoin(usage, sa.and_(
                             usage.c.resource_provider_id == inventories.c.resource_provider_id,
                             usage.c.resource_class_id == inventories.c.resource_class_id)))
            .where(*where))


def _chunks(values, size: int = 500):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _sharing(conn: sa.Connection, ids: set[int], sharing_trait: int | None) -> set[int]:
    if sharing_trait is None or not ids:
        return set()
    every = {row.resource_provider_id for row in conn.execute(
        sa.select(rp_traits.c.resource_provider_id).where(rp_traits.c.trait_id == sharing_trait))}
    return every & ids


def _anchors(conn: sa.Connection, sharing: set[int], root_of: dict[int, int]
             ) -> dict[int, set[int]]:
    """For each sharing provider, the roots of the trees it serves: its own and those of
    every provider it shares an aggregate with."""
    anchors = {s: {root_of[s]} for s in sharing}
    if not sharing:
        return anchors
    mine = rp_aggregates.alias("mine")
    theirs = rp_aggregates.alias("theirs")
    for chunk in _chunks(sharing):
        rows = conn.execute(
            sa.select(mine.c.resource_provider_id.label("sharing"), rp.c.root_provider_id)
            .select_from(mine.join(theirs, theirs.c.aggregate_id == mine.c.aggregate_id)
                         .join(rp, rp.c.id == theirs.c.resource_provider_id))
            .where(mine.c.resource_provider_id.in_(chunk)).distinct())
        for row in rows:
            anchors[row.sharing].add(row.root_provider_id)
    return anchors


def _roots_with_traits(conn: sa.Connection, roots: set[int],
                       traits: rp_store.TraitFilter) -> set[int]:
    kept: set[int] = set()
    for chunk in _chunks(roots):
        kept |= {row.id for row in conn.execute(
            sa.select(rp.c.id).where(rp.c.id.in_(chunk), *traits.clauses(rp.c.id)))}
    return kept


def _trait_ids_for(conn: sa.Connection, ids: set[int], wanted: set[int]
                   ) -> dict[int, set[int]]:
    """Provider id -> those of its traits that are in ``wanted``, for ``ids``."""
    result: dict[int, set[int]] = collections.defaultdict(set)
    if not ids or not wanted:
        return result
    query = (sa.select(rp_traits.c.resource_provider_id, rp_traits.c.trait_id)
             .where(rp_traits.c.trait_id.in_(wanted)))
    if len(ids) > _SCAN_THRESHOLD:
        rows = conn.execute(query).all()
    else:
        rows = [row for chunk in _chunks(ids) for row in conn.execute(
            query.where(rp_traits.c.resource_provider_id.in_(chunk))).all()]
    for rp_id, trait_id in rows:
        if rp_id in ids:
            result[rp_id].add(trait_id)
    return result


def _parents(conn: sa.Connection, roots: set[int]) -> dict[int, int | None]:
    parents: dict[int, int | None] = {}
    for chunk in _chunks(roots):
        for row in conn.execute(sa.select(rp.c.id, rp.c.parent_provider_id)
                                .where(rp.c.root_provider_id.in_(chunk))):
            parents[row.id] = row.parent_provider_id
    return parents


def _tree_requests(query: CandidateQuery, groups: list[dict[int | None, list[int]]],
                   traits_of, trait_ids, invs, root_of, parent_of, seen: set):
    """The allocation requests of one tree, as (amounts, mappings) pairs, deduplicated."""
    partials_by_group: list[list[_Partial]] = []
    for group, per_rc in zip(query.groups, groups, strict=True):
        partials = _group_partials(group, per_rc, traits_of, trait_ids)
        if not partials:
            return
        partials_by_group.append(partials)
    granular_groups = [g for g in query.groups if g.use_same_provider]
    for combo in itertools.product(*partials_by_group):
        if query.group_policy == "isolate" and len(granular_groups) > 1:
            granular = [p for p in combo if p.same_provider]
            if len({next(iter(p.providers)) for p in granular}) != len(granular):
                continue
        mappings: dict[str, set[int]] = collections.defaultdict(set)
        for partial in combo:
            mappings[partial.suffix] |= partial.providers
        if query.same_subtrees and not all(
                _same_subtree({p for s in suffixes for p in mappings.get(s, ())}, parent_of)
                for suffixes in query.same_subtrees):
            continue
        amounts: dict[tuple[int, int], int] = collections.defaultdict(int)
        for partial in combo:
            for key, amount in partial.amounts.items():
                amounts[key] += amount
        if any(invs[key][1] + amount > invs[key][0] or amount > invs[key][2]
               for key, amount in amounts.items()):
            continue
        used = {p for p, _ in amounts}
        if not query.nested_aware and _several_in_one_tree(used, root_of):
            continue
        key = (tuple(sorted(amounts.items())),
               tuple(sorted((s, tuple(sorted(ps))) for s, ps in mappings.items())))
        if key in seen:
            continue
        seen.add(key)
        yield dict(amounts), {s: set(ps) for s, ps in mappings.items()}


def _group_partials(group: RequestGroup, per_rc: dict[int | None, list[int]], traits_of,
                    trait_ids) -> list[_Partial]:
    if not group.resources:
        return [_Partial({}, frozenset([p]), group.suffix, True) for p in per_rc[None]]
    amounts_by_rc = {rc_id: amount for rc_id, amount in
                     zip(per_rc, group.resources.values(), strict=True)}
    if group.use_same_provider:
        providers = next(iter(per_rc.values()))
        return [_Partial({(p, rc_id): amount for rc_id, amount in amounts_by_rc.items()},
                         frozenset([p]), group.suffix, True) for p in providers]
    required = {trait_ids[n] for n in group.required}
    any_of = [{trait_ids[n] for n in s} for s in group.any_of]
    partials = []
    rc_order = list(per_rc)
    for combo in itertools.product(*(per_rc[rc_id] for rc_id in rc_order)):
        providers = frozenset(combo)
        if required or any_of:
            union = set().union(*(traits_of.get(p, ()) for p in providers))
            if not required <= union or any(not (s & union) for s in any_of):
                continue
        partials.append(_Partial(
            {(p, rc_id): amounts_by_rc[rc_id] for p, rc_id in zip(combo, rc_order, strict=True)},
            providers, group.suffix, False))
    return partials


def _same_subtree(providers: set[int], parent_of: dict[int, int | None]) -> bool:
    """Whether one of ``providers`` is an ancestor (or itself) of all the others."""
    if len(providers) <= 1:
        return True

    def ancestors(p: int) -> set[int]:
        found = set()
        while p is not None and p not in found:
            found.add(p)
            p = parent_of.get(p)
        return found

    common = set.intersection(*(ancestors(p) for p in providers))
    return bool(common & providers)


def _several_in_one_tree(used: set[int], root_of) -> bool:
    roots = [root_of[p] for p in used]
    return len(roots) != len(set(roots))


def _providers_in_trees(conn: sa.Connection, roots: set[int]) -> dict[int, SummaryProvider]:
    """Every provider of the trees of ``roots``, by id."""
    query = sa.select(rp.c.id, rp.c.uuid, rp.c.parent_provider_id, rp.c.root_provider_id)
    if len(roots) > _SCAN_THRESHOLD:
        rows = [row for row in conn.execute(query).all() if row[3] in roots]
    else:
        rows = [row for chunk in _chunks(roots) for row in conn.execute(
            query.where(rp.c.root_provider_id.in_(chunk))).all()]
    # A provider's parent and root are in its tree, so among the rows.
    uuid_of = {row[0]: row[1] for row in rows}
    return {pid: SummaryProvider(uuid, uuid_of[parent] if parent is not None else None,
                                 uuid_of.get(root, uuid))
            for pid, uuid, parent, root in rows}


def _summaries(conn: sa.Connection, providers: dict[int, SummaryProvider],
               every_inventory: list | None) -> list[ProviderSummary]:
    """Summaries of ``providers``, from ``every_inventory`` (rows of
    :func:`_inventory_query` for all providers) when it was read."""
    ids = set(providers)
    names = rc_store.names_by_id(conn)
    resources: dict[int, dict[str, tuple[int, int]]] = {p: {} for p in ids}
    if every_inventory is not None:
        rows = every_inventory
    elif len(ids) > _SCAN_THRESHOLD:
        rows = conn.execute(_inventory_query()).all()
    else:
        rows = [row for chunk in _chunks(ids) for row in conn.execute(
            _inventory_query(provider_ids=chunk)).all()]
    for rp_id, _root, rc_id, total, reserved, ratio, _min, _max, _step, used in rows:
        found = resources.get(rp_id)
        if found is not None:
            found[names[rc_id]] = (int((total - reserved) * ratio), int(used or 0))
    trait_names = _trait_names_for(conn, ids)
    return [ProviderSummary(provider=providers[p], resources=resources[p],
                            traits=trait_names.get(p, [])) for p in sorted(ids)]


def _trait_names_for(conn: sa.Connection, ids: set[int]) -> dict[int, list[str]]:
    """Provider id -> trait names, in the order the traits were created (Placement's).

    One row per provider (its trait ids joined in one string); providers with the
    same traits share one list.
    """
    result: dict[int, list[str]] = {}
    if not ids:
        return result
    names = dict(conn.execute(sa.select(trait_store.traits.c.id,
                                        trait_store.traits.c.name)).all())
    joined = sa.func.aggregate_strings(sa.cast(rp_traits.c.trait_id, sa.String), ",")
    query = (sa.select(rp_traits.c.resource_provider_id, joined)
             .group_by(rp_traits.c.resource_provider_id))
    if len(ids) > _SCAN_THRESHOLD:
        rows = conn.execute(query).all()
    else:
        rows = [row for chunk in _chunks(ids) for row in conn.execute(
            query.where(rp_traits.c.resource_provider_id.in_(chunk))).all()]
    lists: dict[str, list[str]] = {}
    for rp_id, text in rows:
        if rp_id in ids:
            found = lists.get(text)
            if found is None:
                found = lists[text] = [names[i] for i in sorted(map(int, text.split(",")))]
            result[rp_id] = found
    return result
