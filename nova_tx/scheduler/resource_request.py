"""From a RequestSpec to Placement's ``GET /allocation_candidates`` (Nova's
``ResourceRequest``, spec/E §2.3 and spec/D §1.2 step 4).

The order is Nova's, and it matters (a later step only fills what an earlier one left):

1. flavor extra specs ``resources[<suffix>]:<RC>=<amount>``, ``trait[<suffix>]:<T>=
   required|forbidden`` and ``group_policy``;
2. image ``traits_required`` (or Glance's ``trait:<T>=required`` keys): unsuffixed group;
3. the CPU pinning translation (``hw:cpu_policy`` dedicated → PCPU = vcpus, mixed → VCPU
   = vcpus - |dedicated| and PCPU = |dedicated|, +1 PCPU for isolated emulator threads,
   thread policy isolate/require → ``HW_CPU_HYPERTHREADING`` forbidden/required);
4. the groups from outside the flavor (ports, device profiles), by requester id;
5. defaults in the unsuffixed group: VCPU (unless VCPU or PCPU was requested anywhere),
   MEMORY_MB, DISK_GB = ephemeral + ceil(swap / 1024) + root (0 when booting from a
   volume), each unless already requested;
6. memory encryption, vPMEM, vTPM, PCI ``socket`` affinity, secure boot;
7. zero amounts and empty groups dropped.

:func:`resources_from_request_spec` then adds what the spec's destination says
(``member_of``, forbidden aggregates, ``in_tree`` of a targeted compute node) and the
``limit`` rules, and :func:`get_allocation_candidates` runs the query, plus the legacy
VCPU query of a pinned request unless ``[workarounds] disable_fallback_pcpu_query``.
"""
from __future__ import annotations

import collections
import logging
import math
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

import os_resource_classes as orc
import os_traits

from nova_tx import exception
from nova_tx.objects import numa
from nova_tx.objects.request_spec import RequestGroup, RequestLevelParams, RequestSpec
from nova_tx.virt import constraints

LOG = logging.getLogger(__name__)

#: The Placement microversion of the query (any-of traits, ``required=in:``, need 1.39).
ALLOCATION_CANDIDATES_VERSION = "1.39"

#: ``resources[<suffix>]:<class>`` and ``trait[<suffix>]:<name>`` (Placement 1.33
#: suffixes).
XS_KEYPAT = re.compile(r"^(resources|trait)([a-zA-Z0-9_-]{1,64})?:(.*)$")

#: Scheduler hints that need every candidate (the filters decide, not the limit).
_UNLIMITED_HINTS = ("group", "same_host", "different_host")


