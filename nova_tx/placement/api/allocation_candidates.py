"""``GET /allocation_candidates`` (1.10 to 1.39)."""
from __future__ import annotations

import json
import re

from nova_tx.db.types import utcnow
from nova_tx.placement import exception
from nova_tx.placement.api import params
from nova_tx.placement.api.app import route
from nova_tx.placement.api.wire import (
    PlacementResponse,
    check_accept,
    is_uuid_like,
    validate_query,
)
from nova_tx.placement.storage import candidates

_STRING = {"type": "string"}
SUFFIX_1_25 = "[1-9][0-9]*"
SUFFIX_1_33 = "[a-zA-Z0-9_-]{1,64}"
GROUP_KEYS = ("resources", "required", "member_of", "in_tree")


def query_schema(req) -> dict:
    if not req.wants((1, 25)):
        properties: dict = {"resources": _STRING}
        if req.wants((1, 16)):
            properties["limit"] = {"type": "string", "pattern": "^[1-9][0-9]*$"}
        if req.wants((1, 17)):
            properties["required"] = _STRING
        if req.wants((1, 21)):
            properties["member_of"] = _STRING
        return {"type": "object", "properties": properties, "required": ["resources"],
                "additionalProperties": False}
    suffix = SUFFIX_1_33 if req.wants((1, 33)) else SUFFIX_1_25
    keys = GROUP_KEYS if req.wants((1, 31)) else GROUP_KEYS[:3]
    properties = {"limit": {"type": "string", "pattern": "^[1-9][0-9]*$"},
                  "group_policy": {"type": "string", "enum": ["none", "isolate"]}}
    if req.wants((1, 35)):
        properties["root_required"] = _STRING
    if req.wants((1, 36)):
        properties["same_subtree"] = _STRING
    return {"type": "object", "properties": properties,
            "patternProperties": {f"^{key}({suffix})?$": _STRING for key in keys},
            "additionalProperties": False}


def parse_groups(req) -> dict[str, candidates.RequestGroup]:
    suffix = SUFFIX_1_33 if req.wants((1, 33)) else SUFFIX_1_25
    pattern = re.compile(f"^({'|'.join(GROUP_KEYS)})({suffix})?$")
    groups: dict[str, candidates.RequestGroup] = {}
    for key in req.query:
        match = pattern.match(key)
        if not match:
            continue
        prefix, suffix_found = match.group(1), match.group(2) or ""
        group = groups.setdefault(suffix_found, candidates.RequestGroup(suffix=suffix_found))
        value = req.query[key][-1]
        if prefix == "resources":
            group.resources = params.parse_resources(value)
        elif prefix == "required":
            traits = params.parse_traits(req, key)
            group.required, group.forbidden, group.any_of = (
                traits.required, traits.forbidden, traits.any_of)
        elif prefix == "member_of":
            for item in req.query[key]:
                if "," in item and not item.lstrip("!").startswith("in:"):
                    raise exception.BadRequest(
                        "Multiple values for 'member_of' must be prefixed with the 'in:' or "
                        "'!in:' keyword using the valid microversion.")
            group.member_of = params.parse_member_of(req, key)
        else:
            if not is_uuid_like(value):
                raise exception.BadRequest(
                    "Invalid query string parameters: Expected 'in_tree' parameter to be a "
                    f"format of uuid. Got: {value}")
            group.in_tree = params.normalize_uuid(value)
    return groups


def parse_same_subtrees(req) -> list[list[str]]:
    result = []
    for value in req.query.get("same_subtree", []):
        suffixes = [s.strip() for s in value.split(",")]
        if not all(suffixes):
            raise exception.BadRequest(
                "Empty string (unsuffixed group) can not be specified in `same_subtree` ",
                code=exception.QUERYPARAM_BAD_VALUE)
        result.append(suffixes)
    return result


