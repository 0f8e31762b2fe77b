"""Helpers of the nova-manage and nova-status tests: run a command in-process, build cells.

A command runs by calling its ``main()`` with a fresh ``ConfigOpts`` and with stdout and
stderr captured, so a case costs milliseconds instead of a process start. Migrating a
schema costs far more than a case, so each schema is migrated once per run into a
SQLite template that every deployment copies.
"""
from __future__ import annotations

import dataclasses
import datetime
import io
import logging
import os
import shutil
import sys
import tempfile
import uuid as uuidlib
from collections.abc import Callable, Sequence
from unittest import mock

import sqlalchemy as sa
from twisted.trial import unittest

from nova_tx.cmd import common
from nova_tx.db import engines, migration
from nova_tx.db.api import models as api_models
from nova_tx.db.main import models as main_models
from nova_tx.db.types import utcnow
from tests.db.fixtures import migrated_sqlite_file


@dataclasses.dataclass
class Outcome:
    rc: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"rc={self.rc}\n--- stdout\n{self.out}--- stderr\n{self.err}"


def run_main(main: Callable[..., int], argv: Sequence[str]) -> Outcome:
    """Run a command's ``main(argv, conf=...)`` in-process with its output captured.

    oslo.log's setup replaces the root logger's handlers and ``sys.excepthook``; both
    are put back so that one command's logging does not leak into the next test.
    """
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.excepthook)
    try:
        with mock.patch.object(sys, "stdout", out), mock.patch.object(sys, "stderr", err):
            rc = main(list(argv), conf=common.new_conf())
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        sys.excepthook = saved[2]
    return Outcome(rc, out.getvalue(), err.getvalue())