class ResourceRequest:
    """The placement side of one request: request groups by suffix (None for the
    unsuffixed group), ``group_policy``, ``limit`` and the request-level parameters.

    Build it with :meth:`from_request_spec` or :meth:`from_request_groups`.
    """

    def __init__(self, limit: int | None = None):
        self._rg_by_id: dict[str | None, RequestGroup] = {}
        self.group_policy: str | None = None
        #: None means "no limit".
        self.limit = limit
        self.root_required: set[str] = set()
        self.root_forbidden: set[str] = set()
        self.same_subtree: list[list[str]] = []
        self.member_of: list[list[str]] = []
        self.suffixed_groups_from_flavor = 0
        #: True when the request asked for PCPUs through ``hw:cpu_policy=dedicated``
        #: (the condition for the legacy VCPU fallback query).
        self.cpu_pinning_requested = False

    # -- building ----------------------------------------------------------------

    @classmethod
    def from_request_spec(cls, spec: RequestSpec, *, limit: int | None = None,
                          enable_pinning_translate: bool = True) -> ResourceRequest:
        req = cls(limit=limit)
        params = spec.request_level_params or RequestLevelParams()
        req.root_required = set(params.root_required)
        req.root_forbidden = set(params.root_forbidden)
        req.same_subtree = [list(s) for s in params.same_subtree]
        req.member_of = [list(m) for m in params.member_of]

        flavor = spec.flavor.for_numa()
        image = spec.image if spec.image is not None else numa.ImageMeta()
        req._process_extra_specs(flavor.extra_specs)
        req.suffixed_groups_from_flavor = req.get_num_of_suffixed_groups()
        req._process_image_meta(image)
        if enable_pinning_translate:
            req._translate_pinning_policies(flavor, image)
        for group in spec.requested_resources or ():
            req.add_request_group(group)

        merged = req.merged_resources()
        if orc.VCPU not in merged and orc.PCPU not in merged:
            req._add_resource(orc.VCPU, spec.vcpus)
        if orc.MEMORY_MB not in merged:
            req._add_resource(orc.MEMORY_MB, spec.memory_mb)
        if orc.DISK_GB not in merged:
            disk = spec.ephemeral_gb + math.ceil((spec.swap or 0) / 1024)
            if not spec.is_bfv:
                disk += spec.root_gb
            if disk:
                req._add_resource(orc.DISK_GB, disk)

        req._translate_memory_encryption(flavor, image)
        req._translate_vpmems(flavor)
        req._translate_vtpm(flavor, image)
        req._translate_pci_numa_affinity(flavor, image)
        req._translate_secure_boot(flavor, image)
        req.strip_zeros()
        return req

    @classmethod
    def from_request_groups(cls, groups: Iterable[RequestGroup],
                            params: RequestLevelParams | None = None,
                            group_policy: str | None = None, *,
                            limit: int | None = None) -> ResourceRequest:
        """A request of outside groups only (e.g. a port attached to a server)."""
        req = cls(limit=limit)
        params = params or RequestLevelParams()
        req.root_required = set(params.root_required)
        req.root_forbidden = set(params.root_forbidden)
        req.same_subtree = [list(s) for s in params.same_subtree]
        req.member_of = [list(m) for m in params.member_of]
        req.group_policy = group_policy
        for group in groups:
            req.add_request_group(group)
        req.strip_zeros()
        return req

    def _process_extra_specs(self, extra_specs: dict[str, str]) -> None:
        for key, value in extra_specs.items():
            if key == "group_policy":
                self._add_group_policy(value)
                continue
            match = XS_KEYPAT.match(key)
            if not match:
                continue
            prefix, suffix, name = match.groups()
            if prefix == "resources":
                self._add_resource(name, value, group=suffix)
            else:
                self._add_trait(name, value, group=suffix)

    def _process_image_meta(self, image: numa.ImageMeta) -> None:
        # Image traits always go to the unsuffixed group (no granular image traits).
        props = image.properties or {}
        for trait in props.get("traits_required") or ():
            self._add_trait(trait, "required")
        for key, value in props.items():
            if key.startswith("trait:") and value == "required":
                self._add_trait(key[len("trait:"):], "required")

    def _translate_pinning_policies(self, flavor: numa.Flavor, image: numa.ImageMeta) -> None:
        cpu_policy = constraints.get_cpu_policy_constraint(flavor, image)
        thread_policy = constraints.get_cpu_thread_policy_constraint(flavor, image)
        emulator_policy = constraints.get_emulator_thread_policy_constraint(flavor)
        pcpus = 0
        if cpu_policy == numa.CPU_POLICY_DEDICATED:
            self.cpu_pinning_requested = True
            pcpus = flavor.vcpus
        elif cpu_policy == numa.CPU_POLICY_MIXED:
            dedicated = constraints.get_dedicated_cpu_constraint(flavor)
            realtime = constraints.get_realtime_cpu_constraint(flavor, image)
            pcpus = len(dedicated or realtime or ())
            self._add_resource(orc.VCPU, flavor.vcpus - pcpus)
        if cpu_policy in numa.PINNED_CPU_POLICIES:
            if emulator_policy == numa.EMULATOR_THREADS_ISOLATE:
                pcpus += 1
            self._add_resource(orc.PCPU, pcpus)
        trait = {numa.THREAD_POLICY_ISOLATE: "forbidden",
                 numa.THREAD_POLICY_REQUIRE: "required"}.get(thread_policy or "")
        if trait:
            self._add_trait(os_traits.HW_CPU_HYPERTHREADING, trait)

    def _translate_memory_encryption(self, flavor: numa.Flavor, image: numa.ImageMeta) -> None:
        flavor_value = flavor.extra_specs.get("hw:mem_encryption")
        image_value = (image.properties or {}).get("hw_mem_encryption")
        requested = [constraints.parse_bool(v, k) for k, v in
                     (("hw:mem_encryption", flavor_value),
                      ("hw_mem_encryption", image_value)) if v is not None]
        if requested and all(requested):
            self._add_resource(orc.MEM_ENCRYPTION_CONTEXT, 1)

    def _translate_vpmems(self, flavor: numa.Flavor) -> None:
        amounts: dict[str, int] = collections.defaultdict(int)
        for label in constraints.get_vpmems(flavor):
            amounts[orc.normalize_name("PMEM_NAMESPACE_" + label)] += 1
        for rclass, amount in amounts.items():
            self._add_resource(rclass, amount)

    def _translate_vtpm(self, flavor: numa.Flavor, image: numa.ImageMeta) -> None:
        version = (flavor.extra_specs.get("hw:tpm_version")
                   or (image.properties or {}).get("hw_tpm_version"))
        if not version:
            return
        trait = (os_traits.COMPUTE_SECURITY_TPM_1_2 if str(version) == "1.2"
                 else os_traits.COMPUTE_SECURITY_TPM_2_0)
        self._add_trait(trait, "required")

    def _translate_pci_numa_affinity(self, flavor: numa.Flavor, image: numa.ImageMeta) -> None:
        if (constraints.get_pci_numa_policy_constraint(flavor, image)
                == numa.PCI_NUMA_SOCKET):
            self._add_trait(os_traits.COMPUTE_SOCKET_PCI_NUMA_AFFINITY, "required")

    def _translate_secure_boot(self, flavor: numa.Flavor, image: numa.ImageMeta) -> None:
        policy = (flavor.extra_specs.get("os:secure_boot")
                  or (image.properties or {}).get("os_secure_boot"))
        if policy == "required":
            self._add_trait(os_traits.COMPUTE_SECURITY_UEFI_SECURE_BOOT, "required")

    # -- groups --------------------------------------------------------------------

    def get_request_group(self, ident: str | None) -> RequestGroup:
        if ident not in self._rg_by_id:
            self._rg_by_id[ident] = RequestGroup(use_same_provider=bool(ident),
                                                 requester_id=ident)
        return self._rg_by_id[ident]

    @property
    def unsuffixed_group(self) -> RequestGroup:
        return self.get_request_group(None)

    def add_request_group(self, group: RequestGroup) -> None:
        """Add a group from outside the flavor under its ``requester_id`` as suffix.

        Raises ValueError for a group without requester id or asking for nothing, and
        ``RequestGroupSuffixConflict`` when the suffix is taken.
        """
        if not group.requester_id:
            raise ValueError(f"Missing requester_id in RequestGroup {group!r}")
        if group.is_empty():
            raise ValueError(f"Refusing to add no-op RequestGroup with requester_id="
                             f"{group.requester_id}")
        if group.requester_id in self._rg_by_id:
            raise exception.RequestGroupSuffixConflict(suffix=group.requester_id)
        self._rg_by_id[group.requester_id] = group

    def _add_resource(self, rclass: str, amount: Any, group: str | None = None) -> None:
        self.get_request_group(group).add_resource(rclass, amount)

    def _add_trait(self, name: str, trait_type: str, group: str | None = None) -> None:
        self.get_request_group(group).add_trait(name, trait_type)

    def _add_group_policy(self, policy: str) -> None:
        if policy not in ("none", "isolate"):
            LOG.warning("Invalid group_policy '%s'. Valid values are 'none' and "
                        "'isolate'.", policy)
            return
        self.group_policy = policy

    def get_num_of_suffixed_groups(self) -> int:
        return sum(1 for ident in self._rg_by_id if ident is not None)

    @property
    def request_groups(self) -> list[RequestGroup]:
        return list(self._rg_by_id.values())

    def merged_resources(self) -> dict[str, int]:
        """{resource class: amount} summed over every group."""
        merged: dict[str, int] = collections.defaultdict(int)
        for group in self._rg_by_id.values():
            for rclass, amount in group.resources.items():
                merged[rclass] += amount
        return dict(merged)

    @property
    def all_required_traits(self) -> set[str]:
        traits: set[str] = set()
        for group in self._rg_by_id.values():
            traits |= group.required_traits
        return traits

    def strip_zeros(self) -> None:
        for group in self._rg_by_id.values():
            group.strip_zeros()
        for ident, group in list(self._rg_by_id.items()):
            if group.is_empty():
                del self._rg_by_id[ident]

    # -- the query -------------------------------------------------------------------

    def to_querystring(self) -> str:
        """The query of ``GET /allocation_candidates`` (sorted, as Nova's, so that it
        is predictable in logs and tests)."""
        params: list[tuple[str, str]] = []
        if self.limit is not None:
            params.append(("limit", str(self.limit)))
        if self.group_policy is not None:
            params.append(("group_policy", self.group_policy))
        if self.root_required or self.root_forbidden:
            params.append(("root_required", ",".join(
                sorted(self.root_required) + ["!" + t for t in sorted(self.root_forbidden)])))
        for suffixes in self.same_subtree:
            params.append(("same_subtree", ",".join(suffixes)))
        for ident, group in self._rg_by_id.items():
            params.extend(_group_params(group, ident or ""))
            if ident is None:
                for agglist in self.member_of:
                    params.append(("member_of", "in:" + ",".join(sorted(agglist))))
        return urlencode(sorted(params))

    def __str__(self) -> str:
        return self.to_querystring()


