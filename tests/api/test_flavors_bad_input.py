"""Bad input on every flavor route (hypothesis): malformed bodies, wrong types, huge
strings, odd ids and unknown fields and query parameters, at the microversion
boundaries. No request gets a 500, every refusal is a fault body with its status, and
no refused request changes the stored flavors or sends a notification.

Hypothesis runs in a worker thread; each example is a real HTTP request made in the
reactor thread (``blockingCallFromThread``).
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from twisted.trial import unittest

from tests.api.bad_input import in_reactor, json_values, mangle, run_examples, send
from tests.api.flavor_server import ADMIN, FlavorServer, version

MICROVERSIONS = ["2.0", "2.1", "2.6", "2.7", "2.54", "2.55", "2.60", "2.61", "2.74", "2.75",
                 "2.85", "2.86", "2.93"]
TOKENS = [ADMIN, "bob:otherproj"]

huge = st.sampled_from(["x" * 70000, "\u00e9" * 300, "a\x00b", " lead", "trail ", "\x01"])
text_or_huge = st.text(max_size=40) | huge
# A request line longer than twisted.web's 16 KiB is dropped before any handler runs:
# URLs get long strings, not huge ones.
long_for_url = st.sampled_from(["x" * 3000, "\u00e9" * 300, "a\x00b", " lead", "\x01"])
text_or_long = st.text(max_size=40) | long_for_url
bad_uuid = st.sampled_from(["not-a-uuid", "00000000-0000-0000-0000-00000000000g",
                            "%s" % ("1" * 300), "..", "%2F", "a b", "\u2603"])
flavor_ids = st.sampled_from(["pub", "priv", "nope"]) | bad_uuid | st.text(max_size=20)

GOOD_FLAVOR = {"name": "n", "ram": 1, "vcpus": 1, "disk": 0, "id": "newid"}
FLAVOR_FIELDS = ["name", "ram", "vcpus", "disk", "id", "swap", "rxtx_factor",
                 "OS-FLV-EXT-DATA:ephemeral", "os-flavor-access:is_public", "description"]


@st.composite
def flavor_bodies(draw):
    """A create body with one or more fields broken, or unknown ones added."""
    flavor = dict(GOOD_FLAVOR)
    for _ in range(draw(st.integers(1, 3))):
        field = draw(st.sampled_from(FLAVOR_FIELDS + ["unknown", "links", "extra_specs"]))
        flavor[field] = draw(json_values | text_or_huge)
    if draw(st.booleans()):
        flavor.pop(draw(st.sampled_from(["name", "ram", "vcpus", "disk"])), None)
    return draw(st.sampled_from([{"flavor": flavor}, flavor, {"flavor": flavor, "x": 1}]))


@st.composite
def extra_spec_bodies(draw):
    key = draw(st.sampled_from(["hw:cpu_policy", "hw:numa_nodes", "hw:bogus", "trait:X",
                                "resources:VCPU", "a/b", "", "k" * 256]) | st.text(max_size=15))
    value = draw(json_values | text_or_huge)
    return draw(st.sampled_from([{"extra_specs": {key: value}}, {key: value},
                                 {"extra_specs": value}, {"extra_specs": {}, "more": 1}]))


@st.composite
def requests(draw):
    flavor_id = quote(draw(flavor_ids), safe="")
    kind = draw(st.sampled_from(["list", "detail", "show", "create", "update", "delete",
                                 "access", "action", "specs", "spec_put", "spec_get",
                                 "spec_delete"]))
    query = ""
    body = None
    if kind in ("list", "detail"):
        params = draw(st.dictionaries(
            st.sampled_from(["limit", "marker", "is_public", "minRam", "minDisk", "sort_key",
                             "sort_dir", "unknown"]) | st.text(max_size=5),
            text_or_long | st.integers().map(str), max_size=3))
        query = "?" + urlencode(params)
        method, path = "GET", "/flavors" + ("/detail" if kind == "detail" else "") + query
    elif kind == "show":
        method, path = "GET", f"/flavors/{flavor_id}"
    elif kind == "create":
        method, path, body = "POST", "/flavors", draw(flavor_bodies())
    elif kind == "update":
        method, path = "PUT", f"/flavors/{flavor_id}"
        body = {"flavor": {"description": draw(json_values | text_or_huge)}}
        if draw(st.booleans()):
            body["flavor"][draw(st.sampled_from(["ram", "name", "x"]))] = 1
    elif kind == "delete":
        method, path = "DELETE", f"/flavors/{flavor_id}"
        if draw(st.booleans()):
            method, path = "DELETE", f"/flavors/{quote(draw(bad_uuid), safe='')}"
    elif kind == "access":
        method, path = "GET", f"/flavors/{flavor_id}/os-flavor-access"
    elif kind == "action":
        method, path = "POST", f"/flavors/{flavor_id}/action"
        name = draw(st.sampled_from(["addTenantAccess", "removeTenantAccess", "other"]))
        body = draw(st.sampled_from([{name: {"tenant": draw(json_values | text_or_huge)}},
                                     {name: draw(json_values)},
                                     {name: {"tenant": "t", "x": 1}},
                                     {"addTenantAccess": {"tenant": "t"}, "x": {}}]))
    elif kind == "specs":
        method, path, body = "POST", f"/flavors/{flavor_id}/os-extra_specs", draw(
            extra_spec_bodies())
    else:
        key = quote(draw(st.sampled_from(["hw:cpu_policy", "k", "a b"]) | st.text(
            max_size=10)), safe="")
        path = f"/flavors/{flavor_id}/os-extra_specs/{key}"
        method = {"spec_put": "PUT", "spec_get": "GET", "spec_delete": "DELETE"}[kind]
        if method == "PUT":
            body = draw(extra_spec_bodies())
    raw = mangle(draw, body, intact=2)
    return (method, path, raw, draw(st.sampled_from(MICROVERSIONS)),
            draw(st.sampled_from(TOKENS)))


class BadInputTests(unittest.TestCase):
    async def test_no_500_and_refusals_change_nothing(self):
        api = FlavorServer(self)
        await api.create_flavor({"name": "pub", "id": "pub", "ram": 1, "vcpus": 1, "disk": 0})
        await api.create_flavor({"name": "priv", "id": "priv", "ram": 1, "vcpus": 1,
                                 "disk": 0, "os-flavor-access:is_public": False})
        await api.set_extra_specs("priv", {"hw:cpu_policy": "shared"})
        seen: dict[int, int] = {}

        def check(request):
            before = in_reactor(api.snapshot)
            sent = len(in_reactor(api.notifications))
            reply = send(api, request, seen, version)
            if reply.code >= 400:
                assert before == in_reactor(api.snapshot), request
                after = len(in_reactor(api.notifications))
                assert sent == after, request

        await run_examples(requests(), check, max_examples=400)
        # The requests reached the handlers, not only the framework's checks.
        self.assertTrue({200, 400, 403, 404}.issubset(seen), seen)
        self.assertGreater(sum(seen.values()), 200)
