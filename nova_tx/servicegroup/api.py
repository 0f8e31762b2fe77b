"""Up/down by the database driver's rule, and the heartbeat that keeps a service up.

A service is up while it is not forced down and its last heartbeat (``last_seen_up``,
or ``created_at`` before the first one) is at most ``service_down_time`` old (spec C
§16). The heartbeat is a ``LoopingCall`` on the reactor's clock, so tests drive it with
``twisted.internet.task.Clock``; it talks to the records through ``ServiceRecords``,
which is the database for services that have one and the conductor for computes.
"""
from __future__ import annotations

import datetime
import logging
from typing import Any, Protocol

from oslo_config import cfg
from twisted.application import service
from twisted.internet import defer, task

from nova_tx import exception
from nova_tx.db.exception import DBDuplicateEntry
from nova_tx.objects.service import SERVICE_VERSION, Service

LOG = logging.getLogger(__name__)

#: Seconds between a service's start and its first heartbeat (Nova's fixed delay).
INITIAL_REPORT_DELAY = 5.0


def effective_service_down_time(conf: cfg.ConfigOpts, *, warn: bool = False) -> int:
    """``service_down_time``, or ``int(report_interval * 2.5)`` when it would not
    outlast one report interval (services would flap between up and down)."""
    report_interval = conf.report_interval
    down_time = conf.service_down_time
    if report_interval and down_time <= report_interval:
        overridden = int(report_interval * 2.5)
        if warn:
            LOG.warning("service_down_time (%d) should be greater than report_interval "
                        "(%d); using %d seconds as service_down_time",
                        down_time, report_interval, overridden)
        return overridden
    return down_time


def _as_naive_utc(now: datetime.datetime | float) -> datetime.datetime:
    if isinstance(now, datetime.datetime):
        if now.tzinfo is not None:
            now = now.astimezone(datetime.UTC).replace(tzinfo=None)
        return now
    return datetime.datetime.fromtimestamp(now, datetime.UTC).replace(tzinfo=None)


def service_is_up(service: Service, now: datetime.datetime | float,
                  conf: cfg.ConfigOpts) -> bool:
    """Whether ``service`` counts as up at ``now`` (a naive UTC datetime, or seconds
    since the epoch such as ``reactor.seconds()``)."""
    if service.forced_down:
        return False
    last_heartbeat = service.last_seen_up or service.created_at
    if last_heartbeat is None:
        return False
    elapsed = abs((_as_naive_utc(now) - last_heartbeat).total_seconds())
    return elapsed <= effective_service_down_time(conf)


class ServiceRecords(Protocol):
    """Where a service's record lives: its cell database, or the conductor's gateway."""

    def get_by_host_and_binary(self, host: str, binary: str) -> defer.Deferred:
        """The record (``Service``), or ``HostBinaryNotFound``."""

    def create(self, values: dict[str, Any]) -> defer.Deferred:
        """A new record (``Service``) from ``host``, ``binary``, ``topic``, ``version``."""

    def update(self, service_id: int, values: dict[str, Any]) -> defer.Deferred:
        """The record (``Service``) with ``values`` changed."""

    def report(self, service_id: int) -> defer.Deferred:
        """One heartbeat; the record (``Service``) after it, or ``ServiceNotFound``."""

    def get_minimum_version(self, binaries: list[str]) -> defer.Deferred:
        """``{binary: lowest version}`` of the live, not forced-down records (0: none)."""


class DatabaseServiceRecords:
    """Records read and written directly, for services with a database (conductor,
    scheduler) and for the conductor's gateway itself."""

    def __init__(self, pool: Any, notifier: Any = None):
        self.pool = pool
        #: The versioned notifier of ``service.create`` (None: none sent).
        self.notifier = notifier

    def get_by_host_and_binary(self, host: str, binary: str) -> defer.Deferred:
        from nova_tx.db.main import services

        return self.pool.do(services.get_by_host_and_binary, host, binary)

    def create(self, values: dict[str, Any]) -> defer.Deferred:
        """The new record; ``service.create`` follows (from the service's binary and
        host, whichever process wrote it, as Nova's ``Service.create``)."""
        from nova_tx.db.main import services
        from nova_tx.notifications.service import notify_service

        def created(service: Any) -> Any:
            notify_service(self.notifier, None, "create", service)
            return service

        return self.pool.do(lambda conn: services.create(conn, **values)).addCallback(
            created)

    def update(self, service_id: int, values: dict[str, Any]) -> defer.Deferred:
        from nova_tx.db.main import services

        return self.pool.do(services.update, service_id, values)

    def report(self, service_id: int) -> defer.Deferred:
        from nova_tx.db.main import services

        return self.pool.do(services.report, service_id)

    def get_minimum_version(self, binaries: list[str]) -> defer.Deferred:
        from nova_tx.db.main import services

        return self.pool.do(services.get_minimum_version, list(binaries))


