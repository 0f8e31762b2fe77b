"""Bad input on every server group route (hypothesis): malformed bodies, wrong types,
huge and odd names, unknown and misspelt policies, rules with every policy and odd
values, unknown fields, odd ids and query parameters, at the microversion boundaries
(2.13, 2.15, 2.64, 2.75). No request gets a 500, every refusal is a fault body with
its status, and no refused request changes the stored rows or sends a notification.

Hypothesis runs in a worker thread; each example is a real HTTP request made in the
reactor thread (``blockingCallFromThread``).
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from twisted.trial import unittest

from tests.api.bad_input import in_reactor, json_values, mangle, run_examples, send
from tests.api.quota_server import version
from tests.api.server_group_server import ServerGroupServer

MICROVERSIONS = ["2.0", "2.1", "2.12", "2.13", "2.14", "2.15", "2.63", "2.64", "2.74",
                 "2.75", "2.93"]
TOKENS = ["admin:abc1", "demo:abc1", "bob:other"]
POLICIES = ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity", "Affinity",
            "", "anti_affinity"]

huge = st.sampled_from(["x" * 70000, "\u00e9" * 300, "a\x00b", " lead", "trail ", "\x01",
                        "\ud800", "k" * 256])
text_or_huge = st.text(max_size=40) | huge
long_for_url = st.sampled_from(["x" * 3000, "\u00e9" * 300, "a\x00b", " lead", "\x01",
                                "k" * 37, "%00", "%ED%A0%80"])
rule_values = (st.integers(-3, 5) | st.sampled_from(["0", "1", "3", "-1", "x", "", "9" * 30,
                                                     "9" * 5000, 2 ** 70, 1.5])
               | json_values)
FIELDS = ["name", "policies", "policy", "rules", "metadata", "unknown"]


@st.composite
def group_bodies(draw):
    group: dict = {"name": draw(st.sampled_from(["good", "g"]) | text_or_huge)}
    style = draw(st.sampled_from(["policies", "policy", "both", "neither"]))
    if style in ("policies", "both"):
        group["policies"] = draw(st.lists(st.sampled_from(POLICIES), max_size=2)
                                 | json_values)
    if style in ("policy", "both"):
        group["policy"] = draw(st.sampled_from(POLICIES) | json_values)
    if draw(st.booleans()):
        rules = draw(st.dictionaries(
            st.sampled_from(["max_server_per_host", "other"]) | st.text(max_size=5),
            rule_values, max_size=2))
        group["rules"] = draw(st.sampled_from([rules, {"max_server_per_host":
                                                       draw(rule_values)}])
                              | json_values)
    for _ in range(draw(st.integers(0, 1))):
        group[draw(st.sampled_from(FIELDS))] = draw(json_values | text_or_huge)
    if draw(st.booleans()):
        group.pop("name", None)
    return draw(st.sampled_from([{"server_group": group}, group,
                                 {"server_group": group, "x": 1},
                                 {"server_group": draw(json_values)}]))


@st.composite
def requests(draw):
    group_id = draw(st.sampled_from(["exists", "nope", "exists"]) | st.text(max_size=40)
                    | long_for_url)
    kind = draw(st.sampled_from(["list", "show", "create", "create", "create", "delete"]))
    params = draw(st.dictionaries(
        st.sampled_from(["limit", "offset", "all_projects", "unknown"]) | st.text(max_size=5),
        long_for_url | st.integers(-2, 2000).map(str) | st.text(max_size=5)
        | st.sampled_from([str(2 ** 63 - 1), str(2 ** 63), "9" * 30, "1e3", "0x10"]),
        max_size=3))
    query = "?" + urlencode(params) if params else ""
    body = None
    microversion = draw(st.sampled_from(MICROVERSIONS))
    token = draw(st.sampled_from(TOKENS))
    if kind == "list":
        method, path = "GET", "/os-server-groups" + query
    elif kind in ("show", "delete"):
        method = "GET" if kind == "show" else "DELETE"
        # Quoted, or as escapes the server decodes itself (a NUL, a lone surrogate).
        segment = draw(st.sampled_from([quote(group_id, safe=""), "%00", "a%00b",
                                        "%ED%A0%80", "%FF", "%C3%A9" * 20]))
        path = "/os-server-groups/{%s}%s" % (segment, query)
    else:
        method, path, body = "POST", "/os-server-groups", draw(group_bodies())
    raw = mangle(draw, body)
    return method, path, raw, microversion, token


class BadInputTests(unittest.TestCase):
    async def test_no_500_and_refusals_change_nothing(self):
        api = ServerGroupServer(self, quota={"server_groups": 4})
        existing = await api.create_group("exists", token="demo:abc1")
        seen: dict[int, int] = {}

        def check(request):
            method, path, raw, microversion, token = request
            path = path.replace("{exists}", existing["id"])
            path = path.replace("{", "").replace("}", "")
            request = (method, path, raw, microversion, token)
            before = in_reactor(api.snapshot)
            sent = len(in_reactor(api.notifications))
            legacy = len(in_reactor(api.legacy_notifications))
            reply = send(api, request, seen, version)
            if reply.code >= 400:
                assert before == in_reactor(api.snapshot), request
                assert sent == len(in_reactor(api.notifications)), request
                assert legacy == len(in_reactor(api.legacy_notifications)), request
            elif method == "POST":
                group = reply.json["server_group"]
                assert group["name"] == (json_body(raw)["server_group"]["name"]), request
                in_reactor(lambda: _reset(api, existing["id"]))
            elif method == "DELETE":
                # The group was deleted: make it again under its id.
                in_reactor(lambda: _restore(api, existing["id"]))

        await run_examples(requests(), check, max_examples=300)
        self.assertTrue({200, 400, 404}.issubset(seen), seen)
        self.assertGreater(sum(seen.values()), 150)


def json_body(raw: str) -> dict:
    import json

    return json.loads(raw)


def _reset(api: ServerGroupServer, keep: str):
    from twisted.internet import defer

    with api.engine.begin() as conn:
        ids = [row[0] for row in conn.exec_driver_sql(
            "SELECT id FROM instance_groups WHERE uuid != ?", (keep,))]
        for group_id in ids:
            conn.exec_driver_sql("DELETE FROM instance_group_policy WHERE group_id = ?",
                                 (group_id,))
            conn.exec_driver_sql("DELETE FROM instance_groups WHERE id = ?", (group_id,))
    return defer.succeed(None)


def _restore(api: ServerGroupServer, group_uuid: str):
    from twisted.internet import defer

    from nova_tx.db.api import instance_groups
    from nova_tx.objects.instance_group import InstanceGroup

    with api.engine.begin() as conn:
        instance_groups.create(conn, InstanceGroup.new(
            uuid=group_uuid, name="exists", user_id="demo", project_id="abc1",
            policy="anti-affinity"))
    return defer.succeed(None)
