"""The scheduler: ``select_destinations`` and the host-state messages, in one object.

``Scheduler`` is what ``nova-scheduler`` serves on topic ``scheduler`` (its RPC
endpoint, Nova's ``SchedulerManager`` at version 4.5) and what the all-in-one, the
tests and the benchmarks call in-process. One request goes (spec D §1):

1. the prefilters (``request_filter.process_reqspec``), which narrow the Placement
   query (a prefilter that refuses the request is NoValidHost);
2. Placement's allocation candidates for the request (the PCPU query and its legacy
   VCPU fallback), skipped for a rebuild, which stays on its host and claims nothing;
3. the candidates' rows of ``HostStates`` (refreshed from the cell databases by the
   host source first, when there is one), the enabled filters and the weighers, then
   the random choice among the ``host_subset_size`` best;
4. for each instance in turn: a claim of the chosen host's allocation request in
   Placement (the next host is tried when a claim is refused), the claim consumed
   into the host state so that the next instance sees it, and the alternates (up to
   ``[scheduler] max_attempts - 1`` other hosts of the same cell that passed the
   filters, each with its allocation request) for the conductor's retries. When an
   instance finds no host, every claim of the request is deleted again and the
   request is NoValidHost.

Server groups and parallel requests. The (anti-)affinity filters read the group's
``hosts`` as the conductor loaded them, which cannot include members another request
is placing at the same moment (Nova's "Affinity policy violated with parallel
requests"; its compute catches that late and reschedules). Here a host is recorded
for its group the moment it is chosen, before the claim is awaited, and every request
of the same group adds the recorded hosts to its own before filtering: requests that
reach one scheduler never violate a policy, and the compute's late check remains for
requests spread over several schedulers. A record is dropped when its claim fails,
when the instance is reported on a host (``update_instance_info``/``sync``), or after
``GROUP_RECORD_SECONDS``.
"""
from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from oslo_config import cfg

from nova_tx import exception
from nova_tx.bus.rpc import Target, expected_exceptions
from nova_tx.objects.request_spec import RequestSpec, SchedulerLimits
from nova_tx.objects.selection import Selection
from nova_tx.scheduler import request_filter
from nova_tx.scheduler.filters import FilterHandler, request_is_rebuild
from nova_tx.scheduler.host_state import HostStates
from nova_tx.scheduler.request_filter import RequestFilterSources
from nova_tx.scheduler.resource_request import get_allocation_candidates
from nova_tx.scheduler.weights import WeightHandler

LOG = logging.getLogger(__name__)

#: Placement microversion of the claim: consumer generations (1.28) and the
#: allocation request's ``mappings`` (1.34) are sent back as they came (1.36 makes
#: them part of PUT /allocations).
CLAIM_VERSION = "1.36"
#: How long a host chosen for a server group member counts for the group's later
#: requests without the compute having reported the instance there.
GROUP_RECORD_SECONDS = 600.0


class NoAggregates:
    """The aggregate source of a scheduler without an API database: the prefilters
    that need aggregates find none (they then add no restriction, or refuse where
    the operator asked them to: ``placement_aggregate_required_for_tenants``)."""

    async def aggregates_for_metadata(self, key: str | None = None,
                                      value: str | None = None) -> list:
        return []

    async def aggregates_non_matching_by_metadata_keys(self, ignored_keys, key_prefix,
                                                       value) -> list:
        return []