def _group_params(group: RequestGroup, suffix: str) -> list[tuple[str, str]]:
    params = [("resources" + suffix, ",".join(
        sorted(f"{rc}:{amount}" for rc, amount in group.resources.items())))]
    required = ",".join(sorted(group.required_traits)
                        + ["!" + t for t in sorted(group.forbidden_traits)])
    if required:
        params.append(("required" + suffix, required))
    for any_of in group.any_traits:
        params.append(("required" + suffix, "in:" + ",".join(sorted(any_of))))
    for agglist in group.aggregates:
        params.append(("member_of" + suffix, "in:" + ",".join(sorted(agglist))))
    if group.in_tree:
        params.append(("in_tree" + suffix, group.in_tree))
    if group.forbidden_aggregates:
        params.append(("member_of" + suffix,
                       "!in:" + ",".join(sorted(group.forbidden_aggregates))))
    return params


#: ``(host, node, cell) -> compute node uuids``: how the scheduler finds the compute
#: nodes of a targeted host or node (its host manager).
ComputeNodeLookup = Callable[[str | None, str | None, Any], list[str]]


def resources_from_request_spec(spec: RequestSpec, conf: Any, *,
                                compute_nodes: ComputeNodeLookup | None = None,
                                enable_pinning_translate: bool = True) -> ResourceRequest:
    """The ResourceRequest of ``spec`` with what its destination adds (Nova's function
    of the same name).

    * ``requested_destination.aggregates`` (comma-joined OR-lists) become the unsuffixed
      group's ``member_of``; ``forbidden_aggregates`` its ``member_of=!in:``.
    * a targeted host/node (destination, else ``force_hosts``/``force_nodes``) is looked
      up with ``compute_nodes``: none → NoValidHost, one → ``in_tree=<its uuid>``,
      several → no ``limit``.
    * the hints ``group``, ``same_host`` and ``different_host`` remove the ``limit``.
    * with two or more suffixed groups and no ``group_policy``: ``none`` when at most
      one of them came from the flavor (ports added the others), with a warning.
    """
    req = ResourceRequest.from_request_spec(
        spec, limit=conf.scheduler.max_placement_results,
        enable_pinning_translate=enable_pinning_translate)
    target_host = target_node = target_cell = None
    destination = spec.requested_destination
    if destination is not None:
        target_host, target_node, target_cell = (destination.host, destination.node,
                                                 destination.cell)
        if destination.aggregates:
            req.unsuffixed_group.aggregates = [
                ored.split(",") for ored in destination.aggregates]
        if destination.forbidden_aggregates:
            req.unsuffixed_group.forbidden_aggregates |= destination.forbidden_aggregates
    if spec.force_hosts:
        target_host = target_host or spec.force_hosts[0]
    if spec.force_nodes:
        target_node = target_node or spec.force_nodes[0]

    if target_host or target_node:
        nodes = compute_nodes(target_host, target_node, target_cell) if compute_nodes else []
        if not nodes:
            raise exception.NoValidHost(
                reason=f"No such host - host: {target_host} node: {target_node} ")
        if len(nodes) == 1:
            req.unsuffixed_group.in_tree = nodes[0]
        else:
            # Placement takes one in_tree: ask for every candidate instead, so the
            # host's nodes are not cut off by the limit.
            req.limit = None

    if any(hint in spec.scheduler_hints for hint in _UNLIMITED_HINTS):
        req.limit = None

    if req.get_num_of_suffixed_groups() >= 2 and not req.group_policy:
        LOG.warning(
            "There is more than one numbered request group in the allocation candidate "
            "query but the flavor did not specify any group policy. This query would "
            "fail in placement due to the missing group policy. If you specified more "
            "than one numbered request group in the flavor extra_spec then you need to "
            "specify the group policy in the flavor extra_spec. If it is OK to let "
            "these groups be satisfied by overlapping resource providers then use "
            "'group_policy': 'none'. If you want each group to be satisfied from a "
            "separate resource provider then use 'group_policy': 'isolate'.")
        if req.suffixed_groups_from_flavor <= 1:
            LOG.info("At least one numbered request group is defined outside of the "
                     "flavor but the flavor did not specify any group policy. To avoid "
                     "the placement failure nova defaults the group policy to 'none'.")
            req.group_policy = "none"
    return req


