"""RPC: versions, the envelope, exceptions across the bus, and call/cast/fanout between
processes, on the memory bus (``RPCBehaviour`` runs on any transport), plus the real
oslo.messaging code reading our messages and we reading its."""
from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import sys
import time
import uuid

from twisted.internet import defer, task
from twisted.trial import unittest
from zope.interface.verify import verifyObject

from nova_tx import exception as nova_exception
from nova_tx.bus import rpc
from nova_tx.bus.exception import (
    InvalidTarget,
    InvalidUpgradeLevel,
    MessagingTimeout,
    NoSuchMethod,
    RemoteError,
    RPCVersionCapError,
    UnsupportedVersion,
)
from nova_tx.bus.interfaces import DEFAULT_EXCHANGE, FANOUT, TOPIC, Binding, IncomingMessage
from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.bus.rpc import RPCClient, RPCServer, Target, serialize_msg
from nova_tx.context import RequestContext
from tests.bus import (
    Collector,
    FakeKombuMessage,
    LogCapture,
    assert_same_envelope,
    envelope_bytes,
    import_oslo_messaging,
    make_conf,
    memory_transports,
    oslo_amqp_driver,
    settle,
    wait_until,
)


class PrivateError(Exception):
    """An exception of a module that is not allowed to cross the bus by default."""


class VersionTest(unittest.SynchronousTestCase):
    def test_oslo_compatibility_rule(self):
        for implemented, requested, expected in [
            ("5.3", "5.0", True), ("5.3", "5.3", True), ("5.3", "5.4", False),
            ("5.3", "6.0", False), ("5.3", "4.9", False), ("5.3.2", "5.3.1", True),
            ("5.3.2", "5.3.3", False), ("5.3", "5.3.1", False), ("5.3.1", "5.2.9", True),
            (None, "9.9", True), ("1.0", None, False),
        ]:
            self.assertEqual(expected, rpc.version_is_compatible(implemented, requested),
                             (implemented, requested))

    def test_malformed_version(self):
        self.assertRaises(ValueError, rpc.version_is_compatible, "5.x", "5.0")

    def test_upgrade_levels(self):
        aliases = {"yoga": "6.0", "zed": "6.1"}
        cap = rpc.version_cap_from_upgrade_level
        self.assertIsNone(cap("compute", None, aliases))
        self.assertIsNone(cap("compute", "", aliases))
        self.assertEqual("6.0", cap("compute", "yoga", aliases))
        self.assertEqual("6.1", cap("compute", "Zed", aliases))
        self.assertEqual("5.12", cap("compute", "5.12", aliases))
        self.assertEqual("6.0", cap("compute", "auto", aliases, auto="6.0"))
        self.assertIsNone(cap("compute", "auto", aliases))
        e = self.assertRaises(InvalidUpgradeLevel, cap, "compute", "grizzly", aliases)
        self.assertIn("[upgrade_levels] compute", str(e))


class EnvelopeTest(unittest.SynchronousTestCase):
    def test_round_trip(self):
        message = {"method": "m", "args": {"when": datetime.datetime(2024, 5, 1, 12, 0, 0, 5),
                                           "ids": {uuid.UUID(int=1)}}}
        body = rpc.serialize_msg(message)
        outer = json.loads(body)
        self.assertEqual({"oslo.version", "oslo.message"}, set(outer))
        self.assertEqual("2.0", outer["oslo.version"])
        self.assertIsInstance(outer["oslo.message"], str)
        self.assertEqual({"method": "m", "args": {
            "when": "2024-05-01T12:00:00.000005",
            "ids": ["00000000-0000-0000-0000-000000000001"]}}, rpc.deserialize_msg(body))

    def test_unenveloped_dict_is_read_as_is(self):
        self.assertEqual({"method": "m"}, rpc.deserialize_msg(b'{"method": "m"}'))

    def test_unknown_type_is_refused(self):
        self.assertRaises(TypeError, rpc.serialize_msg, {"x": object()})

    def test_malformed_bodies(self):
        for body, reason in [
            (b"\xff\xfe", "not JSON"), (b"nope", "not JSON"), (b"[1]", "list"),
            (b'{"oslo.version": "3.0", "oslo.message": "{}"}', "3.0"),
            (b'{"oslo.version": "2.x", "oslo.message": "{}"}', "2.x"),
            (b'{"oslo.version": "2.0", "oslo.message": "{"}', "not JSON"),
            (b'{"oslo.version": "2.0", "oslo.message": "[]"}', "list"),
            (b'{"oslo.version": "2.0", "oslo.message": {}}', "not a JSON string"),
        ]:
            e = self.assertRaises(rpc.MalformedMessage, rpc.deserialize_msg, body)
            self.assertIn(reason, str(e), body)

    def test_context_packing(self):
        message = {"method": "m"}
        rpc.pack_context(message, {"request_id": "req-1", "roles": ["a"]})
        self.assertEqual({"method": "m", "_context_request_id": "req-1",
                          "_context_roles": ["a"]}, message)
        self.assertEqual({"request_id": "req-1", "roles": ["a"]}, rpc.unpack_context(message))
        self.assertEqual({"method": "m"}, message)


