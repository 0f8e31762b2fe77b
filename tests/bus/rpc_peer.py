"""The other process of the two-process bus tests: an RPC server on ``AMQPBus``.

A test in one process and an ``RPCServer`` in another share nothing but the broker, so
what passes between them is exactly what the wire carries. The peer prints ``ready``
once it consumes, and keeps what it was cast so that the test can ask for it by a call
(``received``) rather than parse the peer's output.

    python -m tests.bus.rpc_peer --url rabbit://... --exchange X --topic T --server S
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from twisted.internet import defer, task

from nova_tx.bus.amqp import AMQPBus
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.bus.url import TransportURL
from tests.bus import make_conf


class PeerEndpoint:
    """Methods for calls (answers), casts (kept) and failures (raised remotely)."""

    target = Target(version="1.0")

    def __init__(self, server: str, reactor=None, cast_delay: float = 0.0):
        self.server = server
        self.casts: list[Any] = []
        self._reactor = reactor
        self._cast_delay = cast_delay

    def echo(self, ctxt, value: Any) -> Any:
        return value

    def whoami(self, ctxt) -> dict[str, Any]:
        return {"server": self.server, "pid": os.getpid()}

    def fail(self, ctxt, message: str) -> None:
        raise ValueError(message)

    async def record(self, ctxt, value: Any) -> None:
        self.casts.append(value)
        if self._cast_delay:
            # A slow consumer, so that casts pile up in the queue (what a broker
            # restart must not lose).
            await task.deferLater(self._reactor, self._cast_delay, lambda: None)

    def received(self, ctxt) -> list[Any]:
        return self.casts


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--exchange", required=True, help="the control exchange")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--durable", action="store_true",
                        help="amqp_durable_queues = True (and no auto-delete)")
    parser.add_argument("--cast-delay", type=float, default=0.0,
                        help="seconds each cast takes, one at a time")
    return parser.parse_args(argv)


async def serve(reactor, args: argparse.Namespace) -> None:
    rabbit = {"kombu_reconnect_delay": 0.1, "rabbit_retry_interval": 0.2,
              "rabbit_retry_backoff": 0.2, "rabbit_interval_max": 1,
              "rabbit_transient_queues_ttl": 30,
              "amqp_durable_queues": args.durable, "amqp_auto_delete": not args.durable}
    slots = {"executor_thread_pool_size": 1} if args.cast_delay else {}
    conf = make_conf(control_exchange=args.exchange, **slots,
                     **{f"oslo_messaging_rabbit__{k}": v for k, v in rabbit.items()})
    bus = AMQPBus(TransportURL.parse(args.url), conf,
                  connection_name=f"nova-tx-test.peer.{args.server}")
    await bus.connect()
    server = RPCServer(bus, Target(topic=args.topic, server=args.server),
                       [PeerEndpoint(args.server, reactor, args.cast_delay)], conf=conf,
                       stop_timeout=2)
    await server.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    # Runs until the test kills it; stdin closing (the test went away) ends it too.
    done: defer.Deferred = defer.Deferred()
    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: done.called or done.callback(None))
    from twisted.internet import stdio
    from twisted.internet.protocol import Protocol

    class _StdinWatch(Protocol):
        def connectionLost(self, reason=None) -> None:
            if not done.called:
                done.callback(None)

    stdio.StandardIO(_StdinWatch(), stdout=os.open(os.devnull, os.O_WRONLY))
    await done
    await server.stop()
    await bus.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    task.react(lambda reactor: defer.Deferred.fromCoroutine(serve(reactor, args)))


if __name__ == "__main__":
    main()
