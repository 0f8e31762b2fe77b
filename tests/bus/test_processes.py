"""RPC between separate processes over a real RabbitMQ.

The RPC tests of ``test_amqp`` run client and server in one process, on one reactor;
here the server is another Python process (``tests.bus.rpc_peer``) that shares only
the broker with the test, so nothing in memory can stand in for the wire. Calls, casts
and fanout casts go to the machine's RabbitMQ under a control exchange of the test's
own, with auto-deleting queues.

``BrokerRestartTests`` restart a broker in the middle of a stream of casts. That is
never done to the machine's broker: the test starts a node of its own
(``tests.bus.private_broker``) on its own ports. When that node cannot be started the
test is skipped, or fails with CI=true.
"""
from __future__ import annotations

import os
import sys
import time
import uuid
from typing import Any

from twisted.internet import defer, error, protocol, reactor, threads
from twisted.trial import unittest

from nova_tx.bus.amqp import AMQPBus
from nova_tx.bus.rpc import RPCClient, Target
from nova_tx.bus.url import TransportURL
from tests.bus import make_conf, wait_until
from tests.bus.private_broker import PrivateBroker, PrivateBrokerUnavailable
from tests.bus.test_amqp import IN_CI, URL, BrokerTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Seconds a peer may take to connect and consume (a Python start-up included).
READY_TIMEOUT = 20.0
#: Seconds the restart test's peer spends on each cast, one at a time (~100/s, below
#: the stream's rate).
CAST_DELAY = 0.01


class PeerProcess(protocol.ProcessProtocol):
    """A running ``tests.bus.rpc_peer``: ``ready`` fires once it consumes, ``ended``
    once it exited; its output is kept for the failure message."""

    def __init__(self, name: str):
        self.name = name
        self.ready: defer.Deferred = defer.Deferred()
        self.ended: defer.Deferred = defer.Deferred()
        self.output = b""

    def outReceived(self, data: bytes) -> None:
        self.output += data
        if not self.ready.called and b"ready\n" in self.output:
            self.ready.callback(self)

    errReceived = outReceived

    def processEnded(self, reason) -> None:
        if not self.ready.called:
            self.ready.errback(AssertionError(
                f"peer {self.name} exited before it was ready: {reason.value}\n"
                f"{self.output.decode(errors='replace')[-3000:]}"))
        self.ended.callback(None)

    def kill(self) -> defer.Deferred:
        if not self.ended.called:
            try:
                self.transport.signalProcess("KILL")
            except error.ProcessExitedAlready:
                pass
        return self.ended


async def spawn_peer(test: unittest.TestCase, url: str, exchange: str, topic: str,
                     server: str, *, durable: bool = False,
                     cast_delay: float = 0.0) -> PeerProcess:
    """Start a peer, killed in the test's cleanup however the test ends."""
    peer = PeerProcess(server)
    args = [sys.executable, "-m", "tests.bus.rpc_peer", "--url", url, "--exchange",
            exchange, "--topic", topic, "--server", server]
    if durable:
        args.append("--durable")
    if cast_delay:
        args += ["--cast-delay", str(cast_delay)]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    reactor.spawnProcess(peer, sys.executable, args, env=env, path=ROOT)
    test.addCleanup(peer.kill)
    await peer.ready.addTimeout(READY_TIMEOUT, reactor)
    return peer


def client_conf(exchange: str, *, durable: bool = False) -> Any:
    rabbit = {"kombu_reconnect_delay": 0.1, "rabbit_retry_interval": 0.2,
              "rabbit_retry_backoff": 0.2, "rabbit_interval_max": 1,
              "rabbit_transient_queues_ttl": 30,
              "amqp_durable_queues": durable, "amqp_auto_delete": not durable}
    return make_conf(control_exchange=exchange, rpc_response_timeout=10,
                     **{f"oslo_messaging_rabbit__{k}": v for k, v in rabbit.items()})


class ProcessRPCTests(BrokerTestCase):
    """Call, cast and fanout from this process to peers in others."""

    timeout = 30

    def setUp(self):
        started = super().setUp()
        self.exchange = self.exchange_name("control")
        self.topic = f"{self.prefix}.topic"
        # The peers' fanout exchange auto-deletes with its last queue; the control
        # exchange is deleted by the base class.
        self.conf = client_conf(self.exchange)
        return started

    async def client(self) -> RPCClient:
        bus = await self.bus(self.conf)
        return RPCClient(bus, Target(topic=self.topic), conf=self.conf)

    async def test_call_and_cast_to_another_process(self):
        peer = await spawn_peer(self, URL.geturl(), self.exchange, self.topic, "one")
        client = await self.client()

        who = await client.call({}, "whoami")
        self.assertEqual(who["server"], "one")
        self.assertNotEqual(who["pid"], os.getpid())
        payload = {"text": "ünïcode", "list": [1, 2.5, None, True], "nested": {"a": "b"}}
        self.assertEqual(await client.call({}, "echo", value=payload), payload)
        with self.assertRaises(ValueError) as caught:
            await client.call({}, "fail", message="as asked")
        self.assertIn("as asked", str(caught.exception))

        await defer.gatherResults([client.cast({}, "record", value=i) for i in range(50)])
        direct = client.prepare(server="one")
        received: list = []

        async def all_received() -> bool:
            received[:] = await direct.call({}, "received")
            return len(received) >= 50

        deadline = time.monotonic() + 10
        while not await all_received():
            self.assertLess(time.monotonic(), deadline, f"casts received: {received}")
            await sleep(0.05)
        self.assertEqual(sorted(received), list(range(50)))
        self.assertEqual(peer.output.count(b"ready"), 1)

    async def test_fanout_cast_reaches_both_processes(self):
        peers = [await spawn_peer(self, URL.geturl(), self.exchange, self.topic, name)
                 for name in ("one", "two")]
        client = await self.client()

        await client.prepare(fanout=True).cast({}, "record", value="to all")
        # A plain cast goes to one of them only (the shared topic queue).
        await client.cast({}, "record", value="to one")
        got: dict[str, list] = {}
        deadline = time.monotonic() + 10
        while True:
            for peer in peers:
                got[peer.name] = await client.prepare(server=peer.name).call({}, "received")
            if sum(len(v) for v in got.values()) >= 3:
                break
            self.assertLess(time.monotonic(), deadline, f"received: {got}")
            await sleep(0.05)
        self.assertIn("to all", got["one"])
        self.assertIn("to all", got["two"])
        self.assertEqual(sum(v.count("to one") for v in got.values()), 1, got)


