"""Worker processes sharing one listening socket (``[DEFAULT] osapi_compute_workers``).

The parent binds the socket and does not accept on it; it spawns ``count`` children,
each a fresh Python running :func:`main`, which adopts the socket
(``reactor.adoptStreamPort``) into its own reactor and serves it. The kernel spreads
the connections over the children. A child that dies is replaced (at most once a
second); stopping the parent sends SIGTERM to the children and waits for them, and a
child whose parent dies gets SIGTERM from the kernel (Linux) so none is left behind.

A child rebuilds its configuration from the parent's command line and builds its
service tree with ``builder(conf, listen_fd, family)`` (``module:function``).
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import sys
from collections.abc import Sequence

from oslo_config import cfg
from twisted.application import service
from twisted.internet import defer, error, protocol

from nova_tx import exception, log

LOG = log.getLogger(__name__)

#: File descriptors in a child: the shared socket, and the pipe it says "ready" on.
LISTEN_FD = 3
READY_FD = 4
#: Seconds a stopping child gets before SIGKILL.
STOP_TIMEOUT = 10.0


def bind_socket(host: str, port: int, backlog: int = 128) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host:port``."""
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def config_args(conf: cfg.ConfigOpts) -> list[str]:
    """The command line that gives a child the parent's configuration."""
    args = list(getattr(conf, "_args", None) or [])
    if args:
        return args
    result = []
    for path in conf.config_file or []:
        result += ["--config-file", path]
    for path in conf.config_dir or []:
        result += ["--config-dir", path]
    return result


class _Worker(protocol.ProcessProtocol):
    def __init__(self, pool: WorkerPool, index: int):
        self.pool = pool
        self.index = index
        self.ready = defer.Deferred()
        self.ended = defer.Deferred()
        self.pid: int | None = None

    def connectionMade(self) -> None:
        self.pid = self.transport.pid

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        if childFD == READY_FD and b"ready" in data and not self.ready.called:
            self.ready.callback(self.pid)

    def processEnded(self, reason) -> None:
        if not self.ready.called:
            self.ready.errback(exception.ConfigError(
                reason="%s worker %d exited before it was ready (%s)"
                % (self.pool.binary, self.index, reason.value)))
        self.ended.callback(reason.value)
        self.pool.worker_ended(self, reason.value)


