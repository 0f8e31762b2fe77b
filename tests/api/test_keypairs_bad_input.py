"""Bad input on every key pair route (hypothesis): malformed bodies, wrong types, huge
strings, odd names and user ids, bogus keys and certificates, unknown fields and query
parameters, at the microversion boundaries. No request gets a 500, every refusal is a
fault body with its status, and no refused request changes the stored rows or sends a
notification.

Hypothesis runs in a worker thread; each example is a real HTTP request made in the
reactor thread (``blockingCallFromThread``).
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from twisted.trial import unittest

from tests.api.bad_input import in_reactor, json_values, mangle, run_examples, send
from tests.api.quota_server import PUBLIC_KEY, QuotaServer, version

MICROVERSIONS = ["2.0", "2.1", "2.2", "2.9", "2.10", "2.34", "2.35", "2.74", "2.75",
                 "2.91", "2.92", "2.93"]
TOKENS = ["admin:abc1", "demo:abc1", "bob:other"]

huge = st.sampled_from(["x" * 70000, "\u00e9" * 300, "a\x00b", " lead", "trail ", "\x01",
                        "\ud800", "a@b.c", "k" * 256])
text_or_huge = st.text(max_size=40) | huge
long_for_url = st.sampled_from(["x" * 3000, "\u00e9" * 300, "a\x00b", " lead", "\x01",
                                "a@b.c", "k" * 256])
text_or_long = st.text(max_size=40) | long_for_url
keys = st.sampled_from([
    PUBLIC_KEY, PUBLIC_KEY + "\x00", "ssh-rsa AAAA", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "", "\ud800",
    PUBLIC_KEY.replace("ssh-rsa", "ssh-dss")]) | text_or_huge
names = st.sampled_from(["good", "exists", "a b", "a@b.c", "a/b", "", " "]) | text_or_huge
FIELDS = ["name", "public_key", "type", "user_id", "unknown", "private_key"]


@st.composite
def keypair_bodies(draw):
    keypair: dict = {"name": draw(names)}
    if draw(st.booleans()):
        keypair["public_key"] = draw(keys)
    for _ in range(draw(st.integers(0, 2))):
        field = draw(st.sampled_from(FIELDS))
        keypair[field] = draw(st.sampled_from(["ssh", "x509", "rsa", "fake", "demo"])
                              | json_values | text_or_huge)
    if draw(st.booleans()):
        keypair.pop("name")
    return draw(st.sampled_from([{"keypair": keypair}, keypair, {"keypair": keypair, "x": 1},
                                 {"keypair": draw(json_values)}]))


@st.composite
def requests(draw):
    name = quote(draw(st.sampled_from(["exists", "nope"]) | text_or_long), safe="")
    kind = draw(st.sampled_from(["list", "show", "create", "create", "delete"]))
    params = draw(st.dictionaries(
        st.sampled_from(["limit", "marker", "user_id", "unknown"]) | st.text(max_size=5),
        text_or_long | st.integers().map(str), max_size=3))
    query = "?" + urlencode(params) if params else ""
    body = None
    if kind == "list":
        method, path = "GET", "/os-keypairs" + query
    elif kind == "show":
        method, path = "GET", f"/os-keypairs/{name}{query}"
    elif kind == "delete":
        method, path = "DELETE", f"/os-keypairs/{name}{query}"
    else:
        method, path, body = "POST", "/os-keypairs", draw(keypair_bodies())
    raw = mangle(draw, body)
    return (method, path, raw, draw(st.sampled_from(MICROVERSIONS)),
            draw(st.sampled_from(TOKENS)))


class BadInputTests(unittest.TestCase):
    async def test_no_500_and_refusals_change_nothing(self):
        api = QuotaServer(self, quota={"key_pairs": 3})
        await api.import_keypair("exists", token="demo:abc1")
        seen: dict[int, int] = {}

        def check(request):
            method = request[0]
            before = in_reactor(api.snapshot)
            sent = len(in_reactor(api.notifications))
            legacy = len(in_reactor(api.legacy_notifications))
            reply = send(api, request, seen, version)
            if reply.code >= 400:
                assert before == in_reactor(api.snapshot), request
                # A key pair refused for its key or quota has sent its start
                # notification (as Nova); nothing was stored, and no end was sent.
                after = in_reactor(api.notifications)
                assert not any(n["event_type"].endswith(".end") for n in after[sent:]), request
                assert legacy <= len(in_reactor(api.legacy_notifications))
            elif method in ("POST", "DELETE"):
                # Keep the database small and the quota reachable.
                in_reactor(lambda: _reset(api))

        await run_examples(requests(), check, max_examples=300)
        self.assertTrue({200, 400, 404}.issubset(seen), seen)
        self.assertGreater(sum(seen.values()), 150)


def _reset(api: QuotaServer):
    with api.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM key_pairs WHERE name != 'exists'")
    from twisted.internet import defer

    return defer.succeed(None)
