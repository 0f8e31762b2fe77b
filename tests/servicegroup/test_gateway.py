"""The conductor's database gateway over a MemoryBus and a SQLite cell database."""
from __future__ import annotations

import datetime

import sqlalchemy as sa
from twisted.internet import defer
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.bus.exception import RPCVersionCapError
from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.bus.rpc import RPCServer, Target
from nova_tx.conductor.manager import ConductorManager
from nova_tx.conductor.rpcapi import ConductorAPI
from nova_tx.context import RequestContext
from nova_tx.db import engines
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.db.main import services
from nova_tx.db.pool import DBThreadPool
from nova_tx.objects.service import Service
from nova_tx.servicegroup.api import DatabaseServiceRecords
from tests.servicegroup import make_conf, sqlite_cell_database


class GatewayTest(unittest.TestCase):
    timeout = 20

    def setUp(self):
        self.conf = make_conf(host="conductor1", rpc_response_timeout=5)
        self.engine = engines.create_engine(sqlite_cell_database(self))
        self.pool = DBThreadPool(self.engine)
        self.pool.start()
        self.addCleanup(self.pool.stop)
        broker = MemoryBroker()
        server_bus, client_bus = MemoryBus(broker), MemoryBus(broker)
        self.server = RPCServer(
            server_bus, Target(topic="conductor", server="conductor1"),
            [ConductorManager(DatabaseServiceRecords(self.pool))], conf=self.conf)
        self.addCleanup(client_bus.close)
        self.addCleanup(server_bus.close)
        self.addCleanup(self.server.stop)
        self.api = ConductorAPI(client_bus, self.conf)
        self.ctxt = RequestContext(is_admin=True)
        return defer.gatherResults([server_bus.connect(), client_bus.connect()]
                                   ).addCallback(lambda _: self.server.start())

    async def create(self, host: str = "compute1") -> Service:
        return await self.api.service_create(
            self.ctxt, {"host": host, "binary": "nova-compute", "topic": "compute",
                        "version": 64})

    @defer.inlineCallbacks
    def test_create_then_get_by_host_and_binary(self):
        created = yield defer.Deferred.fromCoroutine(self.create())
        self.assertIsInstance(created, Service)
        self.assertEqual(("compute1", "nova-compute", "compute", 0, 64, False, False),
                         (created.host, created.binary, created.topic, created.report_count,
                          created.version, created.disabled, created.forced_down))
        self.assertIsInstance(created.created_at, datetime.datetime)
        self.assertIsNone(created.last_seen_up)
        self.assertEqual(36, len(created.uuid))
        found = yield self.api.service_get_by_host_and_binary(
            self.ctxt, "compute1", "nova-compute")
        self.assertEqual(created, found)

    @defer.inlineCallbacks
    def test_report_increments_report_count_and_sets_last_seen_up(self):
        created = yield defer.Deferred.fromCoroutine(self.create())
        first = yield self.api.service_report(self.ctxt, created.id)
        second = yield self.api.service_report(self.ctxt, created.id)
        self.assertEqual((1, 2), (first.report_count, second.report_count))
        self.assertIsNotNone(first.last_seen_up)
        self.assertGreaterEqual(second.last_seen_up, first.last_seen_up)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(services.services)
                               .where(services.services.c.id == created.id)).one()
        self.assertEqual((2, second.last_seen_up), (row.report_count, row.last_seen_up))

    @defer.inlineCallbacks
    def test_update_changes_what_a_service_may_change(self):
        created = yield defer.Deferred.fromCoroutine(self.create())
        updated = yield self.api.service_update(self.ctxt, created.id,
                                                {"version": 65, "disabled": True})
        self.assertEqual((65, True), (updated.version, updated.disabled))
        with self.assertRaises(exception.Invalid):
            yield self.api.service_update(self.ctxt, created.id, {"report_count": 99})

    @defer.inlineCallbacks
    def test_unknown_host_and_binary_comes_back_as_itself(self):
        with self.assertRaises(exception.HostBinaryNotFound) as caught:
            yield self.api.service_get_by_host_and_binary(self.ctxt, "nowhere",
                                                          "nova-compute")
        self.assertEqual("Could not find binary nova-compute on host nowhere.",
                         caught.exception.format_message())

    @defer.inlineCallbacks
    def test_report_of_an_unknown_service_is_service_not_found(self):
        with self.assertRaises(exception.ServiceNotFound) as caught:
            yield self.api.service_report(self.ctxt, 4242)
        self.assertIsInstance(caught.exception, exception.NotFound)
        self.assertIn("4242", caught.exception.format_message())

    @defer.inlineCallbacks
    def test_a_second_record_for_the_same_host_and_binary_is_refused(self):
        yield defer.Deferred.fromCoroutine(self.create())
        with self.assertRaises(DBDuplicateEntry):
            yield defer.Deferred.fromCoroutine(self.create())

    def test_upgrade_level_caps_the_version_sent(self):
        conf = make_conf(upgrade_levels__conductor="0.9")
        api = ConductorAPI(MemoryBus(MemoryBroker()), conf)
        d = api.service_report(self.ctxt, 1)
        return self.assertFailure(d, RPCVersionCapError)


class ServiceCreateNotificationTest(unittest.TestCase):
    """``service.create`` when a record is made, as Nova's sample, from the new
    service's binary and host (a compute's record is written by the conductor)."""

    async def test_service_create_like_the_sample(self):
        from nova_tx.bus.interfaces import TOPIC, Binding
        from nova_tx.bus.notifier import get_versioned_notifier
        from tests.api.flavor_server import notification_sample
        from tests.api.test_server_notifications import resolved, shape
        from tests.bus import Collector

        conf = make_conf(host="conductor1")
        conf.set_override("driver", ["messagingv2"], group="oslo_messaging_notifications")
        conf.set_override("notification_format", "versioned", group="notifications")
        engine = engines.create_engine(sqlite_cell_database(self))
        self.addCleanup(engine.dispose)
        pool = DBThreadPool(engine)
        pool.start()
        self.addCleanup(pool.stop)
        bus = MemoryBus(MemoryBroker())
        await bus.connect()
        self.addCleanup(bus.close)
        bus.declare_exchange(conf.control_exchange, TOPIC)
        bus.declare_queue("versioned_notifications.info",
                          [Binding(conf.control_exchange, "versioned_notifications.info")])
        collector = Collector()
        bus.consume("versioned_notifications.info", collector)
        records = DatabaseServiceRecords(
            pool, get_versioned_notifier(bus, conf, "nova-conductor:conductor1"))
        created = await records.create({"host": "host2", "binary": "nova-compute",
                                        "topic": "compute", "version": 64})
        import json

        from twisted.internet import reactor, task

        for _ in range(50):  # the notification is sent, not waited for
            if collector.bodies:
                break
            await task.deferLater(reactor, 0.02, lambda: None)
        [sent] = [json.loads(m["oslo.message"]) for m in collector.decoded()]
        expected = resolved(notification_sample("service-create.json"))
        self.assertEqual(shape(expected["payload"]), shape(sent["payload"]))
        self.assertEqual(("service.create", "nova-compute:host2", "INFO"),
                         (sent["event_type"], sent["publisher_id"], sent["priority"]))
        self.assertEqual(created.uuid, sent["payload"]["nova_object.data"]["uuid"])
