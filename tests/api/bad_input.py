"""The hypothesis bad-input machinery shared by the ``test_*_bad_input`` suites.

Each suite draws its own requests (routes, bodies, microversions, tokens); what they
share is here: the JSON values and body mangling the requests are built from, sending
one request the way the compute API is called (``/v2`` for 2.0, ``/v2.1`` with the
microversion header otherwise), the checks every reply must pass (no 500, every refusal
a one-key fault body with its code and message), and running the examples.

Hypothesis runs in a worker thread; each example is a real HTTP request made in the
reactor thread (``blockingCallFromThread``).
"""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet import reactor, threads
from twisted.internet.threads import blockingCallFromThread

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=3),
    max_leaves=6)


def in_reactor(call):
    """``call()`` run in the reactor thread, from the hypothesis thread; its result."""
    return blockingCallFromThread(reactor, call)


def mangle(draw, body, intact=3):
    """The raw request body: ``body`` as JSON, or (one time in ``intact`` + 3) truncated,
    garbage bytes, or JSON that is not an object. None stays None (no body)."""
    if body is None:
        return None
    raw = json.dumps(body)
    how = draw(st.sampled_from(["none"] * intact + ["truncate", "garbage", "not-object"]))
    if how == "truncate":
        raw = raw[:-1]
    elif how == "garbage":
        raw = draw(st.binary(max_size=50)).decode("latin-1")
    elif how == "not-object":
        raw = json.dumps(draw(json_values))
    return raw


def send(api, request, seen, version):
    """Send ``(method, path, raw, microversion, token)``; count its status in ``seen``.

    Asserts what holds for every reply: no 500, and a refusal is a fault body
    (one key, holding the code and a message).
    """
    method, path, raw, microversion, token = request
    prefix = "/v2" if microversion == "2.0" else "/v2.1"
    headers = {} if microversion == "2.0" else version(microversion)
    reply = in_reactor(lambda: api.request(method, prefix + path, body=raw, token=token,
                                           headers=headers))
    seen[reply.code] = seen.get(reply.code, 0) + 1
    assert reply.code < 500, (request, reply.code, reply.raw)
    if reply.code >= 400:
        assert isinstance(reply.json, dict) and len(reply.json) == 1, reply.raw
        [fault] = reply.json.values()
        assert fault["code"] == reply.code and fault["message"], reply.raw
    return reply


def run_examples(requests, check, max_examples):
    """A Deferred that runs ``check`` on ``max_examples`` drawn requests in a thread."""
    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests)
    def examples(request):
        check(request)

    return threads.deferToThread(examples)
