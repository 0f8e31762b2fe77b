"""Column types and defaults shared by both schemas."""
from __future__ import annotations

import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import mysql


def MediumText() -> sa.types.TypeEngine:  # noqa: N802 - named like the type it stands for
    """``TEXT`` that holds serialised objects over 64 KiB on MySQL, as Nova's ``MediumText``.

    MySQL's ``TEXT`` stops at 64 KiB, which a request spec or a build request's instance
    can exceed; the other databases have no such limit.
    """
    return sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def utcnow() -> datetime.datetime:
    """Naive UTC now, as oslo.utils' ``timeutils.utcnow()`` stores timestamps in Nova."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
