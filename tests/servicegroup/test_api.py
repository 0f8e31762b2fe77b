"""Up/down by spec C §16 and the heartbeat's timer, on a Clock."""
from __future__ import annotations

import datetime
import logging

from twisted.internet import defer, task
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.objects.service import SERVICE_VERSION, Service
from nova_tx.servicegroup import api
from tests.bus import LogCapture
from tests.servicegroup import make_conf

T0 = datetime.datetime(2022, 10, 5, 12, 0, 0)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def record(**values) -> Service:
    fields = dict(id=1, uuid="u", host="h", binary="nova-compute", topic="compute",
                  created_at=T0)
    fields.update(values)
    return Service(**fields)


class ServiceIsUpTest(unittest.SynchronousTestCase):
    def test_up_within_service_down_time_of_last_seen_up(self):
        conf = make_conf()  # report_interval 10, service_down_time 60
        service = record(last_seen_up=at(100))
        self.assertTrue(api.service_is_up(service, at(160), conf))
        self.assertFalse(api.service_is_up(service, at(160.5), conf))

    def test_created_at_counts_before_the_first_report(self):
        conf = make_conf()
        service = record()
        self.assertTrue(api.service_is_up(service, at(60), conf))
        self.assertFalse(api.service_is_up(service, at(61), conf))

    def test_the_difference_is_absolute(self):
        conf = make_conf()
        service = record(last_seen_up=at(100))
        self.assertTrue(api.service_is_up(service, at(40), conf))
        self.assertFalse(api.service_is_up(service, at(39), conf))

    def test_forced_down_is_down_even_when_fresh(self):
        self.assertFalse(api.service_is_up(record(forced_down=True, last_seen_up=at(0)),
                                           at(0), make_conf()))

    def test_no_timestamp_at_all_is_down(self):
        self.assertFalse(api.service_is_up(record(created_at=None), at(0), make_conf()))

    def test_now_may_be_reactor_seconds(self):
        clock = task.Clock()
        clock.advance(T0.replace(tzinfo=datetime.UTC).timestamp() + 30)
        self.assertTrue(api.service_is_up(record(), clock.seconds(), make_conf()))
        clock.advance(31)
        self.assertFalse(api.service_is_up(record(), clock.seconds(), make_conf()))

    def test_down_time_not_above_report_interval_becomes_two_and_a_half_intervals(self):
        conf = make_conf(report_interval=10, service_down_time=5)
        self.assertEqual(25, api.effective_service_down_time(conf))
        service = record(last_seen_up=at(0))
        self.assertTrue(api.service_is_up(service, at(25), conf))
        self.assertFalse(api.service_is_up(service, at(26), conf))
        conf = make_conf(report_interval=3, service_down_time=3)
        self.assertEqual(7, api.effective_service_down_time(conf))  # int(7.5)

    def test_override_is_logged_as_a_warning(self):
        logs = LogCapture(self, "nova_tx.servicegroup")
        api.effective_service_down_time(make_conf(report_interval=10, service_down_time=5),
                                        warn=True)
        warnings = [r.getMessage() for r in logs.records if r.levelno == logging.WARNING]
        self.assertEqual(1, len(warnings))
        self.assertIn("using 25 seconds", warnings[0])

    def test_report_interval_zero_keeps_service_down_time(self):
        conf = make_conf(report_interval=0, service_down_time=60)
        self.assertEqual(60, api.effective_service_down_time(conf))


class FakeRecords:
    """``ServiceRecords`` in a dict; ``fail`` makes every call fail with it."""

    def __init__(self, clock: task.Clock):
        self.clock = clock
        self.rows: dict[int, Service] = {}
        self.fail: Exception | None = None
        self.calls: list[str] = []

    def _now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock.seconds(), datetime.UTC
                                               ).replace(tzinfo=None)

    def _check(self, name: str) -> None:
        self.calls.append(name)
        if self.fail is not None:
            raise self.fail

    @defer.inlineCallbacks
    def _noop(self):
        yield None

    def get_by_host_and_binary(self, host, binary):
        self._check("get")
        for row in self.rows.values():
            if (row.host, row.binary) == (host, binary):
                return defer.succeed(row)
        return defer.fail(exception.HostBinaryNotFound(host=host, binary=binary))

    def create(self, values):
        self._check("create")
        row = Service(id=len(self.rows) + 1, uuid="u", created_at=self._now(), **values)
        self.rows[row.id] = row
        return defer.succeed(row)

    def update(self, service_id, values):
        self._check("update")
        import dataclasses

        self.rows[service_id] = dataclasses.replace(self.rows[service_id], **values)
        return defer.succeed(self.rows[service_id])

    def report(self, service_id):
        import dataclasses

        try:
            self._check("report")
        except Exception as e:
            return defer.fail(e)
        if service_id not in self.rows:
            return defer.fail(exception.ServiceNotFound(service_id=service_id))
        row = self.rows[service_id]
        self.rows[service_id] = dataclasses.replace(
            row, report_count=row.report_count + 1, last_seen_up=self._now())
        return defer.succeed(self.rows[service_id])


