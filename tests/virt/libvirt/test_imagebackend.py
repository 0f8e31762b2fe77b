"""The qcow2 root disk over the image cache, made with the real qemu-img."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

from twisted.internet import defer, task
from twisted.trial import unittest

from nova_tx.virt.libvirt import imagebackend
from nova_tx.virt.libvirt.imagebackend import GiB, ImageUnacceptable, Qcow2Backend, QemuImgError
from tests.helpers import unavailable

IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"


class Fetcher:
    """Writes a raw image of ``size`` bytes with qemu-img, counting the downloads."""

    def __init__(self, size: str = "64M", fail: bool = False):
        self.size = size
        self.fail = fail
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, image_id: str, path: str) -> None:
        self.calls.append((image_id, path))
        from twisted.internet import reactor

        await task.deferLater(reactor, 0.01, lambda: None)
        await imagebackend.qemu_img("create", "-f", "raw", path, self.size)
        if self.fail:
            raise RuntimeError("the image service went away")


class Qcow2BackendTest(unittest.TestCase):
    def setUp(self):
        if not shutil.which("qemu-img"):
            unavailable("qemu-img (Debian's qemu-utils)")
        self.path = tempfile.mkdtemp(prefix="nova-tx-instances-")
        self.addCleanup(shutil.rmtree, self.path, True)
        self.backend = Qcow2Backend(self.path)

    async def test_overlay_on_the_cached_base_grown_to_root_gb(self):
        fetch = Fetcher()
        disk = await self.backend.create_root_disk("u1", IMAGE, 1, fetch)
        base = os.path.join(self.path, "_base", hashlib.sha1(IMAGE.encode()).hexdigest())
        self.assertEqual(disk, os.path.join(self.path, "u1", "disk"))
        info = await imagebackend.image_info(disk)
        self.assertEqual(info["format"], "qcow2")
        self.assertEqual(info["virtual-size"], GiB)
        self.assertEqual(info["backing-filename"], base)
        self.assertEqual(info.get("backing-filename-format"), "raw")
        self.assertEqual(fetch.calls, [(IMAGE, base + ".part")])
        # Small: the overlay holds only its own writes.
        self.assertLess(os.path.getsize(disk), 1024 * 1024)

    async def test_root_gb_zero_takes_the_image_size(self):
        disk = await self.backend.create_root_disk("u1", IMAGE, 0, Fetcher("64M"))
        self.assertEqual((await imagebackend.image_info(disk))["virtual-size"], 64 * 1024 ** 2)

    async def test_concurrent_builds_download_once(self):
        fetch = Fetcher()
        disks = await defer.gatherResults([
            defer.ensureDeferred(self.backend.create_root_disk(u, IMAGE, 1, fetch))
            for u in ("u1", "u2", "u3")])
        self.assertEqual(len(fetch.calls), 1)
        self.assertEqual(len(set(disks)), 3)
        await self.backend.create_root_disk("u4", IMAGE, 1, fetch)
        self.assertEqual(len(fetch.calls), 1)

    async def test_image_larger_than_the_flavor_disk(self):
        e = await self.assertFailure(defer.ensureDeferred(
            self.backend.create_root_disk("u1", IMAGE, 1, Fetcher("2G"))), ImageUnacceptable)
        self.assertIn("larger than the flavor's root disk (1 GiB)", str(e))
        self.assertFalse(os.path.exists(self.backend.disk_path("u1")))

    async def test_not_cached_and_nothing_to_fetch_with(self):
        await self.assertFailure(defer.ensureDeferred(
            self.backend.create_root_disk("u1", IMAGE, 1, None)), ImageUnacceptable)

    async def test_failed_download_leaves_no_partial_base(self):
        await self.assertFailure(defer.ensureDeferred(
            self.backend.create_root_disk("u1", IMAGE, 1, Fetcher(fail=True))), RuntimeError)
        self.assertEqual(os.listdir(os.path.join(self.path, "_base")), [])
        fetch = Fetcher()
        await self.backend.create_root_disk("u1", IMAGE, 1, fetch)
        self.assertEqual(len(fetch.calls), 1)

    async def test_qemu_img_errors_carry_its_message(self):
        e = await self.assertFailure(defer.ensureDeferred(
            imagebackend.qemu_img("info", os.path.join(self.path, "missing"))), QemuImgError)
        self.assertIn("missing", str(e))

    async def test_remove_keeps_the_cache(self):
        await self.backend.create_root_disk("u1", IMAGE, 1, Fetcher())
        self.backend.remove("u1")
        self.assertFalse(os.path.exists(os.path.join(self.path, "u1")))
        self.assertEqual(len(os.listdir(os.path.join(self.path, "_base"))), 1)
        self.backend.remove("u1")
