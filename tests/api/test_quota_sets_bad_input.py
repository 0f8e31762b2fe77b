"""Bad input on /os-quota-sets, /limits and /os-availability-zone (hypothesis):
malformed bodies, wrong types, out-of-range and huge values, odd project and user ids,
unknown fields and query parameters, at the microversion boundaries. No request gets a
500, every refusal is a fault body with its status, and no refused request changes the
stored limits."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from twisted.trial import unittest

from nova_tx.quota import RESOURCES
from tests.api.bad_input import in_reactor, json_values, mangle, run_examples, send
from tests.api.quota_server import QuotaServer, version

MICROVERSIONS = ["2.0", "2.1", "2.35", "2.36", "2.38", "2.39", "2.56", "2.57", "2.74",
                 "2.75", "2.93"]
TOKENS = ["admin:abc1", "demo:abc1", "bob:other"]

huge = st.sampled_from(["x" * 70000, "\u00e9" * 300, "a\x00b", " 1", "1 ", "\x01",
                        "\ud800", "99999999999999999999", "-2", "-0", "0x10", "1e3"])
long_for_url = st.sampled_from(["x" * 3000, "\u00e9" * 300, "a\x00b", " lead", "\x01",
                                "p" * 256, ".."])
text_or_long = st.text(max_size=40) | long_for_url
values = (st.integers(-5, 5) | st.integers(2 ** 31 - 2, 2 ** 31 + 2) | st.integers()
          | st.integers(-5, 5).map(str) | huge | json_values)
KEYS = list(RESOURCES) + ["networks", "force", "unknown", "id"]


@st.composite
def quota_bodies(draw):
    quota_set = {draw(st.sampled_from(KEYS) | st.text(max_size=8)): draw(values)
                 for _ in range(draw(st.integers(0, 3)))}
    return draw(st.sampled_from([{"quota_set": quota_set}, quota_set,
                                 {"quota_set": quota_set, "x": 1},
                                 {"quota_set": draw(json_values)}]))


@st.composite
def requests(draw):
    project = quote(draw(st.sampled_from(["abc1", "other"]) | text_or_long), safe="")
    kind = draw(st.sampled_from(["show", "detail", "defaults", "update", "update",
                                 "delete", "limits", "zones"]))
    params = draw(st.dictionaries(
        st.sampled_from(["user_id", "tenant_id", "unknown"]) | st.text(max_size=5),
        text_or_long | st.integers().map(str), max_size=3))
    query = "?" + urlencode(params) if params else ""
    body = None
    base = f"/os-quota-sets/{project}"
    if kind == "show":
        method, path = "GET", base + query
    elif kind == "detail":
        method, path = "GET", base + "/detail" + query
    elif kind == "defaults":
        method, path = "GET", base + "/defaults" + query
    elif kind == "delete":
        method, path = "DELETE", base + query
    elif kind == "limits":
        method, path = "GET", "/limits" + query
    elif kind == "zones":
        method, path = "GET", "/os-availability-zone" + query
    else:
        method, path, body = "PUT", base + query, draw(quota_bodies())
    raw = mangle(draw, body)
    return (method, path, raw, draw(st.sampled_from(MICROVERSIONS)),
            draw(st.sampled_from(TOKENS)))


class BadInputTests(unittest.TestCase):
    async def test_no_500_and_refusals_change_nothing(self):
        api = QuotaServer(self)
        api.add_service("h1")
        seen: dict[int, int] = {}

        def check(request):
            method = request[0]
            before = in_reactor(api.snapshot)
            reply = send(api, request, seen, version)
            if reply.code >= 400:
                assert before == in_reactor(api.snapshot), request
            if method == "PUT" and reply.code == 200:
                # Whatever was stored reads back within the column's range.
                for rows in in_reactor(api.snapshot).values():
                    for row in rows:
                        limits = [v for v in row if isinstance(v, int)]
                        assert all(-1 <= v <= 2 ** 31 - 1 for v in limits[-1:]), row

        await run_examples(requests(), check, max_examples=300)
        self.assertTrue({200, 400, 403}.issubset(seen), seen)
        self.assertGreater(sum(seen.values()), 150)
