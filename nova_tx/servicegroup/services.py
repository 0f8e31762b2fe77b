"""Service trees that own a bus connection and, for some, a database pool.

nova-conductor and nova-scheduler record themselves directly in their cell database;
nova-compute has no database and goes through the conductor. The pool starts in
``prepare()`` (before the children) and closes after the children have stopped, so a
heartbeat or an RPC method in flight still has its database while it finishes.
"""
from __future__ import annotations

import logging
from typing import Any

from oslo_config import cfg
from twisted.internet import defer

from nova_tx import exception
from nova_tx.bus.interfaces import ITransport
from nova_tx.bus.notifier import get_versioned_notifier
from nova_tx.bus.url import get_transport
from nova_tx.conf import database as database_conf
from nova_tx.db import engines
from nova_tx.db.pool import DBThreadPool
from nova_tx.service import NovaService
from nova_tx.servicegroup.api import DatabaseServiceRecords

LOG = logging.getLogger(__name__)


class BusService(NovaService):
    """A daemon with a connection to ``[DEFAULT] transport_url``, opened in
    ``prepare()`` (without waiting for the broker) and closed after its children."""

    def __init__(self, binary: str, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 transport: ITransport | None = None):
        super().__init__(binary, conf, reactor=reactor)
        self._transport = transport

    @property
    def transport(self) -> ITransport:
        if self._transport is None:
            self._transport = get_transport(self.conf)
        return self._transport

    async def prepare(self) -> None:
        if self.conf.servicegroup_driver != "db":
            raise exception.ConfigError(
                reason=f"[DEFAULT] servicegroup_driver = {self.conf.servicegroup_driver} "
                "is not supported by nova-tx; use db")
        # The broker may come later: declarations and calls wait for the connection.
        self.transport.connect().addErrback(
            lambda f: LOG.error("%s: message bus connection failed: %s", self.binary,
                                f.getErrorMessage()))

    def stopService(self) -> defer.Deferred:
        d = super().stopService()
        d.addCallback(lambda _: self._transport.close() if self._transport else None)
        return d


class DatabaseBusService(BusService):
    """A ``BusService`` that also owns a ``DBThreadPool`` on ``[database] connection``;
    ``records`` serves its children once the pool runs."""

    def __init__(self, binary: str, conf: cfg.ConfigOpts, *, reactor: Any = None,
                 transport: ITransport | None = None):
        super().__init__(binary, conf, reactor=reactor, transport=transport)
        self.pool: DBThreadPool | None = None
        self.records = DatabaseServiceRecords(None)

    @property
    def has_database(self) -> bool:
        return bool(self.conf.database.connection)

    async def prepare(self) -> None:
        if not self.has_database:
            raise exception.ConfigError(
                reason=f"[database] connection is not set; {self.binary} needs its cell "
                "database")
        engine = engines.create_engine(self.conf.database.connection,
                                       **database_conf.engine_args(self.conf.database))
        self.pool = DBThreadPool(engine, reactor=self.reactor, name=f"{self.binary}-db")
        self.pool.start()
        self.records.pool = self.pool
        self.records.notifier = get_versioned_notifier(
            self.transport, self.conf, f"{self.binary}:{self.conf.host}")
        # Fail now, in one line, rather than at the first heartbeat.
        await self.pool.do_with_engine(engines.check_connection)
        await super().prepare()

    def stopService(self) -> defer.Deferred:
        d = super().stopService()

        def close_pool(_: Any) -> defer.Deferred | None:
            return self.pool.stop() if self.pool is not None else None

        return d.addCallback(close_pool)
