"""Database errors with a class per meaning (the subset of oslo.db's that Nova relies on).

They do not derive from ``nova_tx.exception.NovaException``: the database layer sits
below everything else and callers map these to Nova's exceptions (``DBDuplicateEntry``
to ``FlavorExists``, ``KeyPairExists``, ...) where the meaning is known.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa


class DBError(Exception):
    """Base class of the database layer's errors."""


class DBConnectionError(DBError):
    """The database cannot be reached; ``url`` has its password masked."""

    def __init__(self, url: str, reason: str):
        self.url = url
        self.reason = reason
        super().__init__(f"Cannot connect to database {url}: {reason}")


class DBDuplicateEntry(DBError):
    """A unique constraint refused a row (in place of the driver's IntegrityError).

    ``columns`` names the constrained columns when the driver's message says which
    (``[]`` otherwise), so callers can tell a duplicate name from a duplicate uuid.
    """

    def __init__(self, columns: Sequence[str] | None = None, value: str | None = None,
                 constraint: str | None = None, inner_exception: BaseException | None = None):
        self.columns = list(columns or [])
        self.value = value
        self.constraint = constraint
        self.inner_exception = inner_exception
        what = ", ".join(self.columns) if self.columns else (constraint or "unknown columns")
        super().__init__(f"Duplicate entry for {what}" + (f": {value}" if value else ""))


class DBMigrationError(DBError):
    """A schema migration cannot be run."""


class InvalidRevision(DBMigrationError):
    """The requested schema revision does not exist in the migration tree."""

    def __init__(self, database: str, revision: str, known: str | None = None):
        self.database = database
        self.revision = revision
        hint = f" (head is {known})" if known else ""
        super().__init__(
            f"Unknown {database} database revision {revision!r}{hint}")


# Driver messages of a unique violation, per dialect.
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>.+)$", re.MULTILINE)
_SQLITE_PK = re.compile(r"PRIMARY KEY must be unique")
_PG_DETAIL = re.compile(r"Key \((?P<columns>.+?)\)=\((?P<value>.*)\) already exists")
_PG_CONSTRAINT = re.compile(r'unique constraint "(?P<name>[^"]+)"')
_MYSQL_DUPLICATE = re.compile(
    r"Duplicate entry '(?P<value>.*)' for key '(?:[^']*\.)?(?P<name>[^']+)'")

_PG_UNIQUE_VIOLATION = "23505"
_MYSQL_ER_DUP_ENTRY = 1062


def _columns_from_constraint_name(name: str) -> list[str]:
    # Nova names unique constraints uniq_<table>0<column>0<column>..., so the name
    # says the columns when the driver does not (MySQL only gives the key name).
    if name.startswith("uniq_"):
        return name.split("0")[1:]
    return [name]


def duplicate_entry_from(error: sa.exc.IntegrityError, dialect: str) -> DBDuplicateEntry | None:
    """The DBDuplicateEntry an IntegrityError stands for, or None if it is not one.

    Foreign key and NOT NULL violations are IntegrityErrors too and stay as they are.
    """
    orig = error.orig
    message = str(orig)
    if dialect == "sqlite":
        match = _SQLITE_UNIQUE.search(message)
        if match:
            columns = [c.strip().split(".")[-1] for c in match.group("columns").split(",")]
            return DBDuplicateEntry(columns, inner_exception=error)
        if _SQLITE_PK.search(message):
            return DBDuplicateEntry(["id"], inner_exception=error)
        return None
    if dialect == "postgresql":
        if getattr(orig, "pgcode", None) != _PG_UNIQUE_VIOLATION:
            return None
        constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
        if constraint is None:
            match = _PG_CONSTRAINT.search(message)
            constraint = match.group("name") if match else None
        detail = _PG_DETAIL.search(message)
        if detail:
            columns = [c.strip().strip('"') for c in detail.group("columns").split(",")]
            return DBDuplicateEntry(columns, detail.group("value"), constraint, error)
        columns = _columns_from_constraint_name(constraint) if constraint else []
        return DBDuplicateEntry(columns, None, constraint, error)
    if dialect in ("mysql", "mariadb"):
        args = getattr(orig, "args", ())
        if not args or args[0] != _MYSQL_ER_DUP_ENTRY:
            return None
        match = _MYSQL_DUPLICATE.search(message)
        if not match:
            return DBDuplicateEntry([], inner_exception=error)
        name = match.group("name")
        return DBDuplicateEntry(
            _columns_from_constraint_name(name), match.group("value"), name, error)
    return None


def is_deadlock(error: BaseException) -> bool:
    """The driver's error says the transaction lost a race and may simply run again:
    a deadlock or serialization failure (PostgreSQL ``40P01``/``40001``), a MySQL
    deadlock (1213) or lock wait timeout (1205). oslo.db's ``DBDeadlock``, which the
    stores' retry loops (Placement's and the embedded network service's) rely on."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    orig = error.orig
    if getattr(orig, "pgcode", None) in ("40P01", "40001"):  # deadlock, serialization
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in (1213, 1205)  # MySQL deadlock, lock wait timeout
