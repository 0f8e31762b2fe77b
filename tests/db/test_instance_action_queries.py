"""``nova_tx.db.main.instance_actions``: actions and their events, newest first, paged
by request id and filtered on ``updated_at``, on each backend."""
from __future__ import annotations

import datetime
import uuid as uuidlib

from twisted.trial import unittest

from nova_tx import exception
from nova_tx.db.main import instance_actions, instances
from nova_tx.objects.instance import Instance
from tests.db.fixtures import engine_for, migrated_database_url

T0 = datetime.datetime(2022, 9, 21, 12, 0, 0)


class InstanceActionQueriesTests:
    backend: str

    def setUp(self):
        url = migrated_database_url(self, self.backend, "main", purpose="instance-actions")
        self.conn = engine_for(self, url).connect()
        self.addCleanup(self.conn.close)
        self.addCleanup(self.conn.begin().rollback)
        self.uuid = str(uuidlib.uuid4())
        instances.create(self.conn, Instance(uuid=self.uuid, project_id="p1", user_id="u1"))

    def act(self, request_id: str, action: str = "reboot"):
        return instance_actions.create(self.conn, action=action, instance_uuid=self.uuid,
                                       request_id=request_id, user_id="u1", project_id="p1")

    def test_create_get_and_finish(self):
        made = self.act("req-1", "create")
        got = instance_actions.get_by_request_id(self.conn, self.uuid, "req-1")
        self.assertEqual(made, got)
        finished = instance_actions.finish(self.conn, self.uuid, "req-1")
        self.assertIsNotNone(finished.finish_time)
        self.assertRaises(exception.InstanceActionNotFound,
                          instance_actions.get_by_request_id, self.conn, self.uuid, "req-2")
        self.assertRaises(exception.InstanceActionNotFound,
                          instance_actions.get_by_request_id, self.conn, str(uuidlib.uuid4()),
                          "req-1")

    def test_events_start_and_finish_and_an_error_marks_the_action(self):
        action = self.act("req-1")
        instance_actions.event_start(self.conn, self.uuid, "req-1", "compute_reboot",
                                     host="h1")
        instance_actions.event_start(self.conn, self.uuid, "req-1", "compute_other")
        event = instance_actions.event_finish(
            self.conn, self.uuid, "req-1", "compute_reboot", result="Error",
            traceback="Traceback...", details="boom")
        self.assertEqual(("Error", "Traceback...", "boom", "h1"),
                         (event.result, event.traceback, event.details, event.host))
        self.assertEqual("Error", instance_actions.get_by_request_id(
            self.conn, self.uuid, "req-1").message)
        events = instance_actions.get_events(self.conn, action.id)
        self.assertEqual(["compute_other", "compute_reboot"], [e.event for e in events])
        self.assertRaises(exception.InstanceActionEventNotFound,
                          instance_actions.event_finish, self.conn, self.uuid, "req-1",
                          "never", result="Success")
        self.assertRaises(exception.InstanceActionNotFound, instance_actions.event_start,
                          self.conn, self.uuid, "req-9", "x")

    def test_list_newest_first_with_marker_and_limit(self):
        for i in range(4):
            self.act(f"req-{i}")
        listed = [a.request_id for a in instance_actions.get_by_instance(self.conn, self.uuid)]
        self.assertEqual(["req-3", "req-2", "req-1", "req-0"], listed)
        page = instance_actions.get_by_instance(self.conn, self.uuid, limit=2,
                                                marker="req-3")
        self.assertEqual(["req-2", "req-1"], [a.request_id for a in page])
        self.assertRaises(exception.MarkerNotFound, instance_actions.get_by_instance,
                          self.conn, self.uuid, marker="nope")

    def test_changes_since_and_before_on_updated_at(self):
        old, new = self.act("old"), self.act("new")
        table = instance_actions.actions
        self.conn.execute(table.update().where(table.c.id == old.id).values(updated_at=T0))
        self.conn.execute(table.update().where(table.c.id == new.id)
                          .values(updated_at=T0 + datetime.timedelta(hours=2)))
        middle = T0 + datetime.timedelta(hours=1)
        since = instance_actions.get_by_instance(self.conn, self.uuid,
                                                 filters={"changes-since": middle})
        before = instance_actions.get_by_instance(self.conn, self.uuid,
                                                  filters={"changes-before": middle})
        self.assertEqual((["new"], ["old"]), ([a.request_id for a in since],
                                              [a.request_id for a in before]))


class SQLiteInstanceActionQueriesTests(InstanceActionQueriesTests,
                                       unittest.SynchronousTestCase):
    backend = "sqlite"


class PostgreSQLInstanceActionQueriesTests(InstanceActionQueriesTests,
                                           unittest.SynchronousTestCase):
    backend = "postgresql"


class MySQLInstanceActionQueriesTests(InstanceActionQueriesTests,
                                      unittest.SynchronousTestCase):
    backend = "mysql"
