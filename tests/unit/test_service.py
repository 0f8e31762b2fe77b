"""NovaService's lifecycle: prepare, start, a stop that arrives while preparing, failures."""
from oslo_config import cfg
from twisted.application import service
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.service import NovaService


class Child(service.Service):
    started = 0

    def startService(self):
        super().startService()
        self.started += 1


class Preparing(NovaService):
    """prepare() waits on ``gate`` and, however it ends, cleans up by awaiting ``closing``."""

    def __init__(self, reactor):
        conf = cfg.ConfigOpts()
        conf([], project="nova")
        super().__init__("nova-test", conf, reactor=reactor)
        self.gate: defer.Deferred = defer.Deferred()
        self.closing: defer.Deferred = defer.Deferred()
        self.closed = False
        self.child = Child()
        self.child.setServiceParent(self)

    async def prepare(self) -> None:
        try:
            await self.gate
        finally:
            await self.closing
            self.closed = True


class LifecycleTest(unittest.SynchronousTestCase):
    def setUp(self):
        self.reactor = MemoryReactorClock()
        self.reactor.running = True
        self.daemon = Preparing(self.reactor)

    def test_children_start_after_prepare(self):
        self.daemon.startService()
        self.assertEqual(0, self.daemon.child.started)
        self.daemon.closing.callback(None)
        self.daemon.gate.callback(None)
        self.assertEqual(1, self.daemon.child.started)
        self.assertEqual(0, self.daemon.exit_code)
        self.successResultOf(self.daemon.stopService())
        self.assertFalse(self.daemon.child.running)

    def test_stop_while_preparing_waits_for_its_cleanup(self):
        self.daemon.startService()
        stopped = self.daemon.stopService()
        # prepare() was cancelled but is still closing what it opened: not stopped yet.
        self.assertNoResult(stopped)
        self.daemon.closing.callback(None)
        self.successResultOf(stopped)
        self.assertTrue(self.daemon.closed)
        self.assertEqual(0, self.daemon.child.started)
        self.assertEqual(0, self.daemon.exit_code)
        self.assertFalse(self.reactor.hasStopped)

    def test_failed_prepare_stops_the_reactor_with_status_1(self):
        self.daemon.startService()
        self.daemon.closing.callback(None)
        self.daemon.gate.errback(exception.ConfigError(reason="no database"))
        self.assertEqual(1, self.daemon.exit_code)
        self.assertTrue(self.reactor.hasStopped)
        self.assertEqual(0, self.daemon.child.started)

    def test_a_failed_child_fails_its_parent(self):
        parent = Preparing(self.reactor)
        self.daemon.setServiceParent(parent)
        self.daemon._failed = True
        self.assertEqual(1, parent.exit_code)


class Resettable(service.Service):
    resets = 0

    def reset(self):
        self.resets += 1


class ImmediateReactor:
    def callFromThread(self, f, *args):
        f(*args)


class SighupTest(unittest.SynchronousTestCase):

    def test_sighup_reloads_and_resets_the_whole_tree(self):
        import os
        import signal

        previous = signal.getsignal(signal.SIGHUP)
        self.addCleanup(signal.signal, signal.SIGHUP, previous)
        conf = cfg.ConfigOpts()
        conf([], project="nova")
        daemon = NovaService("nova-test", conf, reactor=MemoryReactorClock())
        inner = NovaService("nova-inner", conf, reactor=MemoryReactorClock())
        inner.setServiceParent(daemon)
        direct, nested = Resettable(), Resettable()
        direct.setServiceParent(daemon)
        nested.setServiceParent(inner)
        Child().setServiceParent(daemon)  # a child without reset() is left alone

        from nova_tx.service import install_sighup

        install_sighup(ImmediateReactor(), conf, daemon)
        os.kill(os.getpid(), signal.SIGHUP)
        self.assertEqual((1, 1), (direct.resets, nested.resets))