class BrokerRestartTests(unittest.TestCase):
    """A broker restart under a stream of casts, on a private node."""

    timeout = 90

    def setUp(self):
        return defer.Deferred.fromCoroutine(self._start_broker())

    async def _start_broker(self) -> None:
        self.broker = PrivateBroker()
        self.addCleanup(lambda: threads.deferToThread(self.broker.stop))
        try:
            self.startup = await threads.deferToThread(self.broker.start)
        except PrivateBrokerUnavailable as e:
            if IN_CI:
                self.fail(f"a private RabbitMQ node could not be started: {e}")
            raise unittest.SkipTest(f"a private RabbitMQ node could not be started: {e}; "
                                    "with CI=true this is a failure") from None

    async def test_confirmed_casts_survive_a_restart_and_both_sides_carry_on(self):
        began = time.monotonic()
        url = self.broker.url
        exchange, topic = f"nova-tx-test.restart.{uuid.uuid4().hex[:8]}", "restart"
        conf = client_conf(exchange, durable=True)
        peer = await spawn_peer(self, url, exchange, topic, "one", durable=True,
                                cast_delay=CAST_DELAY)
        bus = AMQPBus(TransportURL.parse(url), conf, connection_name="nova-tx-test.caster")
        self.addCleanup(bus.close)
        await bus.connect()
        client = RPCClient(bus, Target(topic=topic), conf=conf)
        direct = client.prepare(server="one")
        self.assertEqual(await direct.call({}, "echo", value="before"), "before")

        confirmed: list[int] = []
        failed: list[tuple[int, str]] = []
        stop: list[bool] = []

        async def stream() -> int:
            sent = 0
            while not stop:
                d = client.cast({}, "record", value=sent)
                d.addCallbacks(lambda _, n=sent: confirmed.append(n),
                               lambda f, n=sent: failed.append((n, f.getErrorMessage())))
                sent += 1
                await sleep(0.005)
            return sent

        streaming = defer.Deferred.fromCoroutine(stream())

        def stop_streaming() -> defer.Deferred:
            stop.append(True)
            return streaming

        self.addCleanup(stop_streaming)
        await wait_until(lambda: len(confirmed) >= 150, 10)
        # The peer is slower than the stream: confirmed casts wait in the durable queue
        # when the broker goes down.
        backlog = await threads.deferToThread(self.broker.queue_length, topic)
        self.assertGreater(backlog, 0)
        restarted = time.monotonic()
        await threads.deferToThread(self.broker.stop_app)
        await sleep(0.5)  # casts keep coming while the broker is down
        await threads.deferToThread(self.broker.start_app)
        await wait_until(lambda: bus.connected, 15)
        at_restart = len(confirmed)
        await wait_until(lambda: len(confirmed) >= at_restart + 50, 15)
        sent = await stop_streaming()
        await wait_until(lambda: len(confirmed) + len(failed) == sent, 15)
        outage = time.monotonic() - restarted

        # The peer works through the redelivered backlog one cast at a time (and its
        # "received" call waits behind them): wait as long as it makes progress.
        received: list = []
        last_error = None
        progress, deadline = -1, time.monotonic() + 30
        while True:
            try:
                received = await direct.call({}, "received")
            except Exception as e:  # the peer may still be reconnecting, or busy
                last_error = e
            if set(confirmed) <= set(received):
                break
            if len(received) > progress:
                progress, deadline = len(received), time.monotonic() + 30
            self.assertLess(time.monotonic(), deadline,
                            f"lost: {sorted(set(confirmed) - set(received))[:20]} "
                            f"({len(received)} received; last error: {last_error})")
            await sleep(0.2)
        self.assertEqual(await direct.call({}, "echo", value="after"), "after")
        self.assertEqual(peer.output.count(b"ready"), 1)  # the same peer, never restarted
        self.assertFalse(peer.ended.called)
        # Nothing failed: the publishes waited in the buffer across the outage.
        self.assertEqual(failed, [])
        self.assertEqual(len(confirmed), sent)
        duplicates = len(received) - len(set(received))
        print(f"\n[restart] node start {self.startup:.1f}s, {sent} casts, backlog "
              f"{backlog} in the queue at the restart, {len(received)} received "
              f"({duplicates} twice: at least once), "
              f"restart+recovery {outage:.1f}s, "
              f"test body {time.monotonic() - began:.1f}s", file=sys.stderr)


def sleep(seconds: float) -> defer.Deferred:
    from twisted.internet import task

    return task.deferLater(reactor, seconds, lambda: None)