def check_groups(req, groups: dict[str, candidates.RequestGroup],
                 same_subtrees: list[list[str]]) -> None:
    in_subtrees = {s for suffixes in same_subtrees for s in suffixes}
    for suffix in sorted(in_subtrees):
        if suffix not in groups:
            raise exception.BadRequest(
                f"Real suffixes should be specified in `same_subtree`: {suffix} not found "
                f"in {sorted(groups)}.", code=exception.QUERYPARAM_BAD_VALUE)
    resourceless_ok = req.wants((1, 36))
    if resourceless_ok and not any(g.resources for g in groups.values()):
        raise exception.BadRequest(
            "There must be at least one resources or resources[$S] parameter.",
            code=exception.QUERYPARAM_MISSING_VALUE)
    checked = {s: g for s, g in groups.items()
               if not (resourceless_ok and s and not g.resources)}
    orphans = sorted(f"required{s}" for s, g in checked.items()
                     if (g.required or g.forbidden or g.any_of) and not g.resources)
    if orphans:
        raise exception.BadRequest(
            "All traits parameters must be associated with resources. Found the following "
            f"orphaned traits keys: {', '.join(orphans)}")
    orphans = sorted(f"member_of{s}" for s, g in checked.items()
                     if g.member_of and not g.resources)
    if orphans:
        raise exception.BadRequest(
            "All member_of parameters must be associated with resources. Found the "
            f"following orphaned member_of keys: {', '.join(orphans)}")
    if not all(g.resources for g in checked.values()):
        raise exception.BadRequest("All request groups must specify resources.")
    if not any(g.resources for g in groups.values()):
        raise exception.BadRequest(
            "At least one request group (`resources` or `resources{$S}`) is required.")
    for suffix, group in groups.items():
        if suffix and not group.resources and suffix not in in_subtrees:
            raise exception.BadRequest(
                "Resourceless suffixed group request should be specified in `same_subtree` "
                f"query param: Found {suffix}.", code=exception.QUERYPARAM_BAD_VALUE)


def parse_root_required(req, query: candidates.CandidateQuery) -> None:
    values = req.query.get("root_required", [])
    if not values:
        return
    if len(values) > 1:
        raise exception.BadRequest("Query parameter 'root_required' may be specified only once.",
                                   code=exception.ILLEGAL_DUPLICATE_QUERYPARAM)
    try:
        traits = params.parse_traits(req, "root_required")
    except exception.BadRequest as e:
        if "Conflicting" not in e.detail:
            raise
        names = e.detail.rsplit("(", 1)[-1].rstrip(")")
        raise exception.BadRequest(
            f"Conflicting required and forbidden traits found in root_required: {names}",
            code=exception.QUERYPARAM_BAD_VALUE) from None
    query.root_required, query.root_forbidden, query.root_any_of = (
        traits.required, traits.forbidden, traits.any_of)


@route("/allocation_candidates", "GET", min_version=(1, 10))
async def list_allocation_candidates(api, req) -> PlacementResponse:
    api.authorize(req, "placement:allocation_candidates:list")
    check_accept(req)
    query_params = validate_query(req, query_schema(req))
    same_subtrees = parse_same_subtrees(req)
    groups = parse_groups(req)
    check_groups(req, groups, same_subtrees)
    # Given more than once, the first limit and group_policy count (as in Placement).
    policy = req.query["group_policy"][0] if "group_policy" in req.query else None
    if policy is None and len([s for s in groups if s]) > 1:
        raise exception.BadRequest(
            'The "group_policy" parameter is required when specifying more than one '
            '"resources{N}" parameter.')
    query = candidates.CandidateQuery(
        groups=list(groups.values()), group_policy=policy, same_subtrees=same_subtrees,
        limit=int(req.query["limit"][0]) if "limit" in query_params else None,
        randomize=bool(api.option("randomize_allocation_candidates", False)),
        nested_aware=req.wants((1, 29)))
    parse_root_required(req, query)

    def thd(conn):
        try:
            return candidates.get_candidates(conn, query)
        except exception.ResourceClassNotFound as e:
            raise exception.BadRequest(
                f"Invalid resource class in resources parameter: {e.detail}") from None
        except exception.TraitNotFound as e:
            raise exception.BadRequest(e.detail) from None

    requests, summaries = await api.run(thd)
    requested = {rc for g in groups.values() for rc in g.resources}
    with candidates.gc_paused():
        body = encode_body(req, requests, summaries, requested)
    return PlacementResponse(body=body, headers={"Content-Type": "application/json"},
                             last_modified=utcnow())


