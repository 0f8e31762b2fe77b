"""The image port's adapter: a Glance v2 client over HTTP (treq).

It talks to a real Glance or to the embedded image store alike. The endpoint is, as in
Nova, the deprecated ``[glance] api_servers`` when set (tried in turn on connection
errors, ``num_retries`` times), else ``[glance] endpoint_override``, else the caller's
service catalog; nova-tx adds a last resort, the embedded store at ``[embedded]
image_listen`` / ``image_port``. The caller's
token is passed through. Image data streams both ways: uploads are read from files in
a thread, downloads are written to files in a thread, and the client pauses the
connection while the disk catches up.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

from oslo_config import cfg
from twisted.internet import defer, protocol, threads
from twisted.internet.interfaces import IConsumer
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from zope.interface import implementer

from nova_tx import log
from nova_tx.conf import embedded_services
from nova_tx.conf import glance as glance_conf
from nova_tx.context import RequestContext
from nova_tx.http_client import ServiceClient, ServiceUnavailable, local_url
from nova_tx.image import api

LOG = log.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
#: Chunks a download may hold before the connection is paused.
HIGH_WATER = 16
CORE = ("name", "visibility", "disk_format", "container_format", "min_disk", "min_ram",
        "protected", "os_hidden", "owner", "tags")
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"


def api_servers(conf: cfg.ConfigOpts) -> list[str]:
    """``[glance] api_servers``, which Nova prefers to any other endpoint when set."""
    return [s if "://" in s else "http://" + s for s in conf.glance.api_servers or ()]


@implementer(api.IImageAPI)
class GlanceImageAPI:
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None):
        glance_conf.register_opts(conf)
        embedded_services.register_opts(conf)
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        embedded = local_url(conf.embedded.image_listen, conf.embedded.image_port)
        self.client = ServiceClient(conf.glance, [embedded], reactor=reactor,
                                    preferred=lambda: api_servers(conf),
                                    retries=conf.glance.num_retries, version_suffix="/v2")

    def close(self) -> defer.Deferred:
        return self.client.close()

    async def _call(self, context: RequestContext, method: str, path: str,
                    image_id: str | None = None, **kw: Any):
        try:
            response = await self.client.request(context, method, path, prefix="/v2", **kw)
        except ServiceUnavailable as e:
            raise api.ImageServiceUnavailable(server=e.url, reason=e.reason) from None
        if response.code >= 400:
            body = await self.client.json(response)
            raise _error(response.code, image_id, body)
        return response

    async def get(self, context: RequestContext, image_id: str) -> dict[str, Any]:
        response = await self._call(context, "GET", f"/images/{image_id}", image_id)
        return await self.client.json(response)

    async def list(self, context: RequestContext, filters: dict[str, Any] | None = None, *,
                   limit: int | None = None, marker: str | None = None,
                   sort_key: str | None = None, sort_dir: str | None = None
                   ) -> list[dict[str, Any]]:
        params: list[tuple[str, str]] = []
        for name, value in (filters or {}).items():
            for item in value if isinstance(value, (list, tuple)) else [value]:
                params.append((name, str(item).lower() if isinstance(item, bool)
                               else str(item)))
        if sort_key:
            params.append(("sort_key", sort_key))
        if sort_dir:
            params.append(("sort_dir", sort_dir))
        images: list[dict] = []
        while True:
            page = list(params)
            if limit is not None:
                page.append(("limit", str(limit - len(images))))
            if marker:
                page.append(("marker", marker))
            response = await self._call(context, "GET", "/images", params=page)
            body = await self.client.json(response)
            images += body.get("images", [])
            if not body.get("next") or not body["images"] or (
                    limit is not None and len(images) >= limit):
                return images[:limit] if limit is not None else images
            marker = body["images"][-1]["id"]

    async def create(self, context: RequestContext, image_meta: dict[str, Any],
                     data: Any = None) -> dict[str, Any]:
        meta = {k: v for k, v in image_meta.items() if v is not None or k in CORE}
        properties = meta.pop("properties", None) or {}
        meta.update({k: str(v) for k, v in properties.items()})
        response = await self._call(context, "POST", "/images", body=meta)
        image = await self.client.json(response)
        if data is not None:
            image = await self.upload(context, image["id"], data)
        return image

    async def update(self, context: RequestContext, image_id: str, changes: dict[str, Any],
                     remove: list[str] | None = None) -> dict[str, Any]:
        current = await self.get(context, image_id)
        ops: list[dict] = []
        for name, value in changes.items():
            if name in CORE:
                ops.append({"op": "replace", "path": "/" + _escape(name), "value": value})
            else:
                ops.append({"op": "add", "path": "/" + _escape(name), "value": str(value)})
        for name in remove or ():
            if name in current:
                ops.append({"op": "remove", "path": "/" + _escape(name)})
        if not ops:
            return current
        response = await self._call(context, "PATCH", f"/images/{image_id}", image_id,
                                    body=ops, headers={"content-type": PATCH_TYPE})
        return await self.client.json(response)

    async def upload(self, context: RequestContext, image_id: str, data: Any
                     ) -> dict[str, Any]:
        if isinstance(data, (str, os.PathLike)):
            f = await threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(),
                                                open, data, "rb")
            try:
                return await self._upload(context, image_id, ThreadedFileProducer(
                    self.reactor, f, os.fstat(f.fileno()).st_size))
            finally:
                self.reactor.callInThread(f.close)
        if hasattr(data, "read"):
            return await self._upload(context, image_id, ThreadedFileProducer(
                self.reactor, data, UNKNOWN_LENGTH))
        return await self._upload(context, image_id, bytes(data))

    async def _upload(self, context: RequestContext, image_id: str, data: Any) -> dict:
        await self._call(context, "PUT", f"/images/{image_id}/file", image_id, data=data,
                         headers={"content-type": "application/octet-stream"})
        return await self.get(context, image_id)

    async def download(self, context: RequestContext, image_id: str
                       ) -> AsyncIterator[bytes]:
        response = await self._call(context, "GET", f"/images/{image_id}/file", image_id)
        if response.code == 204:
            raise api.ImageNotActive(image_id=image_id)
        expected = (response.headers.getRawHeaders("content-md5") or [None])[0]
        md5 = hashlib.md5(usedforsecurity=False)
        stream = _BodyStream()
        response.deliverBody(stream)
        async for chunk in stream:
            md5.update(chunk)
            yield chunk
        if expected and md5.hexdigest() != expected:
            raise api.ImageChecksumMismatch(image_id=image_id)

    async def download_to(self, context: RequestContext, image_id: str, path: str) -> int:
        pool = self.reactor.getThreadPool()
        partial = path + ".part"
        f = await threads.deferToThreadPool(self.reactor, pool, open, partial, "wb")
        size = 0
        try:
            async for chunk in self.download(context, image_id):
                await threads.deferToThreadPool(self.reactor, pool, f.write, chunk)
                size += len(chunk)
            await threads.deferToThreadPool(self.reactor, pool, f.close)
            await threads.deferToThreadPool(self.reactor, pool, os.replace, partial, path)
        except BaseException:
            f.close()
            self.reactor.callInThread(_unlink, partial)
            raise
        return size

    async def delete(self, context: RequestContext, image_id: str) -> None:
        await self._call(context, "DELETE", f"/images/{image_id}", image_id)


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _error(code: int, image_id: str | None, body: Any) -> Exception:
    message = body.get("message", body) if isinstance(body, dict) else body
    if code == 404:
        return api.ImageNotFound(image_id=image_id)
    if code in (401, 403):
        return api.ImageNotAuthorized(image_id=image_id)
    if code == 409:
        return api.ImageUploadConflict(image_id=image_id, reason=message)
    if code == 400 or code == 413 or code == 415:
        return api.ImageBadRequest(image_id=image_id, response=message)
    return api.ImageServiceUnavailable(server="glance", reason=f"{code}: {message}")


class _BodyStream(protocol.Protocol):
    """A response body as an async iterator of chunks, pausing the transport while
    more than HIGH_WATER chunks wait."""

    def __init__(self):
        self._chunks: list[bytes] = []
        self._waiting: defer.Deferred | None = None
        self._done: Failure | None = None
        self._paused = False

    def dataReceived(self, data: bytes) -> None:
        self._chunks.append(data)
        if len(self._chunks) > HIGH_WATER and not self._paused:
            self._paused = True
            self.transport.pauseProducing()
        self._wake()

    def connectionLost(self, reason: Failure) -> None:
        self._done = reason
        self._wake()

    def _wake(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.callback(None)

    async def __aiter__(self):
        while True:
            if self._chunks:
                yield self._chunks.pop(0)
                if self._paused and len(self._chunks) <= HIGH_WATER // 2:
                    self._paused = False
                    self.transport.resumeProducing()
                continue
            if self._done is not None:
                if not self._done.check(ResponseDone, PotentialDataLoss):
                    self._done.raiseException()
                return
            self._waiting = defer.Deferred()
            await self._waiting


@implementer(IBodyProducer)
class ThreadedFileProducer:
    """A request body read from a file object in a thread, chunk by chunk."""

    def __init__(self, reactor: Any, f: Any, length: int | object):
        self._reactor = reactor
        self._file = f
        self.length = length
        self._paused: defer.Deferred | None = None
        self._stopped = False

    async def _produce(self, consumer: IConsumer) -> None:
        pool = self._reactor.getThreadPool()
        while not self._stopped:
            if self._paused is not None:
                await self._paused
                continue
            chunk = await threads.deferToThreadPool(self._reactor, pool, self._file.read,
                                                    CHUNK_SIZE)
            if not chunk or self._stopped:
                return
            consumer.write(chunk)

    def startProducing(self, consumer: IConsumer) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._produce(consumer))

    def pauseProducing(self) -> None:
        if self._paused is None:
            self._paused = defer.Deferred()

    def resumeProducing(self) -> None:
        paused, self._paused = self._paused, None
        if paused is not None:
            paused.callback(None)

    def stopProducing(self) -> None:
        self._stopped = True
        self.resumeProducing()
