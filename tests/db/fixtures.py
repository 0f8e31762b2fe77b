"""Fresh databases on SQLite, PostgreSQL and MariaDB/MySQL for tests.

Any test may use them::

    from tests.db.fixtures import fresh_database_url, engine_for

    url = fresh_database_url(self, "postgresql")      # an empty database
    engine = engine_for(self, url)                     # disposed at cleanup

Server databases are created on the servers named by ``NOVA_TX_TEST_POSTGRESQL_URL``
and ``NOVA_TX_TEST_MYSQL_URL`` (default: the local servers, database ``test``), named
``nova_tx_test_<random>`` and dropped again. When a server cannot be reached the test is
skipped, unless the environment says ``CI=true``: there, a missing server fails the test,
so that CI cannot pass by skipping everything.
"""
from __future__ import annotations

import atexit
import os
import tempfile
import uuid
from collections.abc import Callable

import sqlalchemy as sa

from nova_tx.db import engines, migration
from tests.helpers import unavailable

BACKENDS = ("sqlite", "postgresql", "mysql")

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "NOVA_TX_TEST_POSTGRESQL_URL", "postgresql+psycopg2://postgres@127.0.0.1/test"),
    "mysql": os.environ.get("NOVA_TX_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1/test"),
}

DATABASE_PREFIX = "nova_tx_test_"

# Backend -> why it cannot be used (None: it can), so an absent server costs one
# connection timeout per run rather than one per test.
_availability: dict[str, str | None] = {}
# (backend, database) -> URL of a database migrated once and shared for the run.
_shared: dict[tuple[str, str, str], str] = {}


def require_backend(testcase, backend: str) -> None:
    """Skip ``testcase`` (fail it under CI=true) when ``backend``'s server is down."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; expected one of {BACKENDS}")
    if backend == "sqlite":
        return
    if backend not in _availability:
        _availability[backend] = _probe(backend)
    reason = _availability[backend]
    if reason is not None:
        unavailable(f"{backend} is not available for tests: {reason}")


def _probe(backend: str) -> str | None:
    engine = _admin_engine(backend)
    try:
        engines.check_connection(engine)
    except Exception as e:
        return str(e)
    finally:
        engine.dispose()
    return None


def _admin_engine(backend: str) -> sa.Engine:
    connect_args = {"connect_timeout": 5}
    return sa.create_engine(ADMIN_URLS[backend], isolation_level="AUTOCOMMIT",
                            poolclass=sa.pool.NullPool, connect_args=connect_args)


def create_database(backend: str) -> tuple[str, Callable[[], None]]:
    """Create an empty database; return its URL and the function that drops it.

    The lower-level half of :func:`fresh_database_url`, for callers that manage the
    lifetime themselves. Does not check availability (see :func:`require_backend`).
    """
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="nova-tx-db-")
        path = os.path.join(directory, "nova.sqlite")

        def drop_sqlite() -> None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                if os.path.exists(path + suffix):
                    os.unlink(path + suffix)
            os.rmdir(directory)

        return f"sqlite:///{path}", drop_sqlite

    name = DATABASE_PREFIX + uuid.uuid4().hex[:12]
    admin = _admin_engine(backend)
    with admin.connect() as conn:
        if backend == "mysql":
            conn.exec_driver_sql(
                f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
        else:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sa.engine.make_url(ADMIN_URLS[backend]).set(database=name)

    def drop_server() -> None:
        with admin.connect() as conn:
            if backend == "postgresql":
                # FORCE: a connection a test left open must not keep the database alive.
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()

    return url.render_as_string(hide_password=False), drop_server


def fresh_database_url(testcase, backend: str) -> str:
    """The URL of a new empty database on ``backend``, dropped when ``testcase`` ends."""
    require_backend(testcase, backend)
    url, drop = create_database(backend)
    testcase.addCleanup(drop)
    return url


def engine_for(testcase, url: str, **kwargs) -> sa.Engine:
    """``nova_tx.db.engines.create_engine(url, **kwargs)``, disposed at cleanup."""
    engine = engines.create_engine(url, **kwargs)
    testcase.addCleanup(engine.dispose)
    return engine


def migrated_database_url(testcase, backend: str, database: str,
                          purpose: str = "shared") -> str:
    """A database of ``backend`` upgraded to ``database``'s head, shared for the run.

    Migrating ~40 tables costs about a second on a server, so tests that only read the
    schema, or write rows with names of their own, share one database per backend and
    schema; it is dropped when the process exits. Tests that need an empty or
    untouched database use :func:`fresh_database_url`.

    Tests that count rows cannot share with those that leave rows behind: they name a
    ``purpose`` of their own, get a database that only tests of that purpose use, and
    roll back what they write.
    """
    require_backend(testcase, backend)
    return _migrated(backend, database, purpose)


def migrated_sqlite_file(database: str) -> str:
    """Path of an empty SQLite file at ``database``'s head, made once per run.

    A template to copy, never to write to (it is not the database that
    :func:`migrated_database_url` shares, which tests write rows into).
    """
    return sa.engine.make_url(_migrated("sqlite", database, "template")).database


def _migrated(backend: str, database: str, purpose: str = "shared") -> str:
    key = (backend, database, purpose)
    if key not in _shared:
        url, drop = create_database(backend)
        atexit.register(drop)
        engine = engines.create_engine(url)
        try:
            migration.db_sync(engine, database)
        finally:
            engine.dispose()
        _shared[key] = url
    return _shared[key]
