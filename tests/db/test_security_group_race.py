"""Two servers of a project created at once both find no ``default`` security group:
the creation that loses the race takes the winner's row (Nova's
``security_group_ensure_default``) instead of failing the build with a duplicate."""
from __future__ import annotations

import datetime
import threading
import uuid

from twisted.trial import unittest

from nova_tx.db.main import instances
from tests.db.fixtures import engine_for, migrated_database_url


class SecurityGroupRaceTest(unittest.SynchronousTestCase):
    def test_losing_creation_takes_the_winners_group(self):
        engine = engine_for(self, migrated_database_url(self, "postgresql", "main"))
        project = uuid.uuid4().hex
        now = datetime.datetime(2026, 1, 1)
        winner = engine.connect()
        self.addCleanup(winner.close)
        transaction = winner.begin()
        # The winner has inserted its default group but not committed yet.
        [won] = instances._security_group_ids(winner, project, "u1", ["default"], now)
        found: list = []
        failed: list = []

        def loser() -> None:
            try:
                with engine.begin() as conn:
                    found.extend(instances._security_group_ids(
                        conn, project, "u2", ["default"], now))
            except Exception as e:  # the assertion below shows it
                failed.append(e)

        thread = threading.Thread(target=loser)
        thread.start()
        # The loser's insert waits on the winner's uncommitted row...
        thread.join(1.0)
        self.assertTrue(thread.is_alive())
        transaction.commit()
        thread.join(10)
        # ...then takes it.
        self.assertEqual(([], [won]), (failed, found))