def allocation_candidate_queries(spec: RequestSpec, conf: Any, *,
                                 compute_nodes: ComputeNodeLookup | None = None
                                 ) -> list[ResourceRequest]:
    """The requests the scheduler sends for ``spec``: the PCPU one and, for a pinned
    request with ``[workarounds] disable_fallback_pcpu_query`` False, the legacy VCPU
    one (hosts configured without ``cpu_dedicated_set`` report no PCPU)."""
    first = resources_from_request_spec(spec, conf, compute_nodes=compute_nodes)
    queries = [first]
    if first.cpu_pinning_requested and not conf.workarounds.disable_fallback_pcpu_query:
        queries.append(resources_from_request_spec(
            spec, conf, compute_nodes=compute_nodes, enable_pinning_translate=False))
    return queries


async def get_allocation_candidates(client: Any, spec: RequestSpec, conf: Any, *,
                                    compute_nodes: ComputeNodeLookup | None = None,
                                    global_request_id: str | None = None
                                    ) -> tuple[list[dict], dict[str, dict], str]:
    """(allocation requests, provider summaries, microversion) for ``spec``, from
    ``client`` (an ``IPlacementClient``): the fallback query's results are appended to
    the first one's. A query Placement refuses or cannot answer counts as no
    candidates (the scheduler then raises NoValidHost)."""
    allocation_requests: list[dict] = []
    summaries: dict[str, dict] = {}
    for req in allocation_candidate_queries(spec, conf, compute_nodes=compute_nodes):
        url = "/allocation_candidates?" + req.to_querystring()
        try:
            response = await client.get(url, version=ALLOCATION_CANDIDATES_VERSION,
                                        global_request_id=global_request_id)
        except Exception:
            LOG.exception("Placement could not be reached for %s", url)
            continue
        if response.status_code != 200:
            LOG.error("Failed to retrieve allocation candidates from placement API for "
                      "filters: %s\nGot %d: %s.", req, response.status_code, response.text)
            continue
        body = response.json()
        allocation_requests.extend(body["allocation_requests"])
        summaries.update(body["provider_summaries"])
    return allocation_requests, summaries, ALLOCATION_CANDIDATES_VERSION
