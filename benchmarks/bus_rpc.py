"""RPC over RabbitMQ: nova-tx (AMQPBus, RPCClient/RPCServer) against oslo.messaging.

Run by hand, against the machine's RabbitMQ:

    .venv/bin/python benchmarks/bus_rpc.py [--url rabbit://guest:guest@127.0.0.1:5672/]

Both implementations get the same broker, the same message (a JSON argument of
``--size`` bytes) and the same shape of test, so the ratio says what the library costs:

- calls: sequential round trips (one call, wait for its reply, the next), per second;
- casts: ``--casts`` casts sent back to back, timed until the server has received all
  of them (the server answers a ``wait_count`` call once its count is reached), per
  second.

Each server runs in a process of its own (``--serve novatx|oslo``), as it would in a
deployment; oslo.messaging's uses its threading executor. The clients run here: first
oslo.messaging's (plain threads), then nova-tx's (on the Twisted reactor). Every name is
unique to the run; queues auto-delete and what is left (exchanges) is deleted at the end.
The last line is ``ratio call=X.XX cast=Y.YY`` (nova-tx / oslo.messaging; above 1 means
nova-tx is faster).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
import warnings
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
SERVER = "bench"


# --- the servers ----------------------------------------------------------------------


class _Counter:
    """What both servers share: count casts, and answer once a count is reached."""

    def __init__(self) -> None:
        self.count = 0

    def echo(self, ctxt: Any, payload: str) -> str:
        return payload

    def record(self, ctxt: Any, payload: str) -> None:
        self.count += 1

    def reset(self, ctxt: Any) -> int:
        self.count = 0
        return 0


class NovaTxEndpoint(_Counter):
    """``wait_count`` waits on the reactor: no thread is held while casts arrive."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: list[tuple[int, Any]] = []

    def record(self, ctxt: Any, payload: str) -> None:
        super().record(ctxt, payload)
        for waiter in [w for w in self._waiters if self.count >= w[0]]:
            self._waiters.remove(waiter)
            waiter[1].callback(self.count)

    def wait_count(self, ctxt: Any, n: int) -> Any:
        from twisted.internet import defer

        if self.count >= n:
            return self.count
        waiter: defer.Deferred = defer.Deferred()
        self._waiters.append((n, waiter))
        return waiter