class WorkerPool(service.Service):
    """The parent's side: the socket and the children serving it."""

    def __init__(self, conf: cfg.ConfigOpts, *, binary: str, host: str, port: int,
                 count: int, builder: str, reactor=None):
        if reactor is None:
            from twisted.internet import reactor
        self.conf = conf
        self.binary = binary
        self.host = host
        self.port = port
        self.count = count
        self.builder = builder
        self.reactor = reactor
        self.socket: socket.socket | None = None
        self.workers: dict[int, _Worker] = {}
        self._stopping = False
        self._last_restart = 0.0
        #: Fires when every first child has said it serves (or with the first failure).
        self.ready: defer.Deferred = defer.Deferred()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.socket.getsockname()[:2]
        return host, port

    def startService(self) -> None:
        service.Service.startService(self)
        self._stopping = False
        self.socket = bind_socket(self.host, self.port)
        host, port = self.address
        LOG.info("%s listening on %s:%d with %d worker processes", self.binary, host,
                 port, self.count)
        started = [self._spawn(index).ready for index in range(self.count)]
        ready = defer.gatherResults(started, consumeErrors=True)
        ready.addCallbacks(lambda pids: self.ready.callback(pids),
                           lambda failure: self.ready.errback(failure.value.subFailure))

    def _spawn(self, index: int) -> _Worker:
        worker = _Worker(self, index)
        argv = [sys.executable, "-m", "nova_tx.api.workers", "--binary", self.binary,
                "--builder", self.builder, "--family", str(int(self.socket.family)),
                "--", *config_args(self.conf)]
        self.reactor.spawnProcess(
            worker, sys.executable, argv, env=os.environ.copy(),
            childFDs={0: "w", 1: 1, 2: 2, LISTEN_FD: self.socket.fileno(), READY_FD: "r"})
        self.workers[index] = worker
        return worker

    def worker_ended(self, worker: _Worker, reason) -> None:
        if self.workers.get(worker.index) is not worker:
            return
        del self.workers[worker.index]
        if self._stopping or not self.running:
            return
        LOG.warning("%s worker %d (pid %s) ended: %s; starting another", self.binary,
                    worker.index, worker.pid, reason)
        now = self.reactor.seconds()
        delay = max(0.0, self._last_restart + 1.0 - now)
        self._last_restart = now + delay
        self.reactor.callLater(delay, self._respawn, worker.index)

    def _respawn(self, index: int) -> None:
        if not self._stopping and self.running and index not in self.workers:
            self._spawn(index).ready.addErrback(
                lambda failure: LOG.error("%s", exception.one_line(failure.value)))

    def reset(self) -> None:
        """SIGHUP of the parent: each child re-reads its configuration files too."""
        for worker in list(self.workers.values()):
            _signal(worker, "HUP")

    def worker_pids(self) -> list[int]:
        return sorted(w.pid for w in self.workers.values() if w.pid is not None)

    async def _stop(self) -> None:
        workers = list(self.workers.values())
        for worker in workers:
            _signal(worker, "TERM")
        ended = defer.DeferredList([w.ended for w in workers], consumeErrors=True)
        timer = self.reactor.callLater(
            STOP_TIMEOUT, lambda: [_signal(w, "KILL") for w in workers])
        await ended
        if timer.active():
            timer.cancel()
        if self.socket is not None:
            self.socket.close()
            self.socket = None
        if not self.ready.called:
            self.ready.errback(defer.CancelledError())
            self.ready.addErrback(lambda _: None)

    def stopService(self) -> defer.Deferred:
        self._stopping = True
        service.Service.stopService(self)
        return defer.ensureDeferred(self._stop())


def _signal(worker: _Worker, name: str) -> None:
    try:
        worker.transport.signalProcess(name)
    except (error.ProcessExitedAlready, OSError, AttributeError):
        pass


# -- the child ------------------------------------------------------------------------

def _die_with_parent() -> None:
    """SIGTERM when the parent dies (Linux); elsewhere the parent's SIGTERM must do."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nova-tx worker")
    parser.add_argument("--binary", required=True)
    parser.add_argument("--builder", required=True)
    parser.add_argument("--family", type=int, default=int(socket.AF_INET))
    parser.add_argument("config", nargs=argparse.REMAINDER)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    config_argv = list(args.config)
    if config_argv[:1] == ["--"]:
        config_argv = config_argv[1:]
    _die_with_parent()
    import importlib

    from nova_tx.service import configure, install_sighup

    try:
        conf = configure(args.binary, config_argv)
    except exception.ConfigError as e:
        print("%s worker: %s" % (args.binary, e.format_message()), file=sys.stderr)
        return 1
    from twisted.internet import reactor

    module_name, function = args.builder.split(":")
    build = getattr(importlib.import_module(module_name), function)
    daemon = build(conf, LISTEN_FD, args.family)

    def started(_=None) -> None:
        if daemon.exit_code:
            return
        try:
            os.write(READY_FD, b"ready\n")
            os.close(READY_FD)
        except OSError:
            pass

    def start() -> None:
        daemon.startService()
        if daemon.started is not None:
            daemon.started.addCallback(started)
        else:
            started()

    reactor.callWhenRunning(start)
    reactor.callWhenRunning(install_sighup, reactor, conf, daemon)
    reactor.addSystemEventTrigger("before", "shutdown", daemon.stopService)
    reactor.run()
    return daemon.exit_code


if __name__ == "__main__":
    sys.exit(main())
