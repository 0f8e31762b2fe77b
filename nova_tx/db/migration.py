"""Schema migrations: one Alembic tree per database (``api``, ``main`` and ``placement``).

``nova-manage api_db sync`` and ``nova-manage db sync`` call :func:`db_sync`. Everything
here is synchronous and meant to run in a worker thread (``DBThreadPool.do_with_engine``)
or in a command-line process; no ``alembic.ini`` is read, the Alembic ``Config`` is
built in code from the package's own migration directories.

The first revision of each tree creates the subset of Nova Zed's schema (at Zed's head)
that nova-tx uses, under ids of nova-tx's own: a database that Nova itself migrated is
refused with a clear error (its revision is unknown here) rather than taken for one
of ours, since its tables are not exactly ours.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from nova_tx.db.exception import DBMigrationError, InvalidRevision

DATABASES = ("api", "main", "placement")

#: Trees that share a database with another keep their revision in a table of their
#: own: placement's tables live in the API database unless
#: ``[placement_database] connection`` names another.
VERSION_TABLES = {"placement": "placement_alembic_version"}

_HERE = os.path.dirname(os.path.abspath(__file__))

# Alembic's ``context`` and ``op`` are module-level proxies, installed for the duration
# of a command: two commands in two threads at once would swap each other's. Migrations
# are rare, so they simply take turns.
_ALEMBIC_LOCK = threading.Lock()


def _check_database(database: str) -> None:
    if database not in DATABASES:
        raise ValueError(f"Unknown database {database!r}; expected one of {DATABASES}")


def version_table(database: str) -> str:
    """The table that records ``database``'s revision."""
    return VERSION_TABLES.get(database, "alembic_version")


def migrations_path(database: str) -> str:
    """The Alembic script directory of ``database``."""
    _check_database(database)
    return os.path.join(_HERE, database, "migrations")


def alembic_config(database: str, connection: sa.Connection | None = None) -> Config:
    """An Alembic ``Config`` for ``database``, bound to ``connection`` if given.

    Also what a developer uses to write a revision:
    ``command.revision(alembic_config("main", conn), "add x", autogenerate=True)``.
    """
    config = Config()
    config.set_main_option("script_location", migrations_path(database))
    config.attributes["connection"] = connection
    return config


def _script(database: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(database))


def head_revision(database: str) -> str:
    """The newest revision of ``database``'s tree."""
    head = _script(database).get_current_head()
    if head is None:
        raise DBMigrationError(f"The {database} database has no migrations")
    return head


def db_version(engine: sa.Engine, database: str) -> str | None:
    """The revision ``engine``'s database is at, or None when it is not versioned yet."""
    _check_database(database)
    with engine.connect() as conn:
        return MigrationContext.configure(
            conn, opts={"version_table": version_table(database)}).get_current_revision()


def resolve_revision(database: str, version: str) -> str:
    """The full revision id ``version`` names in ``database``'s tree.

    Raises InvalidRevision when the tree has no such revision, before any database is
    touched.
    """
    script = _script(database)
    try:
        revision = script.get_revision(version)
    except (CommandError, RevisionError):
        revision = None
    if revision is None:
        raise InvalidRevision(database, version, script.get_current_head())
    return revision.revision


def db_sync(engine: sa.Engine, database: str, version: str | None = None) -> None:
    """Upgrade ``engine``'s database to ``version`` (default: head).

    Running it again is a no-op. Going back to an older revision is refused, as Nova
    refuses it: migrations are written forward only.
    """
    _check_database(database)
    target = head_revision(database) if version is None else resolve_revision(database, version)
    current = db_version(engine, database)
    script = _script(database)
    if current is not None and current != target:
        try:
            known = script.get_revision(current) is not None
        except (CommandError, RevisionError):
            known = False
        if not known:
            raise DBMigrationError(
                f"The {database} database is at revision {current}, which this version "
                f"of nova-tx does not know (head is {script.get_current_head()})")
        if any(rev.revision == target for rev in script.iterate_revisions(current, "base")):
            raise DBMigrationError(
                f"The {database} database is at revision {current}, newer than "
                f"{target}; downgrades are not supported")
    # One transaction for the whole upgrade where the database has transactional DDL
    # (PostgreSQL, SQLite): a failed upgrade leaves the schema as it was.
    with _ALEMBIC_LOCK, engine.begin() as conn:
        try:
            command.upgrade(alembic_config(database, conn), target)
        except (CommandError, RevisionError) as e:
            raise DBMigrationError(f"Cannot upgrade the {database} database: {e}") from e


def run_migrations_env(metadata: sa.MetaData, version_table: str = "alembic_version") -> None:
    """The body of each tree's ``env.py``, so that every tree is configured the same.

    Online, the connection comes from ``alembic_config(database, connection)``; when
    Alembic is run from its command line instead, ``sqlalchemy.url`` names the database.
    Offline (``--sql``), the SQL is printed for a DBA to run.
    """
    config = context.config
    options = {
        "target_metadata": metadata,
        # Types, lengths and enums are part of the schema and must match the models.
        "compare_type": True,
        "compare_server_default": True,
        "version_table": version_table,
        # A tree sharing its database compares only its own tables.
        "include_name": _own_tables(metadata),
    }
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                          **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_online(connection, options)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"),
                              poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        _run_online(conn, options)


def _own_tables(metadata: sa.MetaData) -> Callable[..., bool]:
    def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
        return type_ != "table" or name in metadata.tables

    return include_name


def _run_online(connection: sa.Connection, options: dict) -> None:
    # SQLite can alter a table only by copying it; batch mode does that for us.
    context.configure(connection=connection,
                      render_as_batch=connection.dialect.name == "sqlite", **options)
    with context.begin_transaction():
        context.run_migrations()