def encode_body(req, requests: list[candidates.AllocationRequest],
                summaries: list[candidates.ProviderSummary], requested: set[str]) -> bytes:
    """The JSON answer, written directly: tens of thousands of candidates are
    several megabytes, and building the text from the objects takes about half the
    time of building dicts for json.dumps. The same JSON as json.dumps of
    :func:`request_body` and :func:`summaries_body` (which are what it follows)."""
    # Texts met again and again are made once: names, uuids, and the resources of
    # a request or summary (most providers have the same inventory and usage).
    names: dict[str, str] = {}
    quoted: dict[str, str] = {}
    texts: dict = {}

    def name(value: str) -> str:
        found = names.get(value)
        if found is None:
            found = names[value] = json.dumps(value)
        return found

    def uuid(value: str) -> str:
        found = quoted.get(value)
        if found is None:
            found = quoted[value] = (f'"{value}"' if value.replace("-", "").isalnum()
                                     else json.dumps(value))
        return found

    def resources(res: dict[str, int]) -> str:
        key = tuple(res.items())
        found = texts.get(key)
        if found is None:
            found = texts[key] = "{" + ", ".join(f"{name(rc)}: {amount}"
                                                 for rc, amount in key) + "}"
        return found

    for summary in summaries:
        uuid(summary.provider.uuid)
    if req.wants((1, 12)):
        mappings = req.wants((1, 34))
        parts = []
        for request in requests:
            allocations = ", ".join([
                f'{quoted.get(u) or uuid(u)}: {{"resources": {resources(res)}}}'
                for u, res in request.allocations.items()])
            if mappings:
                mapped = ", ".join([
                    f"{name(suffix)}: "
                    f"[{', '.join([quoted.get(u) or uuid(u) for u in uuids])}]"
                    for suffix, uuids in request.mappings.items()])
                parts.append(f'{{"allocations": {{{allocations}}}, "mappings": {{{mapped}}}}}')
            else:
                parts.append(f'{{"allocations": {{{allocations}}}}}')
        requests_text = f"[{', '.join(parts)}]"
    else:
        requests_text = json.dumps([request_body(req, r) for r in requests])

    all_classes = req.wants((1, 27))
    with_traits = req.wants((1, 17))
    with_tree = req.wants((1, 29))
    traits_text: dict[int, str] = {}  # id of a (shared) list of names -> its JSON
    parts = []
    for summary in summaries:
        key = ("summary", *summary.resources.items())
        res = texts.get(key)
        if res is None:
            res = texts[key] = ", ".join(
                f'{name(rc)}: {{"capacity": {capacity}, "used": {used}}}'
                for rc, (capacity, used) in summary.resources.items()
                if all_classes or rc in requested)
        provider = summary.provider
        entry = f'{quoted[provider.uuid]}: {{"resources": {{{res}}}'
        if with_traits:
            text = traits_text.get(id(summary.traits))
            if text is None:
                text = traits_text[id(summary.traits)] = json.dumps(summary.traits)
            entry += f', "traits": {text}'
        if with_tree:
            parent = provider.parent_provider_uuid
            root = provider.root_provider_uuid
            entry += (f', "parent_provider_uuid": '
                      f'{"null" if parent is None else quoted.get(parent) or uuid(parent)}, '
                      f'"root_provider_uuid": {quoted.get(root) or uuid(root)}')
        parts.append(entry + "}")
    return (f'{{"allocation_requests": {requests_text}, '
            f'"provider_summaries": {{{", ".join(parts)}}}}}').encode()


def request_body(req, request: candidates.AllocationRequest) -> dict:
    if not req.wants((1, 12)):
        return {"allocations": [{"resource_provider": {"uuid": uuid}, "resources": res}
                                for uuid, res in request.allocations.items()]}
    body: dict = {"allocations": {uuid: {"resources": res}
                                  for uuid, res in request.allocations.items()}}
    if req.wants((1, 34)):
        body["mappings"] = request.mappings
    return body


def summaries_body(req, summaries, requested: set[str]) -> dict:
    all_classes = req.wants((1, 27))
    result = {}
    for summary in summaries:
        entry: dict = {"resources": {
            rc: {"capacity": capacity, "used": used}
            for rc, (capacity, used) in summary.resources.items()
            if all_classes or rc in requested}}
        if req.wants((1, 17)):
            entry["traits"] = summary.traits
        if req.wants((1, 29)):
            entry["parent_provider_uuid"] = summary.provider.parent_provider_uuid
            entry["root_provider_uuid"] = summary.provider.root_provider_uuid
        result[summary.provider.uuid] = entry
    return result
