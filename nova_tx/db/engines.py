"""SQLAlchemy engines configured as oslo.db configures Nova's.

The keyword arguments of :func:`create_engine` are the options of the ``[database]``
and ``[api_database]`` groups (``nova_tx.conf.database.engine_args`` reads them), so the
same ``nova.conf`` tunes nova-tx as it tunes Nova.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy import event, pool
from sqlalchemy.engine import URL, make_url

from nova_tx.db.exception import DBConnectionError, duplicate_entry_from
from nova_tx.objects import cell_mapping

LOG = logging.getLogger(__name__)

#: SQLAlchemy backend names of MySQL and its MariaDB dialect (mariadb+pymysql://).
MYSQL_BACKENDS = ("mysql", "mariadb")


def mask_password(url: str | URL) -> str:
    """``url`` as text with its password replaced by ``****``, for messages and logs.

    A URL object is rendered first; the masking is ``cell_mapping.mask_password``'s, the
    one masker of database and bus URLs, which keeps a text URL as written.
    """
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    return cell_mapping.mask_password(url)


def create_engine(
    url: str,
    *,
    max_pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: int | None = None,
    connection_recycle_time: int = 3600,
    mysql_sql_mode: str | None = "TRADITIONAL",
    sqlite_synchronous: bool = True,
    connection_debug: int = 0,
) -> sa.Engine:
    """An Engine for ``url`` with Nova's per-backend connection settings.

    It does not connect: :func:`check_connection` does, so that a service can say
    which database it cannot reach in one line instead of failing on first use.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict = {"pool_recycle": connection_recycle_time}
    if backend == "sqlite":
        kwargs.update(_sqlite_engine_args(parsed))
    else:
        # Checking a connection out tests it first, so a database restart costs a
        # reconnection rather than an error in the first request after it.
        kwargs["pool_pre_ping"] = True
        if max_pool_size is not None:
            kwargs["pool_size"] = max_pool_size
        if max_overflow is not None:
            kwargs["max_overflow"] = max_overflow
        if pool_timeout is not None:
            kwargs["pool_timeout"] = pool_timeout
    if backend in MYSQL_BACKENDS and "charset" not in parsed.query:
        # utf8mb4: MySQL's "utf8" stops at three bytes and cannot store every name.
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    _set_debug_logging(connection_debug)
    engine = sa.create_engine(parsed, **kwargs)
    if backend == "sqlite":
        _setup_sqlite(engine, file_database=_is_file_database(parsed),
                      synchronous=sqlite_synchronous)
    elif backend in MYSQL_BACKENDS:
        _setup_mysql(engine, mysql_sql_mode)
    event.listen(engine, "handle_error", _translate_unique_violation)
    return engine


def check_connection(engine: sa.Engine) -> None:
    """Connect once; raise DBConnectionError naming the (masked) URL if that fails."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except (sa.exc.DBAPIError, OSError) as e:
        raise DBConnectionError(mask_password(engine.url), _one_line_reason(e)) from e


def _one_line_reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip()
    if isinstance(getattr(orig, "args", None), tuple) and len(orig.args) == 2 \
            and isinstance(orig.args[0], int):
        # PyMySQL: (errno, message).
        text = f"({orig.args[0]}) {orig.args[1]}"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first or type(orig).__name__


def _is_file_database(url: URL) -> bool:
    database = url.database or ""
    return database not in ("", ":memory:") and not database.startswith("file::memory:") \
        and "mode=memory" not in database


#: Seconds a SQLite transaction waits for the write lock before "database is locked".
SQLITE_BUSY_TIMEOUT = 30.0


def _sqlite_engine_args(url: URL) -> dict:
    # Connections are used by the DB thread pool, never by the thread that made them.
    args: dict = {"connect_args": {"check_same_thread": False}}
    if not _is_file_database(url):
        # One connection for every thread, or each would see its own empty database.
        args["poolclass"] = pool.StaticPool
    else:
        # How long a transaction waits for another process's (BEGIN IMMEDIATE below).
        args["connect_args"]["timeout"] = SQLITE_BUSY_TIMEOUT
    return args


def _setup_sqlite(engine: sa.Engine, *, file_database: bool, synchronous: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:
        # pysqlite's own transaction handling begins transactions late and commits
        # before DDL; turning it off and emitting BEGIN ourselves (below) gives real
        # transactions, including transactional migrations.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            if file_database:
                # Readers do not block the writer, nor the writer the readers.
                cursor.execute("PRAGMA journal_mode = WAL")
            if not synchronous:
                cursor.execute("PRAGMA synchronous = OFF")
        finally:
            cursor.close()

    # A file shared by several services (the all-in-one's threads, nova-manage):
    # every transaction takes the write lock when it begins. A transaction begun
    # DEFERRED that reads and then writes after another connection committed cannot
    # be given the lock at all ("database is locked", SQLITE_BUSY_SNAPSHOT), however
    # long it waits; an IMMEDIATE one waits its turn. The transactions of one file then
    # run one at a time (SQLite has one writer in any case).
    begin = "BEGIN IMMEDIATE" if file_database else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql(begin)


def _setup_mysql(engine: sa.Engine, sql_mode: str | None) -> None:
    if not sql_mode:
        # An empty [database] mysql_sql_mode keeps the server's own setting.
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET SESSION sql_mode = %s", [sql_mode])
        finally:
            cursor.close()


def _translate_unique_violation(context: sa.engine.ExceptionContext) -> BaseException | None:
    error = context.sqlalchemy_exception
    if isinstance(error, sa.exc.IntegrityError):
        return duplicate_entry_from(error, context.dialect.name)
    return None


def _set_debug_logging(connection_debug: int) -> None:
    # oslo.db's scale: 0 nothing, 50 statements, 100 statements and result rows.
    if connection_debug >= 100:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.DEBUG)
    elif connection_debug >= 50:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
