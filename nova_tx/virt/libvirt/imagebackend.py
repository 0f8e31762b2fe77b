"""The root disk: a qcow2 copy-on-write overlay over the image cache (Nova's ``Qcow2``
image backend).

The image is downloaded once per host into ``$instances_path/_base/<sha1 of image id>``
(Nova's cache name); every guest booted from it gets
``$instances_path/<uuid>/disk``, created with ``qemu-img create -f qcow2 -b <base> -F
<format>`` and grown to the flavor's ``root_gb``. qemu-img runs as a child process
(``getProcessOutputAndValue``), never in the reactor's thread, and concurrent builds
from one image share one download (a lock per base file).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from twisted.internet import defer, utils

from nova_tx import exception

__all__ = ["ImageCache", "QemuImgError", "Qcow2Backend", "qemu_img"]

GiB = 1024 ** 3
QEMU_IMG = "qemu-img"


class QemuImgError(exception.NovaException):
    msg_fmt = "qemu-img %(command)s failed (exit %(code_)s): %(stderr)s"


class ImageUnacceptable(exception.Invalid):
    """Nova's ``ImageUnacceptable``: the image cannot back a root disk."""

    msg_fmt = "Image %(image_id)s is unacceptable: %(reason)s"


async def qemu_img(*args: str, reactor: Any = None) -> bytes:
    """Run ``qemu-img`` with ``args``; its stdout, or ``QemuImgError`` with its stderr."""
    kwargs = {"reactor": reactor} if reactor is not None else {}
    out, err, code = await utils.getProcessOutputAndValue(
        QEMU_IMG, list(args), env={"LC_ALL": "C", "PATH": os.environ.get("PATH", "")},
        **kwargs)
    if code != 0:
        raise QemuImgError(command=args[0], code_=code,
                           stderr=err.decode(errors="replace").strip())
    return out


async def image_info(path: str, reactor: Any = None) -> dict[str, Any]:
    """``qemu-img info --output=json`` of a file (format, virtual-size, ...)."""
    out = await qemu_img("info", "--output=json", path, reactor=reactor)
    return json.loads(out)


#: Downloads an image into a path: ``fetch(image_id, path)`` (a Deferred or coroutine).
Fetcher = Callable[[str, str], Awaitable[Any]]


class ImageCache:
    """``$instances_path/_base``: one file per image, fetched once."""

    def __init__(self, instances_path: str, *, reactor: Any = None,
                 subdirectory_name: str = "_base"):
        self.base_dir = os.path.join(instances_path, subdirectory_name)
        self._reactor = reactor
        self._locks: dict[str, defer.DeferredLock] = {}

    def path(self, image_id: str) -> str:
        return os.path.join(self.base_dir, hashlib.sha1(image_id.encode()).hexdigest())

    async def ensure(self, image_id: str, fetch: Fetcher | None) -> str:
        """The base file of ``image_id``, downloading it with ``fetch`` if absent.

        The download goes to a temporary name and is renamed when complete, so a build
        never backs a disk with half an image.
        """
        path = self.path(image_id)
        lock = self._locks.setdefault(path, defer.DeferredLock())
        await lock.acquire()
        try:
            if os.path.exists(path):
                return path
            if fetch is None:
                raise ImageUnacceptable(image_id=image_id,
                                        reason="it is not in the image cache and this "
                                        "driver has no image service to fetch it from")
            os.makedirs(self.base_dir, exist_ok=True)
            part = path + ".part"
            try:
                await fetch(image_id, part)
                os.replace(part, path)
            finally:
                if os.path.exists(part):
                    os.unlink(part)
            return path
        finally:
            lock.release()


class Qcow2Backend:
    """Creates and removes the instance directory and its root disk."""

    def __init__(self, instances_path: str, *, reactor: Any = None,
                 subdirectory_name: str = "_base"):
        self.instances_path = instances_path
        self.cache = ImageCache(instances_path, reactor=reactor,
                                subdirectory_name=subdirectory_name)
        self._reactor = reactor

    def instance_dir(self, instance_uuid: str) -> str:
        return os.path.join(self.instances_path, instance_uuid)

    def disk_path(self, instance_uuid: str) -> str:
        return os.path.join(self.instance_dir(instance_uuid), "disk")

    def console_log(self, instance_uuid: str) -> str:
        return os.path.join(self.instance_dir(instance_uuid), "console.log")

    async def create_root_disk(self, instance_uuid: str, image_id: str, root_gb: int,
                               fetch: Fetcher | None = None, name: str = "disk") -> str:
        """The overlay disk of a new guest, ``root_gb`` GiB (or the image's size if
        larger, or when ``root_gb`` is 0); a flavor disk smaller than the image is
        ``FlavorDiskSmallerThanImage``-like ``ImageUnacceptable``. ``name`` is the file
        in the instance directory (``disk.rescue`` for a rescue disk)."""
        base = await self.cache.ensure(image_id, fetch)
        info = await image_info(base, self._reactor)
        fmt = info.get("format")
        if fmt not in ("raw", "qcow2"):
            raise ImageUnacceptable(image_id=image_id,
                                    reason=f"disk format {fmt} cannot back a qcow2 overlay")
        virtual = int(info.get("virtual-size") or 0)
        size = root_gb * GiB if root_gb else virtual
        if size < virtual:
            raise ImageUnacceptable(
                image_id=image_id,
                reason=f"its virtual size ({virtual} bytes) is larger than the flavor's "
                f"root disk ({root_gb} GiB)")
        os.makedirs(self.instance_dir(instance_uuid), exist_ok=True)
        disk = os.path.join(self.instance_dir(instance_uuid), name)
        await qemu_img("create", "-f", "qcow2", "-b", base, "-F", fmt, disk, str(size),
                       reactor=self._reactor)
        return disk

    async def create_blank_disk(self, instance_uuid: str, name: str, size_mb: int) -> str:
        """An empty qcow2 disk of ``size_mb`` MiB in the instance directory (ephemeral and
        swap disks; the guest formats them, nova-tx does not run mkfs on the host)."""
        if size_mb <= 0:
            raise exception.Invalid(f"Disk {name} of instance {instance_uuid} has no size")
        os.makedirs(self.instance_dir(instance_uuid), exist_ok=True)
        path = os.path.join(self.instance_dir(instance_uuid), name)
        await qemu_img("create", "-f", "qcow2", path, f"{size_mb}M", reactor=self._reactor)
        return path

    def remove(self, instance_uuid: str) -> None:
        """The instance directory and everything in it (the base stays cached)."""
        directory = self.instance_dir(instance_uuid)
        if not os.path.isdir(directory):
            return
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
