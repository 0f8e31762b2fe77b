"""The connection to libvirt: every call in a dedicated thread pool, events into the reactor.

libvirt-python blocks (a call to libvirtd, or a guest shutting down), so nothing here
runs it in the reactor thread: ``Host.call`` sends a function of the connection to the
host's own ``ThreadPool`` and returns a Deferred. Domain lifecycle events come from
libvirt's default event loop, run by one daemon thread per process (libvirt allows one
event implementation per process); each event is handed to the reactor with
``callFromThread``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import libvirt
from twisted.internet import defer, threads
from twisted.python import threadpool

from nova_tx import exception, log
from nova_tx.objects import numa as obj
from nova_tx.virt import driver as virt_driver
from nova_tx.virt.host_topology import build_host_numa_topology
from nova_tx.virt.libvirt import capabilities as caps_mod

LOG = log.getLogger(__name__)

__all__ = ["Host", "default_uri", "start_event_loop"]

# libvirt's lifecycle event ids to the manager's transitions (Nova's
# LibvirtDriver._event_emit_delayed mapping, with PMSUSPENDED as suspended).
_TRANSITIONS = {
    libvirt.VIR_DOMAIN_EVENT_STARTED: virt_driver.EVENT_STARTED,
    libvirt.VIR_DOMAIN_EVENT_STOPPED: virt_driver.EVENT_STOPPED,
    libvirt.VIR_DOMAIN_EVENT_SHUTDOWN: None,  # STOPPED follows when the guest is off
    libvirt.VIR_DOMAIN_EVENT_SUSPENDED: virt_driver.EVENT_PAUSED,
    libvirt.VIR_DOMAIN_EVENT_RESUMED: virt_driver.EVENT_RESUMED,
    libvirt.VIR_DOMAIN_EVENT_PMSUSPENDED: virt_driver.EVENT_SUSPENDED,
}

_event_loop_lock = threading.Lock()
_event_loop_thread: threading.Thread | None = None


def default_uri(virt_type: str) -> str:
    """Nova's URI for a ``virt_type`` when ``connection_uri`` is empty."""
    return {"kvm": "qemu:///system", "qemu": "qemu:///system", "lxc": "lxc:///",
            "parallels": "vz:///system"}[virt_type]


def _run_event_loop() -> None:
    while True:
        libvirt.virEventRunDefaultImpl()


def start_event_loop() -> None:
    """Register libvirt's default event implementation and run it, once per process.

    It must be registered before a connection is opened for that connection's events
    to be dispatched, which is why ``Host.start`` calls this first.
    """
    global _event_loop_thread
    with _event_loop_lock:
        if _event_loop_thread is not None:
            return
        # libvirt prints every error to stderr unless a handler takes them; ours are
        # raised as exceptions and logged where they are handled.
        libvirt.registerErrorHandler(lambda _ctx, _error: None, None)
        libvirt.virEventRegisterDefaultImpl()
        _event_loop_thread = threading.Thread(
            target=_run_event_loop, name="libvirt-events", daemon=True)
        _event_loop_thread.start()


def _connection_broken(error: libvirt.libvirtError) -> bool:
    """Whether a libvirt error means the connection itself is gone (Nova's test in
    ``Host._test_connection``, plus a connection already closed)."""
    code = error.get_error_code()
    if code == libvirt.VIR_ERR_INVALID_CONN:
        return True
    return (code in (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INTERNAL_ERROR)
            and error.get_error_domain() in (libvirt.VIR_FROM_REMOTE, libvirt.VIR_FROM_RPC))


def _daemon_thread(*args: Any, **kwargs: Any) -> threading.Thread:
    thread = threading.Thread(*args, **kwargs)
    thread.daemon = True
    return thread


