"""Bad input on the read and update routes of servers, their metadata, tags and
instance actions (hypothesis): random query strings, ids, bodies and microversions. No
request gets a 500, every refusal is a fault body with its status, and no refused
request changes a row of the API or the cell database.

Hypothesis runs in a worker thread; each example is a real HTTP request made in the
reactor thread (``blockingCallFromThread``).
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from twisted.trial import unittest

from tests.api.bad_input import in_reactor, json_values, mangle, run_examples, send
from tests.api.servers_server import SAMPLE_PROJECT, ServersServer, version

MICROVERSIONS = ["2.0", "2.1", "2.2", "2.5", "2.18", "2.19", "2.25", "2.26", "2.37",
                 "2.38", "2.47", "2.57", "2.58", "2.65", "2.66", "2.72", "2.73", "2.74",
                 "2.75", "2.83", "2.89", "2.90", "2.93"]
TOKENS = ["admin:" + SAMPLE_PROJECT, "demo:" + SAMPLE_PROJECT, "bob:other"]

odd = st.sampled_from(["x" * 3000, "\u00e9" * 300, "a\x00b", " lead", "\x01", "(", "[",
                       "*", "a,b", "a/b", "", "2013-09-03T04:01:32Z", "yesterday", "-1",
                       "99999999999999999999", "true", "None", "deleted", "ACTIVE"])
text = st.text(max_size=30) | odd
FILTERS = ["name", "status", "image", "flavor", "ip", "ip6", "changes-since",
           "changes-before", "all_tenants", "tags", "tags-any", "not-tags", "not-tags-any",
           "locked", "key_name", "availability_zone", "config_drive", "created_at",
           "launched_at", "power_state", "progress", "task_state", "vm_state", "user_id",
           "hostname", "host", "node", "deleted", "soft_deleted", "tenant_id",
           "project_id", "uuid", "launch_index", "sort_key", "sort_dir", "limit",
           "marker", "metadata", "_internal", "bogus"]
ids = st.sampled_from(["{uuid}", "{uuid}", "00000000-0000-0000-0000-000000000000"]) | text


@st.composite
def queries(draw, names=FILTERS):
    params = draw(st.lists(st.tuples(st.sampled_from(names) | st.text(max_size=5),
                                     text | st.integers().map(str)), max_size=4))
    return "?" + urlencode(params) if params else ""


server_fields = st.sampled_from(["name", "description", "hostname", "accessIPv4",
                                 "accessIPv6", "OS-DCF:diskConfig", "bogus", "metadata"])


@st.composite
def requests(draw):
    server = quote(draw(ids), safe="{}")
    kind = draw(st.sampled_from(["list", "detail", "show", "update", "update", "delete",
                                 "meta", "tags", "actions"]))
    body = None
    if kind in ("list", "detail"):
        method = "GET"
        path = "/servers" + ("/detail" if kind == "detail" else "") + draw(queries())
    elif kind == "show":
        method, path = "GET", f"/servers/{server}" + draw(queries(["x", "fields"]))
    elif kind == "update":
        fields = draw(st.dictionaries(server_fields, json_values | text, max_size=3))
        method, path = "PUT", f"/servers/{server}"
        body = draw(st.sampled_from([{"server": fields}, fields, {"server": fields, "x": 1},
                                     {"server": draw(json_values)}]))
    elif kind == "delete":
        method, path = "DELETE", f"/servers/{server}"
    elif kind == "meta":
        key = quote(draw(st.sampled_from(["a", "nope"]) | text), safe="")
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"]))
        path = f"/servers/{server}/metadata" + draw(st.sampled_from(["", "/" + key]))
        item = draw(st.dictionaries(text, json_values | text, max_size=3))
        body = draw(st.sampled_from([{"metadata": item}, {"meta": item}, item, None]))
    elif kind == "tags":
        tag = quote(draw(st.sampled_from(["t", "u"]) | text), safe="")
        method = draw(st.sampled_from(["GET", "PUT", "DELETE"]))
        path = f"/servers/{server}/tags" + draw(st.sampled_from(["", "/" + tag]))
        if method == "PUT" and path.endswith("/tags"):
            body = draw(st.sampled_from([
                {"tags": draw(st.lists(text, max_size=3))}, {"tags": draw(json_values)},
                {"tags": [f"t{i}" for i in range(51)]}, None]))
    else:
        method = "GET"
        request_id = quote(draw(st.sampled_from(["req-1", "nope"]) | text), safe="")
        path = f"/servers/{server}/os-instance-actions" + draw(st.sampled_from([
            draw(queries(["limit", "marker", "changes-since", "changes-before", "x"])),
            "/" + request_id]))
    if method not in ("POST", "PUT"):
        body = None
    raw = mangle(draw, body)
    return (method, path, raw, draw(st.sampled_from(MICROVERSIONS)),
            draw(st.sampled_from(TOKENS)))


class BadInputTests(unittest.TestCase):
    async def test_no_500_and_refusals_change_nothing(self):
        api = ServersServer(self, quota={"metadata_items": 3})
        current = {"uuid": self._seed(api)}
        api.add_build_request(display_name="building")
        seen: dict[int, int] = {}

        def check(request):
            method, path, raw, microversion, token = request
            request = (method, path.replace("{uuid}", current["uuid"]), raw, microversion,
                       token)
            before = in_reactor(lambda: _deferred((api.snapshot(), api.cell_snapshot())))
            reply = send(api, request, seen, version)
            if reply.code >= 400:
                after = in_reactor(lambda: _deferred((api.snapshot(), api.cell_snapshot())))
                assert before == after, (request, reply.code, reply.raw)
            elif method == "DELETE" and request[1].endswith(current["uuid"]):
                current["uuid"] = in_reactor(lambda: _deferred(self._seed(api)))

        await run_examples(requests(), check, max_examples=300)
        self.assertTrue({200, 400, 404}.issubset(seen), seen)
        self.assertGreater(sum(seen.values()), 150)

    @staticmethod
    def _seed(api: ServersServer) -> str:
        server = api.add_instance(metadata={"a": "1"}, tags=["t"], host="h1",
                                  key_name="k")
        api.add_action(server.uuid, "req-1", events=(("e", "Error", "h1"),))
        return server.uuid


def _deferred(value):
    from twisted.internet import defer

    return defer.succeed(value)