class RemoteExceptionTest(unittest.SynchronousTestCase):
    def round_trip(self, error: Exception, allowed=rpc.DEFAULT_ALLOWED_EXMODS):
        try:
            raise error
        except Exception as e:
            data = rpc.serialize_remote_exception(e)
        return json.loads(data), rpc.deserialize_remote_exception(data, allowed)

    def test_nova_exception_comes_back_as_itself(self):
        data, rebuilt = self.round_trip(nova_exception.InstanceNotFound(instance_id="i-1"))
        self.assertEqual({"class", "module", "message", "tb", "args", "kwargs"}, set(data))
        self.assertEqual(("InstanceNotFound", "nova_tx.exception"),
                         (data["class"], data["module"]))
        self.assertIs(nova_exception.InstanceNotFound, type(rebuilt))
        self.assertEqual("Instance i-1 could not be found.", rebuilt.format_message())
        self.assertEqual("i-1", rebuilt.kwargs["instance_id"])
        self.assertEqual(404, rebuilt.kwargs["code"])
        self.assertTrue(any("round_trip" in line for line in rebuilt.remote_traceback))

    def test_builtins_always_cross(self):
        _, rebuilt = self.round_trip(KeyError("k"), allowed=())
        self.assertIs(KeyError, type(rebuilt))
        self.assertEqual(("k",), rebuilt.args)

    def test_other_modules_become_remote_error(self):
        _, rebuilt = self.round_trip(PrivateError("secret detail"))
        self.assertIsInstance(rebuilt, RemoteError)
        self.assertEqual(("PrivateError", "secret detail"), (rebuilt.exc_type, rebuilt.value))
        self.assertEqual("Remote error: PrivateError secret detail", str(rebuilt))
        self.assertTrue(rebuilt.traceback)
        _, allowed = self.round_trip(PrivateError("x"), allowed=(__name__,))
        self.assertIs(PrivateError, type(allowed))

    def test_bus_exceptions_rebuild_from_their_args(self):
        for error in [UnsupportedVersion("6.0", "add"), NoSuchMethod("nope"),
                      RemoteError("X", "y", ["tb"]), MessagingTimeout("late", "abc")]:
            _, rebuilt = self.round_trip(error)
            self.assertIs(type(error), type(rebuilt))
            self.assertEqual(str(error), str(rebuilt))

    def test_a_class_that_does_not_rebuild_becomes_remote_error(self):
        data = json.dumps({"class": "InstanceNotFound", "module": "nova_tx.exception",
                           "message": "m", "tb": [], "args": [], "kwargs": {"bad": object}},
                          default=str)
        data = data.replace('"kwargs": {"bad": "<class \'object\'>"}', '"kwargs": 5')
        rebuilt = rpc.deserialize_remote_exception(data, rpc.DEFAULT_ALLOWED_EXMODS)
        self.assertIsInstance(rebuilt, RemoteError)
        for name in ("NoSuchThing", "one_line"):
            data = json.dumps({"class": name, "module": "nova_tx.exception", "message": "m"})
            self.assertIsInstance(
                rpc.deserialize_remote_exception(data, rpc.DEFAULT_ALLOWED_EXMODS),
                RemoteError)

    def test_oslo_remote_suffix_is_dropped_when_sent_again(self):
        remote_cls = type("InstanceNotFound_Remote", (nova_exception.InstanceNotFound,), {})
        remote_cls.__module__ = "nova_tx.exception_Remote"
        data = json.loads(rpc.serialize_remote_exception(remote_cls(instance_id="i")))
        self.assertEqual(("InstanceNotFound", "nova_tx.exception"),
                         (data["class"], data["module"]))


class ContextTest(unittest.SynchronousTestCase):
    def test_round_trip_keeps_identity(self):
        ctxt = RequestContext(user_id="u1", project_id="p1", roles=["member", "reader"],
                              global_request_id="req-" + str(uuid.UUID(int=7)),
                              auth_token="tok", remote_address="10.0.0.1")
        values = ctxt.to_dict()
        self.assertTrue(ctxt.request_id.startswith("req-"))
        self.assertEqual(("u1", "u1", "p1", "p1"), (values["user"], values["user_id"],
                                                    values["project"], values["project_id"]))
        self.assertFalse(values["is_admin"])
        self.assertEqual("u1 p1 - - -", values["user_identity"])
        again = RequestContext.from_dict(json.loads(json.dumps(values)))
        self.assertEqual(ctxt, again)

    def test_admin_role_makes_admin_unless_said_otherwise(self):
        self.assertTrue(RequestContext(roles=["Admin"]).is_admin)
        self.assertFalse(RequestContext(roles=["admin"], is_admin=False).is_admin)

    def test_reads_a_bare_oslo_context(self):
        ctxt = RequestContext.from_dict({"user": "u", "project_id": "p", "roles": ["admin"],
                                         "request_id": "req-x", "is_admin": True})
        self.assertEqual(("u", "p", "req-x", True), (ctxt.user_id, ctxt.project_id,
                                                      ctxt.request_id, ctxt.is_admin))
        self.assertEqual("no", ctxt.read_deleted)

    def test_default_serializer(self):
        serializer = rpc.RequestContextSerializer()
        verifyObject(rpc.ISerializer, serializer)
        ctxt = RequestContext(user_id="u")
        self.assertEqual(ctxt, serializer.deserialize_context(serializer.serialize_context(ctxt)))
        self.assertEqual({"a": 1}, serializer.serialize_context({"a": 1}))
        self.assertEqual({}, serializer.serialize_context(None))
        self.assertIs(ctxt, serializer.serialize_entity(None, ctxt))

    def test_redacted_copy_drops_credentials(self):
        ctxt = RequestContext(user_id="u", auth_token="tok",
                              service_catalog=[{"type": "image"}])
        redacted = ctxt.redacted_copy().to_dict()
        self.assertIsNone(redacted["auth_token"])
        self.assertEqual([], redacted["service_catalog"])
        self.assertEqual(ctxt.request_id, redacted["request_id"])
        self.assertEqual("tok", ctxt.auth_token)


# --- behaviour over a transport -------------------------------------------------------------

