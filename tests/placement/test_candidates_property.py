"""Allocation candidates agree with a brute-force reference on random provider forests.

The reference walks every tree and every combination of providers in Python, the
obvious way; the implementation filters in SQL and combines only what survives. They
must give the same allocation requests, with nested providers, usage, reserved,
allocation ratios, max_unit and step_size, required and forbidden traits, member_of,
sharing providers and a granular group whose amounts add up with the unsuffixed one's.
"""
from __future__ import annotations

import itertools
import uuid as uuidlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from nova_tx.placement.objects import Inventory
from nova_tx.placement.storage import (
    aggregates,
    allocations,
    candidates,
    inventories,
    resource_providers,
    traits,
)
from tests.placement.db import placement_engine

CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")
TRAITS = ("HW_CPU_X86_AVX2", "STORAGE_DISK_SSD")
PROJECT = USER = "cccccccc-1111-4111-8111-111111111111"

inventory = st.fixed_dictionaries({
    "total": st.integers(1, 8), "reserved": st.integers(0, 2),
    "max_unit": st.integers(1, 8), "step_size": st.sampled_from([1, 1, 2]),
    "allocation_ratio": st.sampled_from([1.0, 1.0, 1.5]), "used": st.integers(0, 6)})
AGGREGATES = ("aaaaaaaa-0000-4000-8000-00000000000a", "aaaaaaaa-0000-4000-8000-00000000000b")
provider = st.fixed_dictionaries({
    "parent": st.one_of(st.none(), st.integers(0, 6)),
    "inventory": st.dictionaries(st.sampled_from(CLASSES), inventory, max_size=2),
    "traits": st.sets(st.sampled_from(TRAITS), max_size=2),
    "aggregates": st.sets(st.sampled_from(AGGREGATES), max_size=2),
    "sharing": st.booleans()})
request = st.fixed_dictionaries({
    "resources": st.dictionaries(st.sampled_from(CLASSES), st.integers(1, 4),
                                 min_size=1, max_size=3),
    "required": st.sets(st.sampled_from(TRAITS), max_size=1),
    "forbidden": st.sets(st.sampled_from(TRAITS), max_size=1),
    "granular": st.one_of(st.none(), st.tuples(st.sampled_from(CLASSES),
                                               st.integers(1, 3))),
    "member_of": st.one_of(st.none(), st.sampled_from(AGGREGATES)),
})


def fits(inv, used, amount):
    capacity = (inv["total"] - inv["reserved"]) * inv["allocation_ratio"]
    return (used + amount <= capacity and 1 <= amount <= inv["max_unit"]
            and amount % inv["step_size"] == 0)


def reference(providers, req):
    """Every allocation request, by brute force: {frozenset((rp, rc, amount))}.

    A sharing provider (a root with MISC_SHARES_VIA_AGGREGATE) serves, besides its own
    tree, every tree with a provider in one of its aggregates. ``member_of`` is met
    by a provider in the aggregate or, for the unsuffixed group, by its root.
    """
    roots = {}
    for i in range(len(providers)):
        r = i
        while providers[r]["parent"] is not None:
            r = providers[r]["parent"]
        roots[i] = r

    def serves(i, root):
        if roots[i] == root:
            return True
        p = providers[i]
        return p["sharing"] and any(
            roots[j] == root and providers[j]["aggregates"] & p["aggregates"]
            for j in range(len(providers)))

    def member(i, unsuffixed):
        agg = req["member_of"]
        if agg is None:
            return True
        return agg in providers[i]["aggregates"] or (
            unsuffixed and agg in providers[roots[i]]["aggregates"])

    def has(i, rc, amount):
        inv = providers[i]["inventory"].get(rc)
        return inv is not None and fits(inv, inv["used"], amount)

    wanted = set()
    for root in set(roots.values()):
        near = [i for i in range(len(providers)) if serves(i, root)]
        choices = [[i for i in near if has(i, rc, amount) and member(i, True)
                    and not (traits_of(providers[i]) & req["forbidden"])]
                   for rc, amount in req["resources"].items()]
        granular = [None]
        if req["granular"]:
            rc, amount = req["granular"]
            granular = [i for i in near if has(i, rc, amount)]
        for combo in itertools.product(*choices):
            union = set().union(*(traits_of(providers[i]) for i in combo))
            if not req["required"] <= union:
                continue
            for g in granular:
                amounts = {}
                for i, (rc, amount) in zip(combo, req["resources"].items(), strict=True):
                    amounts[i, rc] = amounts.get((i, rc), 0) + amount
                if g is not None:
                    rc, amount = req["granular"]
                    amounts[g, rc] = amounts.get((g, rc), 0) + amount
                if all(fits(providers[i]["inventory"][rc], providers[i]["inventory"][rc]["used"],
                            amount) for (i, rc), amount in amounts.items()):
                    wanted.add(frozenset((i, rc, a) for (i, rc), a in amounts.items()))
    return wanted


