"""Bad input on the operator routes (hypothesis): aggregates, their actions and
images, services, hypervisors and zone detail, with malformed bodies, wrong types,
huge or odd names, hosts, ids, markers and query parameters, at the microversion
boundaries and for admins and others. No request gets a 500, every refusal is a fault
body with its status, and no refused request changes a stored row."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from twisted.trial import unittest

from nova_tx.bus.rpc import RPCServer, Target
from tests.api.bad_input import in_reactor, json_values, mangle, run_examples, send
from tests.api.operator_server import OperatorServer
from tests.api.quota_server import version
from tests.api.test_hypervisors import FakeCompute

MICROVERSIONS = ["2.0", "2.1", "2.10", "2.11", "2.28", "2.33", "2.40", "2.41", "2.52",
                 "2.53", "2.74", "2.75", "2.80", "2.81", "2.87", "2.88", "2.93"]
TOKENS = ["admin:abc1", "demo:abc1", "bob:other"]
IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"

odd = st.sampled_from(["x" * 3000, "\u00e9" * 300, "a\x00b", " lead", "trail ", "\x01",
                       "a:b", "", " ", "k" * 256, "nova", "az1", "h1", "H1", "ghost",
                       "a b", "a/b", "-1", "0", "99999999999999999999", "1.5"])
texts = st.text(max_size=30) | odd
values = texts | json_values


@st.composite
def aggregate_bodies(draw):
    inner: dict = {}
    for field in draw(st.lists(st.sampled_from(["name", "availability_zone", "extra"]),
                               max_size=3)):
        inner[field] = draw(values)
    return draw(st.sampled_from([{"aggregate": inner}, inner, {"aggregate": inner, "x": 1},
                                 {"aggregate": draw(json_values)}]))


@st.composite
def action_bodies(draw):
    action = draw(st.sampled_from(["add_host", "remove_host", "set_metadata", "other"]))
    if action == "set_metadata":
        metadata = draw(st.dictionaries(texts, values | st.none(), max_size=3))
        inner = draw(st.sampled_from([{"metadata": metadata}, metadata, {}]))
    else:
        inner = draw(st.sampled_from([{"host": draw(texts)}, {"host": draw(values)}, {}]))
    body = {action: inner}
    if draw(st.integers(0, 5)) == 0:
        body["remove_host"] = {"host": "h1"}
    return body


@st.composite
def service_bodies(draw):
    body: dict = {}
    for field in draw(st.lists(st.sampled_from(
            ["host", "binary", "disabled_reason", "forced_down", "status", "extra"]),
            max_size=4)):
        body[field] = draw(st.sampled_from(["h1", "nova-compute", "nova-scheduler",
                                            "enabled", "disabled", True, False, "yes"])
                           | values)
    return body


def ids(draw, known):
    return quote(str(draw(st.sampled_from(known) | texts | st.integers())), safe="")


@st.composite
def requests(draw, known):
    kind = draw(st.sampled_from(["agg-list", "agg-create", "agg-show", "agg-update",
                                 "agg-delete", "agg-action", "agg-images", "svc-list",
                                 "svc-update", "svc-delete", "hyp-list", "hyp-show",
                                 "hyp-uptime", "hyp-search", "hyp-stats", "az-detail"]))
    params = draw(st.dictionaries(
        st.sampled_from(["host", "binary", "limit", "marker", "with_servers",
                         "hypervisor_hostname_pattern", "unknown"]) | st.text(max_size=5),
        texts | st.integers().map(str), max_size=3))
    query = "?" + urlencode(params) if params else ""
    body = None
    method = "GET"
    if kind == "agg-list":
        path = "/os-aggregates" + query
    elif kind == "agg-create":
        method, path, body = "POST", "/os-aggregates", draw(aggregate_bodies())
    elif kind == "agg-show":
        path = f"/os-aggregates/{ids(draw, known['aggregates'])}"
    elif kind == "agg-update":
        method, body = "PUT", draw(aggregate_bodies())
        path = f"/os-aggregates/{ids(draw, known['aggregates'])}"
    elif kind == "agg-delete":
        method, path = "DELETE", f"/os-aggregates/{ids(draw, known['aggregates'])}"
    elif kind == "agg-action":
        method, body = "POST", draw(action_bodies())
        path = f"/os-aggregates/{ids(draw, known['aggregates'])}/action"
    elif kind == "agg-images":
        method = "POST"
        path = f"/os-aggregates/{ids(draw, known['aggregates'])}/images"
        body = draw(st.sampled_from([{"cache": [{"id": IMAGE}]}, {"cache": []},
                                     {"cache": [{"id": IMAGE}, {"id": IMAGE}]},
                                     {"cache": [{"id": draw(values)}]}, {}]))
    elif kind == "svc-list":
        path = "/os-services" + query
    elif kind == "svc-update":
        method, body = "PUT", draw(service_bodies())
        target = draw(st.sampled_from(["enable", "disable", "disable-log-reason",
                                       "force-down", *known["services"]]) | texts)
        path = f"/os-services/{quote(str(target), safe='')}"
    elif kind == "svc-delete":
        method, path = "DELETE", f"/os-services/{ids(draw, known['services'])}"
    elif kind == "hyp-list":
        path = draw(st.sampled_from(["/os-hypervisors", "/os-hypervisors/detail"])) + query
    elif kind == "hyp-show":
        path = f"/os-hypervisors/{ids(draw, known['nodes'])}" + query
    elif kind == "hyp-uptime":
        path = f"/os-hypervisors/{ids(draw, known['nodes'])}/uptime"
    elif kind == "hyp-search":
        suffix = draw(st.sampled_from(["search", "servers"]))
        path = f"/os-hypervisors/{quote(draw(texts), safe='') or 'x'}/{suffix}"
    elif kind == "hyp-stats":
        path = "/os-hypervisors/statistics"
    else:
        path = "/os-availability-zone/detail"
    raw = mangle(draw, body)
    return (method, path, raw, draw(st.sampled_from(MICROVERSIONS)),
            draw(st.sampled_from(TOKENS)))


def snapshot(api: OperatorServer) -> dict:
    from twisted.internet import defer

    api_rows = {table: api.rows(f"SELECT * FROM {table} ORDER BY id")
                for table in ("aggregates", "aggregate_hosts", "aggregate_metadata",
                              "host_mappings")}
    cell_rows = {table: api.rows(f"SELECT * FROM {table} ORDER BY id", cell=True)
                 for table in ("services", "compute_nodes")}
    return defer.succeed({**api_rows, **cell_rows})


class BadInputTests(unittest.TestCase):

    async def test_no_500_and_refusals_change_nothing(self):
        api = OperatorServer(self)
        api.images.image_ids.add(IMAGE)
        known: dict[str, list] = {"aggregates": [], "services": [], "nodes": []}
        for host in ("h1", "h2"):
            ids_ = api.add_compute(host)
            known["services"] += [ids_["service_id"], ids_["service_uuid"]]
            known["nodes"] += [ids_["node_id"], ids_["node_uuid"]]
            server = RPCServer(api.transport, Target(topic="compute", server=host),
                               [FakeCompute()], conf=api.conf, stop_timeout=2.0)
            await server.start()
            self.addCleanup(server.stop)
        api.add_instance_on("h2")
        api.add_service("ctl", binary="nova-scheduler", topic="scheduler")
        api.add_aggregate("az-agg", ["h1"], "az1")
        api.add_aggregate("plain", [], None)
        known["aggregates"] = [1, 2]
        seen: dict[int, int] = {}

        def check(request):
            before = in_reactor(lambda: snapshot(api))
            reply = send(api, request, seen, version)
            if reply.code >= 400:
                assert before == in_reactor(lambda: snapshot(api)), request

        await run_examples(requests(known), check, max_examples=400)
        self.assertTrue({200, 400, 403, 404}.issubset(seen), seen)
        self.assertGreater(sum(seen.values()), 200)
