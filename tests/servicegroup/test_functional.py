"""A compute-like service with no database configuration heartbeats through a running
conductor and shows up, and down once it stops: on the memory bus (the all-in-one's)
and on the machine's RabbitMQ.

Real time is unavoidable here (the services run on the reactor, the database stamps
wall-clock time): report_interval 1 and service_down_time 3 keep each test near 10 s,
most of it Nova's fixed 5 s before the first report.
"""
from __future__ import annotations

import uuid

from twisted.internet import defer, reactor, task
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.compute.service import ComputeService
from nova_tx.conductor.service import ConductorService
from nova_tx.objects.service import Service
from nova_tx.servicegroup.api import service_is_up
from tests.bus import wait_until
from tests.bus.test_amqp import IN_CI, UNREACHABLE
from tests.servicegroup import make_conf, sqlite_cell_database


def sleep(seconds: float) -> defer.Deferred:
    return task.deferLater(reactor, seconds, lambda: None)


class HeartbeatThroughConductorMixin:
    timeout = 30

    def bus_options(self) -> dict:
        raise NotImplementedError

    def setUp(self):
        options = dict(report_interval=1, service_down_time=3, rpc_response_timeout=5,
                       **self.bus_options())
        self.conductor_conf = make_conf(host="conductor-host",
                                        database__connection=sqlite_cell_database(self),
                                        **options)
        self.compute_conf = make_conf(host="compute-host", **options)
        self.assertIsNone(self.compute_conf.database.connection)
        self.conductor = ConductorService(self.conductor_conf)
        self.compute = ComputeService(self.compute_conf)
        # Cleanups run last first: the compute stops before the conductor.
        self.addCleanup(self._stop, self.conductor)
        self.conductor.startService()
        self.addCleanup(self._stop, self.compute)
        return self.conductor.started

    def _stop(self, service) -> defer.Deferred | None:
        return service.stopService() if service.running else None

    async def record(self) -> Service | None:
        try:
            return await self.conductor.records.get_by_host_and_binary(
                "compute-host", "nova-compute")
        except exception.HostBinaryNotFound:
            return None

    async def is_up(self) -> bool:
        record = await self.record()
        return record is not None and service_is_up(record, reactor.seconds(),
                                                    self.conductor_conf)

    @defer.inlineCallbacks
    def test_compute_heartbeats_through_the_conductor_then_goes_down(self):
        self.compute.startService()
        yield self.compute.started
        yield defer.Deferred.fromCoroutine(
            wait_until(lambda: self.compute.heartbeat.service_ref is not None, timeout=10))
        record = yield defer.Deferred.fromCoroutine(self.record())
        self.assertEqual(("compute", 0), (record.topic, record.report_count))
        self.assertTrue((yield defer.Deferred.fromCoroutine(self.is_up())))

        # The first report comes 5 s after the start, then one a second.
        yield defer.Deferred.fromCoroutine(wait_until(
            lambda: (self.compute.heartbeat.service_ref.report_count or 0) >= 2,
            timeout=10))
        record = yield defer.Deferred.fromCoroutine(self.record())
        self.assertGreaterEqual(record.report_count, 2)
        self.assertIsNotNone(record.last_seen_up)
        self.assertTrue((yield defer.Deferred.fromCoroutine(self.is_up())))

        yield self.compute.stopService()
        stopped_count = (yield defer.Deferred.fromCoroutine(self.record())).report_count
        yield sleep(1.5)
        self.assertTrue((yield defer.Deferred.fromCoroutine(self.is_up())))
        yield sleep(2.5)
        record = yield defer.Deferred.fromCoroutine(self.record())
        self.assertEqual(stopped_count, record.report_count)
        self.assertFalse((yield defer.Deferred.fromCoroutine(self.is_up())))


class MemoryBusHeartbeatTest(HeartbeatThroughConductorMixin, unittest.TestCase):
    def bus_options(self) -> dict:
        return {"transport_url": f"memory:///heartbeat-{uuid.uuid4().hex[:8]}"}


class RabbitHeartbeatTest(HeartbeatThroughConductorMixin, unittest.TestCase):
    """Two services in one process, each on its own AMQP connection; a control exchange
    of the test's own and auto-deleting queues leave nothing on the broker."""

    if UNREACHABLE and not IN_CI:
        skip = f"{UNREACHABLE}; with CI=true this is a failure"

    def setUp(self):
        if UNREACHABLE:
            self.fail(f"{UNREACHABLE}, and CI=true requires a broker for this test")
        return super().setUp()

    def bus_options(self) -> dict:
        return {"transport_url": "rabbit://guest:guest@127.0.0.1:5672/",
                "control_exchange": f"nova-tx-test.heartbeat.{uuid.uuid4().hex[:8]}",
                "oslo_messaging_rabbit__amqp_auto_delete": True,
                "oslo_messaging_rabbit__rabbit_transient_queues_ttl": 10}