class Calculator:
    """The endpoint of the behaviour tests."""

    target = Target(version="5.3")

    def __init__(self, name: str = "host1"):
        self.name = name
        self.calls: list = []
        self.gate: defer.Deferred = defer.Deferred()
        self.waiting = 0

    def add(self, ctxt, a, b):
        self.calls.append(("add", a, b))
        return a + b

    async def slow_add(self, ctxt, a, b):
        await task.deferLater(_reactor(), 0, lambda: None)
        return a + b

    def whoami(self, ctxt):
        self.calls.append("whoami")
        return self.name

    def record(self, ctxt, value):
        self.calls.append(value)

    def context(self, ctxt):
        self.calls.append(ctxt)
        return ctxt.to_dict()

    async def wait(self, ctxt):
        self.waiting += 1
        await self.gate
        return "done"

    def not_found(self, ctxt, instance_id):
        raise nova_exception.InstanceNotFound(instance_id=instance_id)

    @rpc.expected_exceptions(nova_exception.InstanceNotFound)
    def expected_not_found(self, ctxt, instance_id):
        raise nova_exception.InstanceNotFound(instance_id=instance_id)

    def private_error(self, ctxt):
        raise PrivateError("secret detail")

    def value_error(self, ctxt):
        raise ValueError("bad value")

    def unserializable(self, ctxt):
        return object()

    def _hidden(self, ctxt):
        return "never"


class BaseAPI:
    target = Target(namespace="baseapi", version="1.1")

    def ping(self, ctxt, arg):
        return {"service": "test", "arg": arg}


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class PointSerializer:
    """Stands for Nova's object serializer: objects travel as tagged primitives."""

    def serialize_entity(self, ctxt, entity):
        if isinstance(entity, Point):
            return {"point": [entity.x, entity.y]}
        return entity

    def deserialize_entity(self, ctxt, entity):
        if isinstance(entity, dict) and set(entity) == {"point"}:
            return Point(*entity["point"])
        return entity


class Geometry:
    target = Target(version="5.0")

    def move(self, ctxt, point, dx):
        assert isinstance(point, Point), point
        return Point(point.x + dx, point.y)


def _reactor():
    from twisted.internet import reactor

    return reactor