async def join(records: ServiceRecords, host: str, binary: str, topic: str | None
               ) -> Service:
    """The service's record, created if it has none and its version brought up to date
    (what Nova's ``Service.start`` does before the first heartbeat)."""
    try:
        record = await records.get_by_host_and_binary(host, binary)
    except exception.HostBinaryNotFound:
        try:
            return await records.create({"host": host, "binary": binary, "topic": topic,
                                         "version": SERVICE_VERSION})
        except DBDuplicateEntry:
            # Another process of the same host and binary created it meanwhile.
            record = await records.get_by_host_and_binary(host, binary)
    if record.version != SERVICE_VERSION:
        record = await records.update(record.id, {"version": SERVICE_VERSION})
    return record


class Heartbeat(service.Service):
    """Records a service in ``services`` on start, then reports every
    ``report_interval`` seconds until stopped.

    A failing report (conductor timeout, database error) is logged once and the timer
    keeps going, so the service comes back up by itself; the recovery is logged too.
    """

    def __init__(self, records: ServiceRecords, conf: cfg.ConfigOpts, *, binary: str,
                 topic: str | None, host: str | None = None, reactor: Any = None,
                 initial_delay: float = INITIAL_REPORT_DELAY):
        if reactor is None:
            from twisted.internet import reactor
        self.records = records
        self.conf = conf
        self.binary = binary
        self.topic = topic
        self.host = host or conf.host
        self.reactor = reactor
        self.initial_delay = initial_delay
        #: The record as of the last successful join or report.
        self.service_ref: Service | None = None
        self._loop: task.LoopingCall | None = None
        self._delayed: Any = None
        self._in_flight: defer.Deferred | None = None
        self._failing = False
        self.setName(f"heartbeat-{binary}")

    def startService(self) -> None:
        service.Service.startService(self)
        effective_service_down_time(self.conf, warn=True)
        self._in_flight = defer.Deferred.fromCoroutine(self._tick())
        interval = self.conf.report_interval
        if not interval or interval <= 0:
            LOG.info("%s on %s: report_interval is 0, heartbeats are disabled",
                     self.binary, self.host)
            return
        self._loop = task.LoopingCall(self._beat)
        self._loop.clock = self.reactor
        self._delayed = self.reactor.callLater(
            self.initial_delay, self._start_loop, interval)

    def _start_loop(self, interval: float) -> None:
        self._delayed = None
        if self._loop is not None:
            self._loop.start(interval, now=True)

    def _beat(self) -> defer.Deferred | None:
        if self._in_flight is not None and not self._in_flight.called:
            # The joining call made at start is still waiting for its answer (a
            # conductor not up yet): one at a time, or two records could race.
            return None
        self._in_flight = defer.Deferred.fromCoroutine(self._tick())
        return self._in_flight

    async def _tick(self) -> None:
        """Join if not joined yet, else report; never fails (the loop would stop)."""
        try:
            if self.service_ref is None:
                self.service_ref = await join(self.records, self.host, self.binary,
                                              self.topic)
                LOG.info("%s on %s recorded as service %s", self.binary, self.host,
                         self.service_ref.id)
            else:
                self.service_ref = await self.records.report(self.service_ref.id)
        except defer.CancelledError:
            return
        except exception.ServiceNotFound:
            LOG.error("The service record of %s on %s (id %s) was deleted while the "
                      "service runs; it reports as down", self.binary, self.host,
                      self.service_ref.id if self.service_ref else None)
            self._failing = True
            return
        except Exception as e:
            if not self._failing:
                LOG.error("%s on %s: heartbeat failed, will retry every %ss: %s",
                          self.binary, self.host, self.conf.report_interval,
                          exception.one_line(e))
            self._failing = True
            return
        if self._failing:
            LOG.info("%s on %s: heartbeat recovered", self.binary, self.host)
            self._failing = False

    def stopService(self) -> defer.Deferred:
        service.Service.stopService(self)
        if self._delayed is not None and self._delayed.active():
            self._delayed.cancel()
        self._delayed = None
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        if self._in_flight is not None and not self._in_flight.called:
            self._in_flight.addErrback(lambda _: None)
            self._in_flight.cancel()
        return defer.succeed(None)