class Host:
    """One libvirt connection and the pool its calls run in."""

    def __init__(self, uri: str, *, reactor: Any = None, max_threads: int = 10):
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.uri = uri
        self._reactor = reactor
        self._pool = threadpool.ThreadPool(minthreads=1, maxthreads=max_threads,
                                           name="libvirt")
        # A service that exits without cleanup_host must still exit: a libvirt call
        # cannot be cancelled anyway, so its threads do not hold the process.
        self._pool.threadFactory = _daemon_thread
        self._conn: libvirt.virConnect | None = None
        self._callback_id: int | None = None
        self._listeners: list[Callable[[virt_driver.LifecycleEvent], Any]] = []
        #: Seconds a "stopped" event waits for a "started" that would cancel it (Nova's
        #: 15 s: a rebooting guest stops and starts again, and the manager must not
        #: sync its power state to SHUTDOWN in between).
        self.lifecycle_delay = 15.0
        self._delayed: dict[str, Any] = {}
        self._caps: caps_mod.HostCapabilities | None = None
        # Set between start and stop: a broken connection is reopened only then.
        self._running = False
        self._reconnect_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the pool, connect and subscribe to lifecycle events.

        A connection that cannot be opened is ``HypervisorUnavailable``.
        """
        start_event_loop()
        if not self._pool.started:
            self._pool.start()
        try:
            await self._in_pool(self._connect)
            self._caps = await self._in_pool(self._read_capabilities)
            self._running = True
        except libvirt.libvirtError as e:
            await self.stop()
            raise HypervisorUnavailable(uri=self.uri, reason=e.get_error_message()) from None
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Unsubscribe, close the connection and stop the pool (its threads join).
        Pending "stopped" events are dropped: the next start reads the guests' states."""
        for pending in self._delayed.values():
            if pending.active():
                pending.cancel()
        self._delayed.clear()
        self._running = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if self._callback_id is not None:
                    await self._in_pool(conn.domainEventDeregisterAny, self._callback_id)
                await self._in_pool(conn.close)
            except libvirt.libvirtError as e:
                LOG.warning("closing %s: %s", self.uri, e)
        self._callback_id = None
        if self._pool.started:
            await threads.deferToThread(self._pool.stop)

    # -- calls -----------------------------------------------------------------------------

    def _in_pool(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred:
        return threads.deferToThreadPool(self._reactor, self._pool, fn, *args, **kwargs)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> defer.Deferred:
        """``fn(conn, *args, **kwargs)`` in the libvirt pool (a Deferred of its result).

        A call that finds the connection broken (libvirtd restarted) fails with
        ``HypervisorUnavailable``, and the next call opens a new connection, as Nova's
        ``Host.get_connection`` does; nothing is retried, since a libvirt call is not
        always safe to repeat.
        """
        if not self._running:
            return defer.fail(HypervisorUnavailable(uri=self.uri, reason="not connected"))
        return self._in_pool(self._call, fn, args, kwargs)

    def _connect(self) -> libvirt.virConnect:
        """Open the connection and subscribe to lifecycle events (a pool thread)."""
        conn = libvirt.open(self.uri)
        self._callback_id = conn.domainEventRegisterAny(
            None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, None)
        self._conn = conn
        return conn

    def _call(self, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        with self._reconnect_lock:
            conn = self._conn
            if conn is None:
                try:
                    conn = self._connect()
                except libvirt.libvirtError as e:
                    raise HypervisorUnavailable(uri=self.uri,
                                                reason=e.get_error_message()) from None
                LOG.warning("Reconnected to %s", self.uri)
        try:
            return fn(conn, *args, **kwargs)
        except libvirt.libvirtError as e:
            if not _connection_broken(e):
                raise
            with self._reconnect_lock:
                if self._conn is conn:
                    self._conn = None
                    self._callback_id = None
            LOG.error("Connection to %s broken: %s", self.uri, e.get_error_message())
            raise HypervisorUnavailable(uri=self.uri, reason=e.get_error_message()) from None

    @property
    def connected(self) -> bool:
        return self._running

    # -- capabilities ----------------------------------------------------------------------

    def _read_capabilities(self) -> caps_mod.HostCapabilities:
        text = self._conn.getCapabilities()
        path = caps_mod.test_file_of_uri(self.uri)
        if path is not None:
            try:
                with open(path, encoding="utf-8") as f:
                    node_text = f.read()
            except OSError as e:
                raise exception.ConfigError(reason=f"{path}: {e.strerror}") from None
            text = caps_mod.merge_test_topology(text, node_text, path)
        return caps_mod.parse_capabilities(text)

    @property
    def capabilities(self) -> caps_mod.HostCapabilities:
        """The capabilities read when the host started (a host's do not change)."""
        if self._caps is None:
            raise HypervisorUnavailable(uri=self.uri, reason="not connected")
        return self._caps

    def numa_topology(self, conf: Any) -> obj.NUMATopology | None:
        """The host NUMA topology with the CPU and huge-page options applied (spec/E §3.2);
        None when libvirt reports no cells."""
        caps = self.capabilities
        if not caps.cells:
            return None
        return build_host_numa_topology(
            caps.cells, caps.online_cpus,
            cpu_shared_set=conf.compute.cpu_shared_set,
            cpu_dedicated_set=conf.compute.cpu_dedicated_set,
            vcpu_pin_set=conf.vcpu_pin_set,
            reserved_host_cpus=conf.reserved_host_cpus,
            reserved_huge_pages=conf.reserved_huge_pages)

    def pci_devices(self) -> defer.Deferred:
        """Every PCI node device as a dict (``capabilities.parse_pci_device``)."""
        def thd(conn: libvirt.virConnect) -> list[dict[str, Any]]:
            try:
                devices = conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV)
            except libvirt.libvirtError as e:
                if e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                    return []
                raise
            found = [caps_mod.parse_pci_device(dev.XMLDesc(0)) for dev in devices]
            return sorted((d for d in found if d), key=lambda d: d["address"])
        return self.call(thd)

    # -- events ----------------------------------------------------------------------------

    def register_event_listener(self, callback: Callable[[virt_driver.LifecycleEvent], Any]
                                ) -> None:
        self._listeners.append(callback)

    def _on_lifecycle(self, conn: Any, dom: libvirt.virDomain, event: int, detail: int,
                      opaque: Any) -> None:
        # libvirt's event thread: only hand over to the reactor here.
        transition = _TRANSITIONS.get(event)
        if transition is None:
            return
        self._reactor.callFromThread(self._deliver, dom.UUIDString(), transition)

    def _deliver(self, uuid: str, transition: str) -> None:
        """Any event of a guest cancels its pending "stopped"; a "stopped" waits
        ``lifecycle_delay`` seconds (Nova's ``_event_emit_delayed``)."""
        if not self._running:
            return  # an event that crossed cleanup_host: the next start reads states
        pending = self._delayed.pop(uuid, None)
        if pending is not None and pending.active():
            pending.cancel()
        event = virt_driver.LifecycleEvent(instance_uuid=uuid, transition=transition,
                                           timestamp=self._reactor.seconds())
        if transition == virt_driver.EVENT_STOPPED and self.lifecycle_delay > 0:
            self._delayed[uuid] = self._reactor.callLater(
                self.lifecycle_delay, self._emit_delayed, event)
            return
        self._emit(event)

    def _emit_delayed(self, event: virt_driver.LifecycleEvent) -> None:
        self._delayed.pop(event.instance_uuid, None)
        self._emit(event)

    def _emit(self, event: virt_driver.LifecycleEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                LOG.exception("lifecycle event listener failed for %s", event)


class HypervisorUnavailable(exception.NovaException):
    """Nova's ``HypervisorUnavailable``: libvirt cannot be reached; the service stops."""

    msg_fmt = "Connection to the hypervisor is broken on host: %(uri)s (%(reason)s)"