class RPCBehaviour:
    """What RPC does between processes, over any transport; a subclass provides
    ``make_transports(count)`` (connected transports of one bus, as a list or a
    Deferred of one) and is a ``twisted.trial.unittest.TestCase``."""

    def setUp(self):
        self.conf = make_conf()
        self.topic = "test_" + uuid.uuid4().hex[:12]
        self.ctxt = RequestContext(user_id="u1", project_id="p1", roles=["member"],
                                   global_request_id="req-" + str(uuid.uuid4()))

    async def transports(self, count: int) -> list:
        return list(await defer.maybeDeferred(self.make_transports, count))

    async def start_server(self, transport, endpoints, server: str = "host1", **kwargs):
        kwargs.setdefault("stop_timeout", 2.0)
        server_ = RPCServer(transport, Target(topic=self.topic, server=server), endpoints,
                            conf=kwargs.pop("conf", self.conf), **kwargs)
        await server_.start()
        self.addCleanup(server_.stop)
        return server_

    def client(self, transport, **kwargs) -> RPCClient:
        kwargs.setdefault("timeout", 10)
        return RPCClient(transport, Target(topic=self.topic, version="5.0"), conf=self.conf,
                         **kwargs)

    async def pair(self, *endpoints):
        server_t, client_t = await self.transports(2)
        endpoints = endpoints or (Calculator(),)
        await self.start_server(server_t, list(endpoints))
        return endpoints[0], self.client(client_t)

    # --- call, cast, fanout -------------------------------------------------------------

    async def test_call_returns_the_result(self):
        calc, client = await self.pair()
        self.assertEqual(5, await client.call(self.ctxt, "add", a=2, b=3))
        self.assertEqual(7, await client.call(self.ctxt, "slow_add", a=3, b=4))
        self.assertEqual([("add", 2, 3)], calc.calls)

    async def test_concurrent_calls_get_their_own_results(self):
        _, client = await self.pair()
        results = await defer.gatherResults(
            [client.call(self.ctxt, "slow_add", a=i, b=1000) for i in range(20)])
        self.assertEqual([i + 1000 for i in range(20)], results)

    async def test_cast_runs_the_method(self):
        calc, client = await self.pair()
        self.assertIsNone(await client.cast(self.ctxt, "record", value="hello"))
        await wait_until(lambda: calc.calls == ["hello"])

    async def test_fanout_reaches_every_server(self):
        first_t, second_t, client_t = await self.transports(3)
        first, second = Calculator("host1"), Calculator("host2")
        await self.start_server(first_t, [first], "host1")
        await self.start_server(second_t, [second], "host2")
        await self.client(client_t).prepare(fanout=True).cast(self.ctxt, "record", value="all")
        await wait_until(lambda: first.calls == ["all"] and second.calls == ["all"])

    async def test_server_specific_topic(self):
        first_t, second_t, client_t = await self.transports(3)
        first, second = Calculator("host1"), Calculator("host2")
        await self.start_server(first_t, [first], "host1")
        await self.start_server(second_t, [second], "host2")
        client = self.client(client_t)
        for _ in range(5):
            self.assertEqual("host2", await client.prepare(server="host2").call(self.ctxt,
                                                                                "whoami"))
        self.assertEqual(([], ["whoami"] * 5), (first.calls, second.calls))

    async def test_topic_calls_are_served_once_by_one_of_the_servers(self):
        first_t, second_t, client_t = await self.transports(3)
        first, second = Calculator("host1"), Calculator("host2")
        await self.start_server(first_t, [first], "host1")
        await self.start_server(second_t, [second], "host2")
        client = self.client(client_t)
        answers = await defer.gatherResults([client.call(self.ctxt, "whoami")
                                             for _ in range(10)])
        self.assertEqual(10, len(first.calls) + len(second.calls))
        self.assertEqual(sorted(answers), sorted(["host1"] * len(first.calls)
                                                 + ["host2"] * len(second.calls)))

    async def test_context_round_trip(self):
        calc, client = await self.pair()
        values = await client.call(self.ctxt, "context")
        [received] = calc.calls
        self.assertIsInstance(received, RequestContext)
        for key in ("request_id", "global_request_id", "user_id", "project_id", "roles",
                    "is_admin"):
            self.assertEqual(getattr(self.ctxt, key), getattr(received, key), key)
        self.assertEqual(self.ctxt.to_dict(), values)

    async def test_serializer_converts_arguments_and_results(self):
        server_t, client_t = await self.transports(2)
        serializer = rpc.RequestContextSerializer(PointSerializer())
        await self.start_server(server_t, [Geometry()], serializer=serializer)
        client = self.client(client_t, serializer=serializer)
        moved = await client.call(self.ctxt, "move", point=Point(1, 2), dx=10)
        self.assertEqual(Point(11, 2), moved)

    async def test_a_call_cannot_be_a_fanout_and_bad_args_fail_locally(self):
        calc, client = await self.pair()
        await self.assertFailure(client.prepare(fanout=True).call(self.ctxt, "add", a=1, b=1),
                                 InvalidTarget)
        await self.assertFailure(client.cast(self.ctxt, "record", value=object()), TypeError)
        self.assertEqual([], calc.calls)

    # --- timeouts ----------------------------------------------------------------------------

    async def test_call_times_out_on_the_reactor_clock(self):
        server_t, client_t = await self.transports(2)
        calc = Calculator()
        await self.start_server(server_t, [calc])
        clock = task.Clock()
        logs = LogCapture(self, "nova_tx.bus.rpc")
        client = self.client(client_t, reactor=clock, timeout=30)
        d = client.call(self.ctxt, "wait")
        await wait_until(lambda: calc.waiting == 1)
        clock.advance(29)
        self.assertNoResult(d)
        clock.advance(1)
        error = self.failureResultOf(d, MessagingTimeout).value
        self.assertIn("wait", str(error))
        self.assertIn("30s", str(error))
        # The late reply is dropped, quietly.
        calc.gate.callback(None)
        await wait_until(lambda: any("no call waits" in m for m in logs.messages()))

    async def test_default_timeout_is_rpc_response_timeout(self):
        server_t, client_t = await self.transports(2)
        calc = Calculator()
        await self.start_server(server_t, [calc])
        clock = task.Clock()
        self.conf.set_override("rpc_response_timeout", 7)
        d = self.client(client_t, reactor=clock, timeout=None).call(self.ctxt, "wait")
        await wait_until(lambda: calc.waiting == 1)
        clock.advance(6.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        self.failureResultOf(d, MessagingTimeout)
        calc.gate.callback(None)

    async def test_call_monitor_heartbeats_keep_a_long_call_alive(self):
        server_t, client_t = await self.transports(2)
        calc = Calculator()
        clock = task.Clock()
        await self.start_server(server_t, [calc], reactor=clock)
        logs = LogCapture(self, "nova_tx.bus.rpc")
        client = self.client(client_t, reactor=clock, timeout=100, call_monitor_timeout=4)
        d = client.call(self.ctxt, "wait")
        await wait_until(lambda: calc.waiting == 1)
        for beat in range(1, 6):
            clock.advance(2)
            await wait_until(lambda beat=beat: sum(
                "heartbeat" in m for m in logs.messages()) == beat)
        self.assertNoResult(d)
        calc.gate.callback(None)
        self.assertEqual("done", await d)

    async def test_call_monitor_times_out_without_heartbeats(self):
        _, client_t = await self.transports(2)
        clock = task.Clock()
        client = self.client(client_t, reactor=clock, timeout=100, call_monitor_timeout=4)
        d = client.prepare(topic=self.topic + "_nobody").call(self.ctxt, "add", a=1, b=2)
        # The timers start once the request is on the bus (a broker confirms in its
        # own time): wait for them, not for any delayed call.
        await wait_until(lambda: any(getattr(c.func, "__name__", "") == "_timed_out"
                                     for c in clock.getDelayedCalls()))
        clock.advance(4)
        await wait_until(lambda: d.called)
        self.assertIn("4s", str(self.failureResultOf(d, MessagingTimeout).value))

    # --- exceptions ---------------------------------------------------------------------------

    async def test_allowed_remote_exception_comes_back_as_itself(self):
        _, client = await self.pair()
        logs = LogCapture(self, "nova_tx.bus.rpc")
        error = await self.assertFailure(client.call(self.ctxt, "not_found", instance_id="i-9"),
                                         nova_exception.InstanceNotFound)
        self.assertIs(nova_exception.InstanceNotFound, type(error))
        self.assertEqual("Instance i-9 could not be found.", error.format_message())
        self.assertEqual("i-9", error.kwargs["instance_id"])
        self.assertTrue(any("not_found" in line for line in error.remote_traceback))
        self.assertTrue(any(r.levelno == logging.ERROR and r.exc_info for r in logs.records))

    async def test_expected_exception_is_not_logged_as_an_error(self):
        _, client = await self.pair()
        logs = LogCapture(self, "nova_tx.bus.rpc")
        await self.assertFailure(client.call(self.ctxt, "expected_not_found", instance_id="i"),
                                 nova_exception.InstanceNotFound)
        self.assertEqual([], logs.messages(logging.WARNING))

    async def test_other_exceptions_come_back_as_remote_error(self):
        server_t, client_t = await self.transports(2)
        await self.start_server(server_t, [Calculator()])
        error = await self.assertFailure(self.client(client_t).call(self.ctxt, "private_error"),
                                         RemoteError)
        self.assertEqual(("PrivateError", "secret detail"), (error.exc_type, error.value))
        allowing = self.client(client_t, allowed_remote_exmods=[__name__])
        await self.assertFailure(allowing.call(self.ctxt, "private_error"), PrivateError)
        await self.assertFailure(allowing.call(self.ctxt, "value_error"), ValueError)

    async def test_unserializable_result_is_an_error_for_the_caller(self):
        _, client = await self.pair()
        error = await self.assertFailure(client.call(self.ctxt, "unserializable"), TypeError)
        self.assertIn("object", str(error))

    # --- versions ------------------------------------------------------------------------------

    async def test_version_cap_stops_the_message_before_it_leaves(self):
        calc, client = await self.pair()
        capped = client.prepare(version_cap="5.1")
        self.assertTrue(capped.can_send_version("5.1"))
        self.assertFalse(capped.can_send_version("5.2"))
        self.assertTrue(client.can_send_version("9.0"))
        error = await self.assertFailure(
            capped.prepare(version="5.2").call(self.ctxt, "add", a=1, b=1), RPCVersionCapError)
        self.assertIsInstance(error, UnsupportedVersion)
        await self.assertFailure(capped.prepare(version="5.2").cast(self.ctxt, "record",
                                                                    value=1),
                                 RPCVersionCapError)
        self.assertEqual(2, await capped.prepare(version="5.1").call(self.ctxt, "add", a=1, b=1))
        self.assertEqual([("add", 1, 1)], calc.calls)

    async def test_incompatible_versions_fail_with_unsupported_version(self):
        calc, client = await self.pair()
        for version in ("6.0", "5.4", "4.9"):
            error = await self.assertFailure(
                client.prepare(version=version).call(self.ctxt, "add", a=1, b=1),
                UnsupportedVersion)
            self.assertEqual((version, "add"), (error.version, error.method))
        self.assertEqual(2, await client.prepare(version="5.3").call(self.ctxt, "add", a=1, b=1))
        self.assertEqual([("add", 1, 1)], calc.calls)

    async def test_unknown_and_private_methods(self):
        _, client = await self.pair()
        for method in ("nope", "_hidden"):
            error = await self.assertFailure(client.call(self.ctxt, method), NoSuchMethod)
            self.assertEqual(method, error.method)

    async def test_namespaces_select_the_endpoint(self):
        _, client = await self.pair(Calculator(), BaseAPI())
        base = client.prepare(namespace="baseapi", version="1.0")
        self.assertEqual({"service": "test", "arg": "x"}, await base.call(self.ctxt, "ping",
                                                                          arg="x"))
        await self.assertFailure(base.call(self.ctxt, "add", a=1, b=2), NoSuchMethod)
        await self.assertFailure(client.call(self.ctxt, "ping", arg="x"), NoSuchMethod)

    # --- bad input -----------------------------------------------------------------------------

    async def test_malformed_messages_are_logged_and_dropped(self):
        server_t, client_t = await self.transports(2)
        calc = Calculator()
        await self.start_server(server_t, [calc])
        logs = LogCapture(self, "nova_tx.bus.rpc")

        def enveloped(message: dict) -> bytes:
            return json.dumps({"oslo.version": "2.0",
                               "oslo.message": json.dumps(message)}).encode()

        bad = [
            b"this is not json",
            b"[1, 2, 3]",
            json.dumps({"oslo.version": "3.0", "oslo.message": "{}"}).encode(),
            enveloped({"args": {}, "_unique_id": "a1"}),
            enveloped({"method": "add", "args": [1, 2], "_unique_id": "a2"}),
            enveloped({"method": "no_such_method", "args": {}, "_unique_id": "a3"}),
            enveloped({"method": "add", "args": {"a": 1, "b": 2}, "version": "9.0",
                       "_unique_id": "a4"}),
            enveloped({"method": "add", "args": {"a": 1, "b": 2}, "version": "five",
                       "_unique_id": "a5"}),
            enveloped({"method": "add", "args": {"a": 1, "b": 2}, "_msg_id": "m",
                       "_unique_id": "a6"}),
            enveloped({"method": "add", "args": {"a": 1, "b": 2}, "_unique_id": "a7",
                       "_context_timestamp": "yesterday"}),
        ]
        for body in bad:
            await client_t.publish(self.conf.control_exchange, self.topic, body)
        self.assertEqual(3, await self.client(client_t).call(self.ctxt, "add", a=1, b=2))

        def rejections():
            return [r for r in logs.records
                    if r.levelno == logging.ERROR and "rejecting message" in r.msg]

        await wait_until(lambda: len(rejections()) == len(bad))
        delivery_ids = {r.args[1] for r in rejections()}
        self.assertEqual(len(bad), len(delivery_ids))
        self.assertTrue(all(isinstance(i, str) and i for i in delivery_ids))
        self.assertEqual([("add", 1, 2)], calc.calls)

    async def test_a_call_whose_request_is_rejected_hears_why(self):
        _, client = await self.pair()
        error = await self.assertFailure(client.prepare(version="7.0").call(self.ctxt, "add",
                                                                            a=1, b=1),
                                         UnsupportedVersion)
        self.assertIn("7.0", str(error))

    async def test_redelivered_duplicate_runs_once(self):
        server_t, client_t = await self.transports(2)
        calc = Calculator()
        await self.start_server(server_t, [calc])
        message = {"method": "record", "args": {"value": "once"}, "version": "5.0",
                   "_unique_id": uuid.uuid4().hex}
        for _ in range(2):
            await client_t.publish(self.conf.control_exchange, self.topic,
                                   rpc.serialize_msg(message))
        await self.client(client_t).call(self.ctxt, "add", a=0, b=0)
        await settle()
        self.assertEqual(["once", ("add", 0, 0)], calc.calls)

    # --- concurrency and stopping -----------------------------------------------------------------

    async def test_executor_size_bounds_running_methods(self):
        self.conf.set_override("executor_thread_pool_size", 2)
        calc, client = await self.pair()
        for _ in range(5):
            await client.cast(self.ctxt, "wait")
        await wait_until(lambda: calc.waiting == 2)
        await settle()
        self.assertEqual(2, calc.waiting)
        calc.gate.callback(None)
        await wait_until(lambda: calc.waiting == 5)

    async def test_stop_lets_running_calls_finish(self):
        server_t, client_t = await self.transports(2)
        calc = Calculator()
        server = await self.start_server(server_t, [calc])
        client = self.client(client_t)
        call = client.call(self.ctxt, "wait")
        await wait_until(lambda: calc.waiting == 1)
        stopping = server.stop()
        await settle()
        self.assertNoResult(stopping)
        calc.gate.callback(None)
        self.assertEqual("done", await call)
        await stopping
        await client.cast(self.ctxt, "record", value="after stop")
        await settle()
        self.assertEqual([], calc.calls)

    async def test_stop_is_bounded(self):
        server_t, client_t = await self.transports(2)
        calc = Calculator()
        clock = task.Clock()
        server = await self.start_server(server_t, [calc], reactor=clock, stop_timeout=5)
        logs = LogCapture(self, "nova_tx.bus.rpc")
        await self.client(client_t).cast(self.ctxt, "wait")
        await wait_until(lambda: calc.waiting == 1)
        stopping = server.stop()
        await settle()
        self.assertNoResult(stopping)
        clock.advance(5)
        await stopping
        self.assertTrue(any("still running" in m for m in logs.messages(logging.WARNING)))
        calc.gate.callback(None)

    async def test_server_runs_as_a_service(self):
        server_t, client_t = await self.transports(2)
        calc = Calculator()
        server = RPCServer(server_t, Target(topic=self.topic, server="host1"), [calc],
                           conf=self.conf)
        server.startService()
        self.assertTrue(server.running)
        await wait_until(lambda: len(server._consumers) == 3)
        self.assertEqual(2, await self.client(client_t).call(self.ctxt, "add", a=1, b=1))
        await server.stopService()
        self.assertFalse(server.running)

    def test_targets_are_checked(self):
        transport = MemoryBus(MemoryBroker())
        self.assertRaises(InvalidTarget, RPCServer, transport, Target(topic="t"), [],
                          conf=self.conf)
        self.assertRaises(InvalidTarget, RPCClient, transport, Target(), conf=self.conf)

        class BadEndpoint:
            target = "5.0"

        self.assertRaises(TypeError, RPCServer, transport, Target(topic="t", server="s"),
                          [BadEndpoint()], conf=self.conf)


class MemoryRPCTest(RPCBehaviour, unittest.TestCase):
    def make_transports(self, count: int):
        return memory_transports(self, count)

    async def test_a_delivery_lost_before_dispatch_is_left_to_the_redelivery(self):
        calc = Calculator()
        server_t, _ = await self.transports(2)
        server = await self.start_server(server_t, [calc])
        body = serialize_msg({"method": "record", "args": {"value": 1}, "version": "5.0",
                              "_unique_id": "u-lost-1"})

        def delivery(number: int, live: bool) -> IncomingMessage:
            return IncomingMessage(body=body, exchange="nova", routing_key=self.topic,
                                   delivery_id=f"t:{number}", redelivered=number > 1,
                                   acknowledgeable=lambda: live)

        # Its connection went while it waited: not run, and not remembered as seen...
        await defer.maybeDeferred(server._on_message, delivery(1, live=False))
        await settle()
        self.assertEqual([], calc.calls)
        # ...so the broker's redelivery runs it, once.
        await defer.maybeDeferred(server._on_message, delivery(2, live=True))
        await wait_until(lambda: calc.calls)
        await defer.maybeDeferred(server._on_message, delivery(3, live=True))
        await settle()
        self.assertEqual([1], calc.calls)

    async def test_hundreds_of_skipped_deliveries_do_not_lose_the_slot(self):
        # One slot, held by a waiting call, with many stale deliveries queued behind it:
        # skipping them all must not recurse (and lose the slot) once it frees.
        calc = Calculator()
        server_t, client_t = await self.transports(2)
        conf = make_conf(executor_thread_pool_size=1)
        server = await self.start_server(server_t, [calc], conf=conf)
        client = self.client(client_t)
        waiting = client.call(self.ctxt, "wait")
        await wait_until(lambda: calc.waiting == 1)
        for number in range(2000):
            body = serialize_msg({"method": "record", "args": {"value": number},
                                  "version": "5.0", "_unique_id": f"stale-{number}"})
            server._on_message(IncomingMessage(
                body=body, exchange="nova", routing_key=self.topic,
                delivery_id=f"stale:{number}", acknowledgeable=lambda: False))
        calc.gate.callback(None)
        self.assertEqual("done", await waiting)
        self.assertEqual(3, await client.call(self.ctxt, "add", a=1, b=2))
        self.assertEqual([("add", 1, 2)], calc.calls)

    async def test_queue_layout_is_oslo_messagings(self):
        server_t, client_t = await self.transports(2)
        server = await self.start_server(server_t, [Calculator()])
        topic, server_queue, fanout_queue = server.queues
        self.assertEqual((self.topic, f"{self.topic}.host1"), (topic, server_queue))
        self.assertRegex(fanout_queue, rf"^{self.topic}_fanout_[0-9a-f]{{32}}$")
        self.assertEqual({Binding("nova", self.topic)}, self.broker.bindings(topic))
        self.assertEqual({Binding("nova", server_queue)}, self.broker.bindings(server_queue))
        self.assertEqual({Binding(f"{self.topic}_fanout", self.topic)},
                         self.broker.bindings(fanout_queue))
        # The fanout queue outlives a dead server by rabbit_transient_queues_ttl only.
        self.assertEqual(1800 * 1000, self.broker._queues[fanout_queue].expires_ms)

    async def test_one_reply_queue_per_process(self):
        server_t, first_t, second_t = await self.transports(3)
        await self.start_server(server_t, [Calculator()])
        for client in (self.client(first_t), self.client(first_t).prepare(timeout=5)):
            await client.call(self.ctxt, "add", a=1, b=1)
        replies = [q for q in self.broker.queue_names() if q.startswith("reply_")]
        self.assertEqual(1, len(replies))
        self.assertRegex(replies[0], r"^reply_[0-9a-f]{32}$")
        self.assertEqual(set(), self.broker.bindings(replies[0]))
        await self.client(second_t).call(self.ctxt, "add", a=1, b=1)
        self.assertEqual(2, len([q for q in self.broker.queue_names()
                                 if q.startswith("reply_")]))

    async def test_fanout_exchange_gone_with_its_last_queue_is_declared_again(self):
        _, client_t = await self.transports(2)
        client = self.client(client_t).prepare(fanout=True)
        await client.cast(self.ctxt, "record", value=1)
        exchange = f"{self.topic}_fanout"
        await client_t.declare_queue("short_lived", [Binding(exchange, self.topic)],
                                     auto_delete=True)
        consumer = await client_t.consume("short_lived", Collector())
        await consumer.stop()
        self.assertNotIn(exchange, self.broker.exchange_names())
        await client.cast(self.ctxt, "record", value=2)
        self.assertIn(exchange, self.broker.exchange_names())

    async def test_ten_thousand_casts_none_lost(self):
        server_t, client_t = await self.transports(2)
        calc = Calculator()
        await self.start_server(server_t, [calc])
        client = self.client(client_t)
        started = time.monotonic()
        await defer.gatherResults([client.cast(self.ctxt, "record", value=i)
                                   for i in range(10_000)])
        await wait_until(lambda: len(calc.calls) >= 10_000, timeout=20)
        elapsed = time.monotonic() - started
        self.assertEqual(list(range(10_000)), sorted(calc.calls))
        self.assertEqual(0, self.broker.message_count(self.topic))
        self.assertLess(elapsed, 20)


# --- the real oslo.messaging on the other side ------------------------------------------------

class OsloEndpoint:
    """An endpoint as oslo.messaging's dispatcher calls it (the context is a dict)."""

    def __init__(self):
        self.contexts: list[dict] = []

    def add(self, ctxt, a, b):
        self.contexts.append(ctxt)
        return a + b

    def fail(self, ctxt):
        raise ValueError("oslo side failed")


class OsloInteropTest(unittest.TestCase):
    def setUp(self):
        (self.oslo, self.oslo_common, self.oslo_amqp, self.amqpdriver,
         self.impl_rabbit) = import_oslo_messaging()
        self.conf = make_conf()
        self.topic = "interop_" + uuid.uuid4().hex[:8]
        self.broker = MemoryBroker()
        self.ours, self.theirs = MemoryBus(self.broker), MemoryBus(self.broker)
        for bus in (self.ours, self.theirs):
            bus.connect()
            self.addCleanup(bus.close)
        self.ctxt = RequestContext(user_id="u1", project_id="p1", roles=["member"])

    async def collect(self, exchange: str, kind: str, key: str, **flags) -> Collector:
        await self.theirs.declare_exchange(exchange, kind, **flags)
        queue = "capture_" + uuid.uuid4().hex
        await self.theirs.declare_queue(queue, [Binding(exchange, key)])
        collector = Collector()
        await self.theirs.consume(queue, collector)
        return collector

    async def test_oslo_server_answers_our_call(self):
        from oslo_messaging.rpc import dispatcher as oslo_dispatcher

        driver, connection = oslo_amqp_driver()
        listener = self.amqpdriver.RpcAMQPListener(driver, connection)
        endpoint = OsloEndpoint()
        endpoint.target = self.oslo.Target(version="5.3")
        dispatcher = oslo_dispatcher.RPCDispatcher([endpoint], None)
        raw_messages = []

        def oslo_server(incoming):
            raw = FakeKombuMessage(incoming.body)
            raw_messages.append(raw)
            listener(self.impl_rabbit.RabbitMessage(raw))
            message = listener.incoming.pop(0)
            try:
                message.reply(dispatcher.dispatch(message))
            except Exception:
                message.reply(failure=sys.exc_info())
            kind, _exchange, reply_q, envelope = connection.sent.pop()
            self.assertEqual("direct", kind)
            return self.theirs.publish(DEFAULT_EXCHANGE, reply_q, envelope_bytes(envelope))

        await self.theirs.declare_exchange("nova", TOPIC)
        await self.theirs.declare_queue(self.topic, [Binding("nova", self.topic)])
        await self.theirs.consume(self.topic, oslo_server)
        client = RPCClient(self.ours, Target(topic=self.topic, version="5.0"), conf=self.conf,
                           timeout=5)
        self.assertEqual(3, await client.call(self.ctxt, "add", a=1, b=2))
        self.assertTrue(raw_messages[0].acked)
        [ctxt] = endpoint.contexts
        self.assertEqual(self.ctxt.request_id, ctxt["request_id"])
        self.assertEqual(("u1", "p1", ["member"]), (ctxt["user_id"], ctxt["project_id"],
                                                     ctxt["roles"]))
        error = await self.assertFailure(client.call(self.ctxt, "fail"), ValueError)
        self.assertIn("oslo side failed", str(error))
        error = await self.assertFailure(client.call(self.ctxt, "nope"), RemoteError)
        self.assertEqual("NoSuchMethod", error.exc_type)
        error = await self.assertFailure(client.prepare(version="6.0").call(self.ctxt, "add",
                                                                            a=1, b=2),
                                         RemoteError)
        self.assertEqual("UnsupportedVersion", error.exc_type)

    async def test_our_server_runs_an_oslo_cast_and_answers_an_oslo_call(self):
        from oslo_context import context as oslo_context

        calc = Calculator()
        server = RPCServer(self.ours, Target(topic=self.topic, server="h1"), [calc],
                           conf=self.conf)
        await server.start()
        self.addCleanup(server.stop)
        driver, connection = oslo_amqp_driver()
        transport = self.oslo.transport.RPCTransport(driver)
        client = self.oslo.get_rpc_client(transport, self.oslo.Target(topic=self.topic,
                                                                       version="5.0"))
        their_ctxt = oslo_context.RequestContext(user_id="u9", project_id="p9",
                                                 roles=["reader"], request_id="req-oslo")
        client.cast(their_ctxt, "record", value="from oslo")
        client.prepare(server="h1").cast(their_ctxt, "record", value="to h1")
        client.prepare(fanout=True).cast(their_ctxt, "record", value="to all")
        for kind, exchange, key, envelope in connection.sent:
            if kind == "fanout":
                await self.theirs.publish(exchange, key, envelope_bytes(envelope))
            else:
                await self.theirs.publish(exchange, key, envelope_bytes(envelope))
        await wait_until(lambda: len(calc.calls) == 3)
        self.assertEqual(["from oslo", "to h1", "to all"], calc.calls)

        # A call as oslo's driver writes it, answered on a reply queue oslo would read.
        calc.calls.clear()
        message = {"method": "context", "args": {}, "version": "5.0",
                   "_msg_id": uuid.uuid4().hex, "_reply_q": "reply_oslo", "_timeout": None}
        self.oslo_amqp._add_unique_id(message)
        self.oslo_amqp.pack_context(message, their_ctxt)
        await self.theirs.declare_queue("reply_oslo")
        replies = Collector()
        await self.theirs.consume("reply_oslo", replies)
        await self.theirs.publish("nova", self.topic, envelope_bytes(
            self.oslo_common.serialize_msg(message)))
        message = dict(message, method="not_found", args={"instance_id": "i-7"},
                       _msg_id=uuid.uuid4().hex, _unique_id=uuid.uuid4().hex)
        await self.theirs.publish("nova", self.topic, envelope_bytes(
            self.oslo_common.serialize_msg(message)))
        await wait_until(lambda: len(replies.bodies) == 2)

        waiter = self.amqpdriver.ReplyWaiter.__new__(self.amqpdriver.ReplyWaiter)
        waiter.msg_id_cache = self.oslo_amqp._MsgIdCache()
        waiter.allowed_remote_exmods = ["nova_tx.exception"]
        results = []
        for body in replies.bodies:
            data = self.oslo_common.deserialize_msg(json.loads(body))
            self.assertIn("_msg_id", data)
            data.pop("_msg_id")
            results.append(waiter._process_reply(data))
        (values, ending), (error, error_ending) = results
        self.assertTrue(ending and error_ending)
        self.assertEqual(("u9", "p9", ["reader"], "req-oslo"),
                         (values["user_id"], values["project_id"], values["roles"],
                          values["request_id"]))
        self.assertIsInstance(error, nova_exception.InstanceNotFound)
        self.assertEqual("i-7", error.kwargs["instance_id"])

    async def test_our_cast_has_the_shape_of_osloss(self):
        from oslo_context import context as oslo_context

        captured = await self.collect("nova", TOPIC, "#")
        fanout = await self.collect(f"{self.topic}_fanout", FANOUT, self.topic,
                                    auto_delete=True)
        client = RPCClient(self.ours, Target(topic=self.topic, version="5.1"), conf=self.conf)
        await client.prepare(server="h1").cast(self.ctxt, "record", value=[1, "x"])
        await client.prepare(fanout=True).cast(self.ctxt, "record", value=None)
        await wait_until(lambda: captured.bodies and fanout.bodies)

        driver, connection = oslo_amqp_driver()
        oslo_client = self.oslo.get_rpc_client(self.oslo.transport.RPCTransport(driver),
                                               self.oslo.Target(topic=self.topic,
                                                                version="5.1"))
        their_ctxt = oslo_context.RequestContext(user_id="u1", project_id="p1")
        oslo_client.prepare(server="h1").cast(their_ctxt, "record", value=[1, "x"])
        oslo_client.prepare(fanout=True).cast(their_ctxt, "record", value=None)
        (_, their_exchange, their_key, their_env), (kind, their_fanout_exchange, _, _) = \
            connection.sent
        self.assertEqual(("nova", f"{self.topic}.h1"),
                         (captured.messages[0].exchange, captured.messages[0].routing_key))
        self.assertEqual((their_exchange, their_key),
                         (captured.messages[0].exchange, captured.messages[0].routing_key))
        self.assertEqual(("fanout", their_fanout_exchange),
                         ("fanout", fanout.messages[0].exchange))

        ours = json.loads(captured.bodies[0])
        assert_same_envelope(self, their_env, ours, ("method", "args", "version"))
        # And oslo's own reader takes ours.
        decoded = self.oslo_common.deserialize_msg(ours)
        unpacked = self.oslo_amqp.unpack_context(decoded)
        self.assertEqual(self.ctxt.request_id, unpacked.request_id)
        self.assertEqual({"method": "record", "args": {"value": [1, "x"]}, "version": "5.1"},
                         {k: v for k, v in decoded.items() if k != "_unique_id"})