class Scheduler:
    """Version history (Nova's scheduler RPC API):

    * 4.0-4.5: select_destinations (4.4 ``return_objects``, 4.5 ``return_alternates``);
      4.1: update_aggregates, delete_aggregate; update_instance_info,
      delete_instance_info, sync_instance_info.
    """

    target = Target(version="4.5")

    def __init__(self, conf: cfg.ConfigOpts, *, placement: Any,
                 host_states: HostStates | None = None, host_source: Any = None,
                 sources: RequestFilterSources | None = None, rng: Any = None,
                 clock: Callable[[], float] = time.time):
        self.conf = conf
        self.placement = placement
        self.host_states = host_states if host_states is not None else HostStates()
        #: ``refresh(host_states)`` (a Deferred or coroutine) before each request and
        #: ``instances_of_host(host)`` when a host's instances must be read again
        #: (``nova_tx.scheduler.host_source.CellHostSource``); None: the host states
        #: are fed by their owner (tests, benchmarks).
        self.host_source = host_source
        self.sources = sources if sources is not None else RequestFilterSources(
            conf=conf, aggregates=NoAggregates(), placement=placement)
        self.filters = FilterHandler(conf)
        self.weighers = WeightHandler(conf, rng=rng)
        self.clock = clock
        #: group uuid -> {instance uuid: (host, time recorded)}.
        self._group_hosts: dict[str, dict[str, tuple[str, float]]] = {}

    # -- select_destinations --------------------------------------------------------

    @expected_exceptions(exception.NoValidHost)
    async def select_destinations(self, ctxt: Any, request_spec: Any = None,
                                  filter_properties: Any = None, spec_obj: Any = None,
                                  instance_uuids: Sequence[str] | None = None,
                                  return_objects: bool = False,
                                  return_alternates: bool = False) -> Any:
        """The RPC method (Nova's signature): ``spec_obj`` is the RequestSpec
        primitive. With ``return_objects`` a list per instance of Selection
        primitives (the chosen host first, then the alternates when asked for),
        else the legacy list of host dicts."""
        spec = spec_obj if isinstance(spec_obj, RequestSpec) else RequestSpec.from_primitive(
            spec_obj if spec_obj is not None else request_spec)
        selections = await self.select(ctxt, spec, instance_uuids,
                                       return_alternates=return_alternates)
        if not return_objects:
            return [alternatives[0].to_legacy_dict() for alternatives in selections]
        return [[s.to_primitive() for s in alternatives] for alternatives in selections]

    async def select(self, ctxt: Any, spec: RequestSpec,
                     instance_uuids: Sequence[str] | None = None, *,
                     return_alternates: bool = False) -> list[list[Selection]]:
        """``select_destinations`` in-process: a list of Selections per instance."""
        instance_uuids = list(instance_uuids or ())
        num_instances = len(instance_uuids) or int(spec.num_instances or 1)
        LOG.debug("Starting to schedule for instances: %s", instance_uuids)
        try:
            await request_filter.process_reqspec(self.sources, ctxt, spec)
        except exception.RequestFilterFailed as error:
            raise exception.NoValidHost(reason=error.kwargs.get("reason", "")) from None
        if self.host_source is not None:
            await self.host_source.refresh(self.host_states)
        rebuild = request_is_rebuild(spec)
        by_provider: dict[str, list[dict]] = {}
        version = None
        if rebuild:
            candidates = None
        else:
            global_id = getattr(ctxt, "global_request_id", None)
            requests, summaries, version = await get_allocation_candidates(
                self.placement, spec, self.conf, compute_nodes=self._compute_nodes,
                global_request_id=global_id)
            if not requests:
                LOG.info("Got no allocation candidates from the Placement API. This "
                         "could be due to insufficient resources or a temporary "
                         "occurrence as compute nodes start up.")
                raise exception.NoValidHost(reason="")
            for request in requests:
                for provider in request["allocations"]:
                    by_provider.setdefault(provider, []).append(request)
            candidates = list(summaries)
        states = self.host_states
        rows = states.rows() if candidates is None else states.rows_of_uuids(candidates)
        self._add_group_hosts(spec)
        claims = instance_uuids and not rebuild
        return await self._schedule(ctxt, spec, instance_uuids, num_instances, rows,
                                    by_provider if claims else None, version,
                                    return_alternates)

    def _compute_nodes(self, host: str | None, node: str | None, cell: Any) -> list[str]:
        """The uuids of the compute nodes of a targeted host and/or node (and cell):
        what a forced or requested destination narrows the Placement query to."""
        states = self.host_states
        rows = states.rows()
        keep = np.ones(len(rows), dtype=bool)
        if host:
            keep &= states.host[rows] == host
        if node:
            keep &= states.nodename[rows] == node
        cell_uuid = cell.get("uuid") if isinstance(cell, dict) else getattr(cell, "uuid", None)
        if cell_uuid:
            keep &= states.cell_uuid[rows] == cell_uuid
        return [states.uuid[r] for r in rows[keep].tolist()]

    async def _schedule(self, ctxt: Any, spec: RequestSpec, instance_uuids: list[str],
                        num_instances: int, rows: np.ndarray,
                        by_provider: dict[str, list[dict]] | None, version: str | None,
                        return_alternates: bool) -> list[list[Selection]]:
        states = self.host_states
        chosen: list[tuple[int, dict | None, np.ndarray]] = []
        claimed: list[str] = []
        group = spec.instance_group
        for index in range(num_instances):
            uuid = instance_uuids[index] if instance_uuids else None
            passing = self.filters.get_filtered_hosts(states, rows, spec, index=index)
            if not len(passing):
                break
            ordered = self.weighers.get_sorted_hosts(states, passing, spec)
            if by_provider is None:
                row, request = int(ordered[0]), None
            else:
                row, request = await self._claim_first(ctxt, spec, uuid, ordered,
                                                       by_provider, version)
                if row is None:
                    break
                claimed.append(uuid)
            states.consume_from_request(row, spec, instance_uuid=uuid)
            if group is not None and uuid is None:
                group.hosts = [*(group.hosts or []), states.host[row]]
            chosen.append((row, request, ordered))
        if len(chosen) < num_instances:
            await self._release(ctxt, claimed)
            for uuid, (row, _, _) in zip(claimed, chosen, strict=False):
                states.delete_instance_info(states.host[row], uuid)
                self._forget_group_host(group, uuid)
            reason = "There are not enough hosts available."
            LOG.debug("There are %d hosts available but %d instances requested to build.",
                      len(chosen), num_instances)
            raise exception.NoValidHost(reason=reason)
        alternates = self.conf.scheduler.max_attempts - 1 if return_alternates else 0
        taken = {row for row, _, _ in chosen}
        return [self._selections(spec, row, request, ordered, taken, alternates,
                                 by_provider, version)
                for row, request, ordered in chosen]

    async def _claim_first(self, ctxt: Any, spec: RequestSpec, uuid: str,
                           ordered: np.ndarray, by_provider: dict[str, list[dict]],
                           version: str | None) -> tuple[int | None, dict | None]:
        """Claim on the first host of ``ordered`` that has an allocation request and
        whose claim Placement accepts; (row, request) or (None, None)."""
        states = self.host_states
        group = spec.instance_group
        for row in ordered.tolist():
            requests = by_provider.get(states.uuid[row])
            if not requests:
                LOG.debug("Unable to find allocation request for host %s; it cannot "
                          "be used.", states.host[row])
                continue
            request = requests[0]
            host = states.host[row]
            # Counted on the host (anti-affinity) and for the group (affinity) before
            # the claim is awaited: a parallel request filtering meanwhile sees it.
            states.update_instance_info(host, [uuid])
            self._record_group_host(group, uuid, host)
            if await self._claim(ctxt, spec, uuid, request, version):
                return row, request
            states.delete_instance_info(host, uuid)
            self._forget_group_host(group, uuid)
        return None, None

    async def _claim(self, ctxt: Any, spec: RequestSpec, uuid: str, request: dict,
                     version: str | None) -> bool:
        body = {"allocations": request["allocations"],
                "project_id": spec.project_id, "user_id": spec.user_id,
                "consumer_generation": None}
        if request.get("mappings"):
            body["mappings"] = request["mappings"]
        for attempt in range(CLAIM_ATTEMPTS):
            if attempt:
                # Nova's @retries: a random pause growing with the attempts, so that the
                # claims that collided do not collide again.
                await self.pause(random.uniform(0, attempt * 2))
            try:
                response = await self.placement.put(
                    f"/allocations/{uuid}", body, version=CLAIM_VERSION,
                    global_request_id=getattr(ctxt, "global_request_id", None))
            except Exception:
                LOG.exception("Placement could not be reached to claim for %s", uuid)
                return False
            if response.status_code == 204:
                return True
            if not _concurrent_update(response):
                break
            LOG.debug("Claim for %s met a concurrent update of its providers; retrying",
                      uuid)
        LOG.warning("Unable to submit allocation for instance %s (%s %s)", uuid,
                    response.status_code, response.text)
        return False

    @staticmethod
    def pause(seconds: float) -> Any:
        from twisted.internet import reactor, task

        return task.deferLater(reactor, seconds, lambda: None)

    async def _release(self, ctxt: Any, uuids: list[str]) -> None:
        """Delete the allocations of ``uuids`` (a request that could not be placed
        whole); a failure is logged, the heal of the conductor's cleanup remains."""
        for uuid in uuids:
            try:
                response = await self.placement.delete(
                    f"/allocations/{uuid}",
                    global_request_id=getattr(ctxt, "global_request_id", None))
            except Exception:
                LOG.exception("Unable to delete the allocations of %s", uuid)
                continue
            if response.status_code not in (204, 404):
                LOG.error("Unable to delete the allocations of %s: %s %s", uuid,
                          response.status_code, response.text)

    def _selections(self, spec: RequestSpec, row: int, request: dict | None,
                    ordered: np.ndarray, taken: set[int], alternates: int,
                    by_provider: dict[str, list[dict]] | None,
                    version: str | None) -> list[Selection]:
        """The chosen host, then up to ``alternates`` other passing hosts of the same
        cell (those with an allocation request, when claims are made)."""
        states = self.host_states
        out = [self._selection(spec, row, request, version)]
        if alternates <= 0:
            return out
        cell = states.cell_uuid[row]
        for other in ordered.tolist():
            if len(out) > alternates:
                break
            if other in taken or states.cell_uuid[other] != cell:
                continue
            other_request = None
            if by_provider is not None:
                requests = by_provider.get(states.uuid[other])
                if not requests:
                    continue
                other_request = requests[0]
            out.append(self._selection(spec, other, other_request, version))
        return out

    def _selection(self, spec: RequestSpec, row: int, request: dict | None,
                   version: str | None) -> Selection:
        states = self.host_states
        limits = states.limits(row, spec)
        numa = limits.get("numa_topology")
        return Selection(
            service_host=states.host[row], nodename=states.nodename[row],
            compute_node_uuid=states.uuid[row], cell_uuid=states.cell_uuid[row],
            limits=SchedulerLimits(numa_topology=None if numa is None else numa.to_dict()),
            allocation_request=None if request is None else json.dumps(request),
            allocation_request_version=version if request is not None else None)

    # -- server groups: the hosts being chosen for members right now ---------------

    def _record_group_host(self, group: Any, uuid: str | None, host: str) -> None:
        if group is None or not group.uuid or uuid is None:
            return
        self._group_hosts.setdefault(group.uuid, {})[uuid] = (host, self.clock())

    def _forget_group_host(self, group: Any, uuid: str | None) -> None:
        if group is None or not group.uuid or uuid is None:
            return
        records = self._group_hosts.get(group.uuid)
        if records is not None:
            records.pop(uuid, None)
            if not records:
                del self._group_hosts[group.uuid]

    def _forget_instance(self, uuid: str) -> None:
        for group_uuid in list(self._group_hosts):
            records = self._group_hosts[group_uuid]
            if records.pop(uuid, None) is not None and not records:
                del self._group_hosts[group_uuid]

    def _add_group_hosts(self, spec: RequestSpec) -> None:
        """The hosts recorded for the request's group join its ``hosts`` and the
        instances its ``members`` (what the (anti-)affinity filters read)."""
        group = spec.instance_group
        if group is None or not group.uuid:
            return
        records = self._group_hosts.get(group.uuid)
        if not records:
            return
        oldest = self.clock() - GROUP_RECORD_SECONDS
        for uuid, (host, when) in list(records.items()):
            if when < oldest:
                del records[uuid]
                continue
            if host not in (group.hosts or []):
                group.hosts = [*(group.hosts or []), host]
            if group.members is not None and uuid not in group.members:
                group.members.append(uuid)
        if not records:
            del self._group_hosts[group.uuid]

    # -- what the computes and the API tell the schedulers --------------------------

    def update_aggregates(self, ctxt: Any, aggregates: Any) -> None:
        self.host_states.update_aggregates(aggregates)

    def delete_aggregate(self, ctxt: Any, aggregate: Any) -> None:
        self.host_states.delete_aggregate(aggregate)

    async def update_instance_info(self, ctxt: Any, host_name: str,
                                   instance_info: Any) -> None:
        instances = _instance_list(instance_info)
        for instance in instances:
            self._forget_instance(_uuid(instance))
        if not self.host_states.update_instance_info(host_name, instances):
            await self._reload_instances(host_name)

    async def delete_instance_info(self, ctxt: Any, host_name: str,
                                   instance_uuid: str) -> None:
        self._forget_instance(instance_uuid)
        if not self.host_states.delete_instance_info(host_name, instance_uuid):
            await self._reload_instances(host_name)

    async def sync_instance_info(self, ctxt: Any, host_name: str,
                                 instance_uuids: Sequence[str]) -> None:
        for uuid in instance_uuids:
            self._forget_instance(uuid)
        if not self.host_states.sync_instance_info(host_name, instance_uuids):
            await self._reload_instances(host_name)

    async def _reload_instances(self, host: str) -> None:
        if self.host_source is None:
            return
        self.host_states.set_instance_info(
            host, await self.host_source.instances_of_host(host))


def _instance_list(value: Any) -> list:
    """An ``InstanceList`` primitive, a list of instances or of primitives."""
    if isinstance(value, dict):
        value = value.get("nova_object.data", value).get("objects", [])
    return list(value or ())


def _uuid(instance: Any) -> str:
    if isinstance(instance, str):
        return instance
    if isinstance(instance, dict):
        return instance.get("nova_object.data", instance)["uuid"]
    return instance.uuid


#: Nova's ``@retries`` of ``put_allocations``: four tries in all.
CLAIM_ATTEMPTS = 4


def _concurrent_update(response: Any) -> bool:
    """A claim's 409 that another claim or inventory change caused (the providers'
    generations moved): Nova's report client tries it again. A consumer generation
    conflict is not one of them."""
    if response.status_code != 409:
        return False
    try:
        error = response.json()["errors"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return False
    return error.get("code") == "placement.concurrent_update" and \
        "consumer generation conflict" not in str(error.get("detail", ""))