def traits_of(p) -> set[str]:
    return set(p["traits"]) | ({"MISC_SHARES_VIA_AGGREGATE"} if p["sharing"] else set())


class CandidatesPropertyTest(unittest.SynchronousTestCase):

    def setUp(self):
        self.engine = placement_engine(self)

    @settings(max_examples=200, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(providers=st.lists(provider, min_size=1, max_size=6), req=request)
    def test_agrees_with_brute_force(self, providers, req):
        # A parent must come first; anything else is a root.
        for i, p in enumerate(providers):
            if p["parent"] is not None and p["parent"] >= i:
                p["parent"] = None
            # Only roots share (as in practice; a nested sharing provider's anchors
            # are beyond this reference).
            p["sharing"] = p["sharing"] and p["parent"] is None and not any(
                q["parent"] == i for q in providers)
        _clear(self.engine)
        uuids = []
        with self.engine.begin() as conn:
            for i, p in enumerate(providers):
                rp = resource_providers.create(
                    conn, name=f"rp{i}",
                    parent_provider_uuid=uuids[p["parent"]] if p["parent"] is not None
                    else None)
                uuids.append(rp.uuid)
                inventories.replace_all(conn, rp, None, {
                    rc: Inventory(rc, total=v["total"], reserved=v["reserved"],
                                  max_unit=v["max_unit"], step_size=v["step_size"],
                                  allocation_ratio=v["allocation_ratio"])
                    for rc, v in p["inventory"].items()})
                if traits_of(p):
                    traits.set_for_provider(conn, rp, sorted(traits_of(p)), None)
                if p["aggregates"]:
                    aggregates.set_for_provider(conn, rp, sorted(p["aggregates"]))
                used = {rc: v["used"] for rc, v in p["inventory"].items() if v["used"]}
                if used:
                    # Written straight to the table: usage may exceed today's capacity.
                    conn.execute(allocations.allocations.insert(), [
                        {"resource_provider_id": rp.id, "consumer_id": str(uuidlib.uuid4()),
                         "resource_class_id": _rc_id(conn, rc), "used": amount}
                        for rc, amount in used.items()])
        member_of = ([resource_providers.MemberOf([req["member_of"]])]
                     if req["member_of"] else [])
        groups = [candidates.RequestGroup(resources=dict(req["resources"]),
                                          required=set(req["required"]),
                                          forbidden=set(req["forbidden"]),
                                          member_of=member_of)]
        if req["granular"]:
            rc, amount = req["granular"]
            groups.append(candidates.RequestGroup("1", resources={rc: amount}))
        if req["required"] & req["forbidden"]:
            return
        with self.engine.begin() as conn:
            found, _ = candidates.get_candidates(
                conn, candidates.CandidateQuery(groups=groups, group_policy="none"))
        index = {u: i for i, u in enumerate(uuids)}
        got = {frozenset((index[u], rc, a) for u, res in r.allocations.items()
                         for rc, a in res.items()) for r in found}
        self.assertEqual(reference(providers, req), got)


def _clear(engine) -> None:
    """Remove the providers and what hangs off them; keep classes and traits."""
    from nova_tx.db.placement import models

    with engine.begin() as conn:
        for table in (models.allocations, models.consumers, models.inventories,
                      models.rp_traits, models.rp_aggregates):
            conn.execute(table.delete())
        conn.execute(models.resource_providers.update().values(
            root_provider_id=None, parent_provider_id=None))
        conn.execute(models.resource_providers.delete())


def _rc_id(conn, name):
    from nova_tx.placement.storage import resource_classes

    return resource_classes.ids_by_name(conn, [name])[name]