class HeartbeatTest(unittest.SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.clock.advance(T0.replace(tzinfo=datetime.UTC).timestamp())
        self.records = FakeRecords(self.clock)
        self.logs = LogCapture(self, "nova_tx.servicegroup")

    def start(self, **conf) -> api.Heartbeat:
        self.conf = make_conf(host="node1", **conf)
        heartbeat = api.Heartbeat(self.records, self.conf, binary="nova-compute",
                                  topic="compute", reactor=self.clock)
        heartbeat.startService()
        self.addCleanup(heartbeat.stopService)
        return heartbeat

    def is_up(self) -> bool:
        return api.service_is_up(self.records.rows[1], self.clock.seconds(), self.conf)

    def test_records_itself_at_start_then_first_report_after_five_seconds(self):
        heartbeat = self.start(report_interval=10)
        row = self.records.rows[1]
        self.assertEqual(("node1", "nova-compute", "compute", 0, SERVICE_VERSION),
                         (row.host, row.binary, row.topic, row.report_count, row.version))
        self.assertEqual(row, heartbeat.service_ref)
        self.clock.advance(4.9)
        self.assertEqual(0, self.records.rows[1].report_count)
        self.clock.advance(0.1)
        self.assertEqual(1, self.records.rows[1].report_count)
        self.clock.advance(10)
        self.assertEqual(2, self.records.rows[1].report_count)
        self.clock.pump([10, 10, 10])
        self.assertEqual(5, self.records.rows[1].report_count)
        self.assertTrue(self.is_up())

    def test_an_existing_record_is_reused_and_its_version_updated(self):
        self.records.rows[1] = record(host="node1", version=1)
        heartbeat = self.start()
        self.assertEqual(["get", "update"], self.records.calls)
        self.assertEqual(SERVICE_VERSION, heartbeat.service_ref.version)

    def test_stopping_stops_the_reports_and_the_service_goes_down(self):
        heartbeat = self.start(report_interval=1, service_down_time=3)
        self.clock.advance(6)
        self.assertTrue(self.is_up())
        heartbeat.stopService()
        count = self.records.rows[1].report_count
        self.clock.advance(3)
        self.assertEqual(count, self.records.rows[1].report_count)
        self.assertTrue(self.is_up())
        self.clock.advance(0.5)
        self.assertFalse(self.is_up())

    def test_a_failing_report_does_not_stop_the_timer_and_recovery_is_logged(self):
        self.start(report_interval=10)
        self.clock.advance(5)
        self.records.fail = RuntimeError("conductor went away")
        self.clock.advance(10)
        self.clock.advance(10)
        self.assertEqual(1, self.records.rows[1].report_count)
        self.records.fail = None
        self.clock.advance(10)
        self.assertEqual(2, self.records.rows[1].report_count)
        messages = self.logs.messages()
        self.assertEqual(1, sum("heartbeat failed" in m for m in messages))
        self.assertIn("conductor went away", [m for m in messages if "failed" in m][0])
        self.assertEqual(1, sum("heartbeat recovered" in m for m in messages))

    def test_failing_to_record_at_start_is_retried_by_the_timer(self):
        self.records.fail = RuntimeError("no conductor yet")
        heartbeat = self.start(report_interval=10)
        self.assertIsNone(heartbeat.service_ref)
        self.records.fail = None
        self.clock.advance(5)
        self.assertEqual(1, heartbeat.service_ref.id)
        self.clock.advance(10)
        self.assertEqual(1, self.records.rows[1].report_count)

    def test_a_deleted_record_is_logged_as_an_error(self):
        self.start(report_interval=10)
        del self.records.rows[1]
        self.clock.advance(5)
        errors = self.logs.messages(logging.ERROR)
        self.assertEqual(1, len(errors))
        self.assertIn("was deleted", errors[0])

    def test_report_interval_zero_records_but_never_reports(self):
        self.start(report_interval=0, service_down_time=60)
        self.assertEqual(1, len(self.records.rows))
        self.clock.advance(60)
        self.assertEqual(0, self.records.rows[1].report_count)
        self.assertTrue(self.is_up())
        self.clock.advance(1)
        self.assertFalse(self.is_up())
        self.assertIn("heartbeats are disabled", "\n".join(self.logs.messages()))

    def test_the_override_warning_is_logged_at_start(self):
        self.start(report_interval=10, service_down_time=5)
        self.assertIn("using 25 seconds", "\n".join(self.logs.messages(logging.WARNING)))
        self.clock.advance(5)
        self.clock.advance(24)
        self.assertTrue(self.is_up())


class SlowJoinTest(unittest.SynchronousTestCase):
    def test_a_tick_does_not_overlap_a_join_still_waiting(self):
        clock = task.Clock()
        answers: list[defer.Deferred] = []

        class SlowRecords(FakeRecords):
            def get_by_host_and_binary(self, host, binary):
                self.calls.append("get")
                answers.append(defer.Deferred())
                return answers[-1]

        records = SlowRecords(clock)
        heartbeat = api.Heartbeat(records, make_conf(host="node1"), binary="nova-compute",
                                  topic="compute", reactor=clock)
        heartbeat.startService()
        clock.pump([5, 10, 10])
        self.assertEqual(["get"], records.calls)
        answers[0].errback(exception.HostBinaryNotFound(host="node1", binary="nova-compute"))
        self.assertEqual(["get", "create"], records.calls)
        heartbeat.stopService()
