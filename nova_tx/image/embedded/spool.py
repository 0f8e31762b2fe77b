"""Request bodies spooled to disk by a thread, so that an upload is never written to a
file in the reactor thread.

twisted.web keeps a body of 100,000 bytes or more (or of unknown length) in a
temporary file that it writes as data arrives, in the reactor thread. The image store's
site uses :class:`SpoolingRequest` instead: such a body goes to a :class:`ThreadedSpool`,
whose writes run one after the other in a thread, and which pauses the connection while
more than :data:`HIGH_WATER` bytes wait for the disk. A handler awaits
:meth:`ThreadedSpool.ready` before reading the body (in a thread too).
"""
from __future__ import annotations

import os
import tempfile
from typing import Any

from twisted.internet import defer
from twisted.web import server

from nova_tx import log
from nova_tx.embedded_web import in_thread
from nova_tx.image.embedded import errors

LOG = log.getLogger(__name__)

#: Bodies smaller than this stay in memory (twisted.web's own threshold).
MEMORY_LIMIT = 100_000
HIGH_WATER = 8 * 1024 * 1024
LOW_WATER = 2 * 1024 * 1024


class ThreadedSpool:
    """A write-only file during the upload, a readable one (from threads) after."""

    def __init__(self, reactor: Any, directory: str | None, transport: Any = None, *,
                 limit: int | None = None):
        self._reactor = reactor
        #: Bytes kept at most; beyond, the rest is dropped and ready() fails.
        self._limit = limit
        self._directory = directory
        self._transport = transport
        self._file: Any = None
        self._size = 0
        self._pending = 0
        self._paused = False
        self._error: BaseException | None = None
        self._last: defer.Deferred = defer.succeed(None)
        self.closed = False

    # -- what twisted.web calls, in the reactor thread -------------------------------

    def write(self, data: bytes) -> None:
        if self._error is not None or self.closed:
            return
        self._size += len(data)
        if self._limit is not None and self._size > self._limit:
            self.refuse(errors.RequestEntityTooLarge(
                f"Image exceeds the storage quota: {self._limit} bytes at most"))
            return
        self._pending += len(data)
        if self._pending > HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pauseProducing()
        self._last.addCallback(lambda _: in_thread(self._reactor, None, self._write, data))
        self._last.addCallbacks(self._written, self._failed, callbackArgs=(len(data),))

    def refuse(self, error: BaseException) -> None:
        """Keep nothing more; :meth:`ready` fails with ``error``."""
        if self._error is None:
            self._error = error
        self._resume()

    def tell(self) -> int:
        return self._size

    def seek(self, offset: int, whence: int = 0) -> None:
        """Recorded by :meth:`ready`, which rewinds (twisted.web rewinds before
        processing the request)."""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._resume()
        self._last.addBoth(lambda _: in_thread(self._reactor, None, self._close))

    # -- for the handler -------------------------------------------------------------

    def ready(self) -> defer.Deferred:
        """Fires once every write is on disk and the file is rewound (fails with the
        write error, if any)."""
        done: defer.Deferred = defer.Deferred()

        def rewind(_):
            if self._error is not None:
                raise self._error
            return in_thread(self._reactor, None, self._rewind)

        self._last.addCallback(rewind)
        self._last.chainDeferred(done)
        self._last = defer.succeed(None)
        return done

    def read(self, size: int = -1) -> bytes:
        """Call from a thread, after :meth:`ready`."""
        return self._file.read(size) if self._file is not None else b""

    # -- in the thread -----------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._file is None:
            if self._directory:
                os.makedirs(self._directory, exist_ok=True)
            self._file = tempfile.TemporaryFile(dir=self._directory, prefix="upload-")
        self._file.write(data)

    def _rewind(self) -> None:
        if self._file is not None:
            self._file.seek(0)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()

    # -- bookkeeping, in the reactor thread ------------------------------------------

    def _written(self, _, size: int) -> None:
        self._pending -= size
        if self._pending < LOW_WATER:
            self._resume()

    def _failed(self, failure) -> None:
        LOG.error("Could not spool an upload: %s", failure.getErrorMessage())
        self._error = failure.value
        self._resume()

    def _resume(self) -> None:
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resumeProducing()


class SpoolingRequest(server.Request):
    """A twisted.web request whose large bodies go to a ThreadedSpool."""

    spool_directory: str | None = None
    size_cap: int | None = None

    def gotLength(self, length: int | None) -> None:
        if length is not None and length < MEMORY_LIMIT:
            super().gotLength(length)
            return
        from twisted.internet import reactor

        transport = getattr(self.channel, "transport", None)
        self.content = ThreadedSpool(reactor, self.spool_directory, transport,
                                     limit=self.size_cap)
        if length is not None and self.size_cap is not None and length > self.size_cap:
            # Said too large up front: nothing of it is written.
            self.content.refuse(errors.RequestEntityTooLarge(
                f"Image exceeds the storage quota: {self.size_cap} bytes at most"))


def spooling_request_factory(directory: str, size_cap: int | None = None
                             ) -> type[SpoolingRequest]:
    """A request class spooling into ``directory`` (a Site's ``requestFactory``),
    keeping ``size_cap`` bytes at most."""
    return type("ImageUploadRequest", (SpoolingRequest,),
                {"spool_directory": directory, "size_cap": size_cap})