class OsloEndpoint(_Counter):
    """``wait_count`` blocks one of the executor's threads, as oslo's model has it."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def record(self, ctxt: Any, payload: str) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_count(self, ctxt: Any, n: int) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.count >= n, timeout=120)
            return self.count


def novatx_conf(exchange: str) -> Any:
    from tests.bus import make_conf

    return make_conf(control_exchange=exchange, rpc_response_timeout=60,
                     oslo_messaging_rabbit__amqp_auto_delete=True,
                     oslo_messaging_rabbit__rabbit_transient_queues_ttl=60)


def serve_novatx(url: str, exchange: str, topic: str) -> None:
    from twisted.internet import defer, task

    from nova_tx.bus.amqp import AMQPBus
    from nova_tx.bus.rpc import RPCServer, Target
    from nova_tx.bus.url import TransportURL

    async def run(reactor) -> None:
        conf = novatx_conf(exchange)
        bus = AMQPBus(TransportURL.parse(url), conf, connection_name="bus_rpc.novatx.server")
        await bus.connect()
        server = RPCServer(bus, Target(topic=topic, server=SERVER), [NovaTxEndpoint()],
                           conf=conf)
        await server.start()
        print("ready", flush=True)
        await defer.Deferred()  # until killed

    task.react(lambda reactor: defer.Deferred.fromCoroutine(run(reactor)))


def oslo_transport(url: str, exchange: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import oslo_messaging
    from oslo_config import cfg
    from oslo_messaging._metrics import client as metrics
    from oslo_messaging._tracing import client as tracing

    conf = cfg.ConfigOpts()
    conf([], project="bus_rpc")
    # oslo registers these on its global CONF at import; its client reads them from the
    # transport's configuration, which is private here.
    conf.register_opts(tracing.oslo_messaging_tracing, group="oslo_messaging_tracing")
    conf.register_opts(metrics.oslo_messaging_metrics, group="oslo_messaging_metrics")
    transport = oslo_messaging.get_rpc_transport(conf, url=url)
    # Registered by the driver above; read when its connections open, which is later.
    conf.set_override("control_exchange", exchange)
    conf.set_override("amqp_auto_delete", True, group="oslo_messaging_rabbit")
    conf.set_override("rabbit_transient_queues_ttl", 60, group="oslo_messaging_rabbit")
    return oslo_messaging, transport


def serve_oslo(url: str, exchange: str, topic: str) -> None:
    oslo_messaging, transport = oslo_transport(url, exchange)
    target = oslo_messaging.Target(topic=topic, server=SERVER, exchange=exchange)
    with warnings.catch_warnings():
        # Only the (deprecated) word is: threading is what it runs on either way.
        warnings.simplefilter("ignore", DeprecationWarning)
        server = oslo_messaging.get_rpc_server(transport, target, [OsloEndpoint()],
                                               executor="threading")
    server.start()
    print("ready", flush=True)
    threading.Event().wait()


def start_server(kind: str, url: str, exchange: str, topic: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", kind, "--url", url,
         "--exchange", exchange, "--topic", topic],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise SystemExit(f"the {kind} server did not start: {line!r}")
    return process


# --- the clients ----------------------------------------------------------------------


def bench_oslo(url: str, exchange: str, topic: str, calls: int, casts: int,
               payload: str) -> tuple[float, float]:
    oslo_messaging, transport = oslo_transport(url, exchange)
    target = oslo_messaging.Target(topic=topic, exchange=exchange)
    client = oslo_messaging.get_rpc_client(transport, target, timeout=60)
    direct = client.prepare(server=SERVER)
    for _ in range(100):  # warm up: connections, reply queue
        client.call({}, "echo", payload=payload)
    began = time.perf_counter()
    for _ in range(calls):
        client.call({}, "echo", payload=payload)
    call_rate = calls / (time.perf_counter() - began)

    direct.call({}, "reset")
    began = time.perf_counter()
    for _ in range(casts):
        client.cast({}, "record", payload=payload)
    direct.call({}, "wait_count", n=casts)
    cast_rate = casts / (time.perf_counter() - began)
    transport.cleanup()
    return call_rate, cast_rate


async def bench_novatx(url: str, exchange: str, topic: str, calls: int, casts: int,
                       payload: str) -> tuple[float, float]:
    from twisted.internet import defer

    from nova_tx.bus.amqp import AMQPBus
    from nova_tx.bus.rpc import RPCClient, Target
    from nova_tx.bus.url import TransportURL

    conf = novatx_conf(exchange)
    bus = AMQPBus(TransportURL.parse(url), conf, connection_name="bus_rpc.novatx.client")
    await bus.connect()
    try:
        client = RPCClient(bus, Target(topic=topic), conf=conf)
        direct = client.prepare(server=SERVER)
        for _ in range(100):
            await client.call({}, "echo", payload=payload)
        began = time.perf_counter()
        for _ in range(calls):
            await client.call({}, "echo", payload=payload)
        call_rate = calls / (time.perf_counter() - began)

        await direct.call({}, "reset")
        began = time.perf_counter()
        sent = [client.cast({}, "record", payload=payload) for _ in range(casts)]
        await direct.call({}, "wait_count", n=casts)
        cast_rate = casts / (time.perf_counter() - began)
        await defer.gatherResults(sent)
    finally:
        await bus.close()
    return call_rate, cast_rate


async def delete_exchanges(url: str, names: list[str]) -> None:
    """Exchanges outlive their queues unless they auto-delete; remove ours."""
    from nova_tx.bus.amqp import AMQPBus
    from nova_tx.bus.url import TransportURL
    from tests.bus import make_conf

    admin = AMQPBus(TransportURL.parse(url), make_conf(), connection_name="bus_rpc.admin")
    await admin.connect()
    try:
        connection = admin._connection
        for name in names:
            channel = await connection.open_channel()
            try:
                await connection.call(channel.exchange_delete(exchange=name))
            finally:
                await connection.close_channel(channel)
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--casts", type=int, default=5000)
    parser.add_argument("--size", type=int, default=1024, help="payload bytes")
    parser.add_argument("--serve", choices=("novatx", "oslo"), help=argparse.SUPPRESS)
    parser.add_argument("--exchange", help=argparse.SUPPRESS)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "novatx":
        return serve_novatx(args.url, args.exchange, args.topic)
    if args.serve == "oslo":
        return serve_oslo(args.url, args.exchange, args.topic)

    run = f"bus_rpc.{uuid.uuid4().hex[:8]}"
    payload = "x" * args.size
    names = {kind: (f"{run}.{kind}", f"{run}.{kind}.topic") for kind in ("novatx", "oslo")}
    servers = {kind: start_server(kind, args.url, *names[kind]) for kind in names}
    results: dict[str, tuple[float, float]] = {}
    try:
        results["oslo"] = bench_oslo(args.url, *names["oslo"], args.calls, args.casts,
                                     payload)

        from twisted.internet import defer, task

        async def novatx(reactor) -> None:
            results["novatx"] = await bench_novatx(args.url, *names["novatx"], args.calls,
                                                   args.casts, payload)
            for server in servers.values():
                server.kill()
                server.wait()
            leftovers = [name for kind in names
                         for name in (names[kind][0], f"{names[kind][1]}_fanout")]
            await delete_exchanges(args.url, leftovers)

        try:
            task.react(lambda reactor: defer.Deferred.fromCoroutine(novatx(reactor)))
        except SystemExit as e:
            if e.code:
                raise
    finally:
        for server in servers.values():
            if server.poll() is None:
                server.kill()
                server.wait()
    report(results, args)


def report(results: dict[str, tuple[float, float]], args: argparse.Namespace) -> None:
    print(f"bus_rpc: {args.calls} sequential calls, {args.casts} pipelined casts, "
          f"{args.size}-byte payload")
    print(f"{'':16}{'calls/s':>10}{'casts/s':>10}")
    for kind, label in (("novatx", "nova-tx"), ("oslo", "oslo.messaging")):
        call_rate, cast_rate = results[kind]
        print(f"{label:16}{call_rate:10.0f}{cast_rate:10.0f}")
    call_ratio = results["novatx"][0] / results["oslo"][0]
    cast_ratio = results["novatx"][1] / results["oslo"][1]
    print(f"ratio call={call_ratio:.2f} cast={cast_ratio:.2f}")


if __name__ == "__main__":
    main()