class Deployment:
    """SQLite databases and a nova.conf in a temporary directory of one test.

    ``api.sqlite`` is the API database; ``nova.sqlite`` is this host's ``[database]
    connection`` (cell1's database once a cell maps it) and ``nova_cell0.sqlite`` is
    where ``map_cell0`` puts cell0.
    """

    def __init__(self, testcase: unittest.TestCase):
        self.testcase = testcase
        self.dir = tempfile.mkdtemp(prefix="nova-tx-cmd-")
        testcase.addCleanup(shutil.rmtree, self.dir, True)
        self._engines: dict[str, sa.Engine] = {}
        testcase.addCleanup(self._dispose)
        self.api_url = self.url("api.sqlite")
        self.main_url = self.url("nova.sqlite")
        self.cell0_url = self.url("nova_cell0.sqlite")
        self.transport_url = "rabbit://nova:secret@mq1:5672/"
        self.conf_path = os.path.join(self.dir, "nova.conf")
        self.write_conf()

    def url(self, name: str) -> str:
        return "sqlite:///" + os.path.join(self.dir, name)

    def write_conf(self, text: str | None = None, **sections: dict[str, str]) -> str:
        """Write nova.conf: ``text`` as given, or the default sections updated."""
        if text is None:
            values = {
                "DEFAULT": {"transport_url": self.transport_url},
                "api_database": {"connection": self.api_url},
                "database": {"connection": self.main_url},
            }
            for section, options in sections.items():
                values.setdefault(section, {}).update(options)
            text = "".join(
                f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in options.items()
                                           if v is not None)
                for section, options in values.items())
        with open(self.conf_path, "w") as f:
            f.write(text)
        return self.conf_path

    def migrated(self, name: str, database: str) -> str:
        """The URL of ``name`` in this directory, a copy of the migrated template."""
        shutil.copy(migrated_sqlite_file(database), os.path.join(self.dir, name))
        return self.url(name)

    def engine(self, url: str) -> sa.Engine:
        if url not in self._engines:
            self._engines[url] = engines.create_engine(url)
        return self._engines[url]

    def _dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()

    # --- rows ---------------------------------------------------------------------------

    def add_cell(self, name: str | None, database_url: str, transport_url: str | None = None,
                 uuid: str | None = None, disabled: bool = False) -> str:
        cell_uuid = uuid or str(uuidlib.uuid4())
        with self.engine(self.api_url).begin() as conn:
            conn.execute(api_models.CellMapping.__table__.insert().values(
                uuid=cell_uuid, name=name, database_connection=database_url,
                transport_url=transport_url or f"rabbit://{cell_uuid[:8]}@mq/",
                disabled=disabled))
        return cell_uuid

    def cell_id(self, cell_uuid: str) -> int:
        table = api_models.CellMapping.__table__
        with self.engine(self.api_url).connect() as conn:
            return conn.execute(sa.select(table.c.id).where(table.c.uuid == cell_uuid)
                                ).scalar_one()

    def add_host_mapping(self, host: str, cell_uuid: str) -> None:
        # The cell's id first: a second transaction on the file inside this one would
        # wait for this one's lock.
        cell_id = self.cell_id(cell_uuid)
        with self.engine(self.api_url).begin() as conn:
            conn.execute(api_models.HostMapping.__table__.insert().values(
                host=host, cell_id=cell_id))

    def add_instance_mapping(self, instance_uuid: str, cell_uuid: str | None,
                             project_id: str = "p1") -> None:
        cell_id = self.cell_id(cell_uuid) if cell_uuid else None
        with self.engine(self.api_url).begin() as conn:
            conn.execute(api_models.InstanceMapping.__table__.insert().values(
                instance_uuid=instance_uuid, cell_id=cell_id, project_id=project_id,
                user_id="u1"))

    def add_compute_node(self, cell_url: str, host: str, node: str | None = None,
                         mapped: int = 0) -> str:
        node_uuid = str(uuidlib.uuid4())
        with self.engine(cell_url).begin() as conn:
            conn.execute(main_models.ComputeNode.__table__.insert().values(
                uuid=node_uuid, host=host, hypervisor_hostname=node or host, vcpus=8,
                memory_mb=8192, local_gb=100, vcpus_used=0, memory_mb_used=0,
                local_gb_used=0, hypervisor_type="fake", hypervisor_version=1,
                cpu_info="{}", mapped=mapped, deleted=0))
        return node_uuid

    def add_service(self, cell_url: str, host: str, binary: str = "nova-compute") -> None:
        with self.engine(cell_url).begin() as conn:
            conn.execute(main_models.Service.__table__.insert().values(
                host=host, binary=binary, topic=binary.split("-", 1)[-1], report_count=0,
                disabled=False, deleted=0))

    def add_instances(self, cell_url: str, count: int = 1, host: str = "host1",
                      deleted: bool = False) -> list[str]:
        """Insert ``count`` instances created one second apart; returns their uuids."""
        uuids = [str(uuidlib.uuid4()) for _ in range(count)]
        start = utcnow()
        table = main_models.Instance.__table__
        with self.engine(cell_url).begin() as conn:
            conn.execute(table.insert(), [
                {"uuid": u, "project_id": "p1", "user_id": "u1", "host": host,
                 "created_at": start.replace(microsecond=0)
                 + datetime.timedelta(seconds=i),
                 "deleted": 0} for i, u in enumerate(uuids)])
            if deleted:
                conn.execute(table.update().where(table.c.uuid.in_(uuids))
                             .values(deleted=table.c.id, deleted_at=utcnow()))
        return uuids

    # --- reads --------------------------------------------------------------------------

    def rows(self, url: str, table: sa.Table, *columns: str) -> list[tuple]:
        cols = [table.c[name] for name in columns] or list(table.c)
        with self.engine(url).connect() as conn:
            return [tuple(row) for row in conn.execute(sa.select(*cols))]

    def cells(self) -> list[tuple]:
        """(uuid, name, transport_url, database_connection, disabled), by id."""
        table = api_models.CellMapping.__table__
        with self.engine(self.api_url).connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(
                table.c.uuid, table.c.name, table.c.transport_url,
                table.c.database_connection, table.c.disabled).order_by(table.c.id))]

    def host_mappings(self) -> dict[str, str]:
        """host -> cell uuid."""
        hm = api_models.HostMapping.__table__
        cm = api_models.CellMapping.__table__
        with self.engine(self.api_url).connect() as conn:
            return dict(conn.execute(sa.select(hm.c.host, cm.c.uuid)
                                     .join_from(hm, cm, hm.c.cell_id == cm.c.id)).all())

    def instance_mappings(self) -> list[tuple]:
        """(instance_uuid, cell uuid or None, project_id), by id."""
        im = api_models.InstanceMapping.__table__
        cm = api_models.CellMapping.__table__
        with self.engine(self.api_url).connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.select(im.c.instance_uuid, cm.c.uuid, im.c.project_id)
                .join_from(im, cm, im.c.cell_id == cm.c.id, isouter=True)
                .order_by(im.c.id))]

    def compute_nodes_mapped(self, cell_url: str) -> dict[str, int]:
        """hypervisor_hostname -> mapped."""
        table = main_models.ComputeNode.__table__
        with self.engine(cell_url).connect() as conn:
            return dict(conn.execute(sa.select(table.c.hypervisor_hostname, table.c.mapped)).all())

    def version(self, url: str, database: str) -> str | None:
        return migration.db_version(self.engine(url), database)


class CommandTestCase(unittest.TestCase):
    """Base class: ``self.dep`` is a fresh Deployment; ``self.run_cmd`` runs the command."""

    #: The command's ``main``; set by subclasses.
    main: Callable[..., int]

    def setUp(self) -> None:
        self.dep = Deployment(self)

    def run_cmd(self, *argv: str, config: bool = True) -> Outcome:
        """Run the command with ``--config-file`` of the deployment (unless told not to)."""
        args = ["--config-file", self.dep.conf_path, *argv] if config else list(argv)
        return run_main(type(self).main, args)

    def assertOutcome(self, outcome: Outcome, rc: int, *, out: Sequence[str] = (),
                      err: Sequence[str] = ()) -> None:
        """rc as expected and each of ``out``/``err`` found in stdout/stderr."""
        self.assertEqual(rc, outcome.rc, str(outcome))
        for text in out:
            self.assertIn(text, outcome.out, str(outcome))
        for text in err:
            self.assertIn(text, outcome.err, str(outcome))

    def assertOneLineError(self, outcome: Outcome, rc: int, *texts: str) -> None:
        """A one-line message on stderr containing ``texts``, no traceback anywhere."""
        self.assertEqual(rc, outcome.rc, str(outcome))
        lines = outcome.err.splitlines()
        self.assertEqual(1, len(lines), str(outcome))
        for text in texts:
            self.assertIn(text, lines[0], str(outcome))
        self.assertNotIn("Traceback", outcome.out + outcome.err)
