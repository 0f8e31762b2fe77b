"""The compute host's image cache: base images downloaded once from the image service
into ``$instances_path/<[image_cache] subdirectory_name>`` (``_base``), and the
manager pass that removes those no instance uses any more.

Names are Nova's: a base file is the SHA-1 of the image id (``_base/<sha1>``), a
resized copy a driver makes of it ``<sha1>_<size in GB>``. A driver with an image
cache (``capabilities["has_imagecache"]``) finds the image of an instance at
``base_path(image_id)`` once the build has fetched it. Every file operation runs in a
thread, never in the reactor.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from twisted.internet import defer, threads

LOG = logging.getLogger(__name__)

_ORIGINAL = re.compile(r"^[0-9a-f]{40}$")
_RESIZED = re.compile(r"^([0-9a-f]{40})_\d+$")


def base_name(image_id: str) -> str:
    return hashlib.sha1(image_id.encode("utf-8")).hexdigest()


class ImageCache:
    def __init__(self, conf: Any, image_api: Any, *, reactor: Any = None):
        if reactor is None:
            from twisted.internet import reactor
        self.conf = conf
        self.image_api = image_api
        self.reactor = reactor
        self._fetching: dict[str, list[defer.Deferred]] = {}

    @property
    def base_dir(self) -> str:
        return os.path.join(self.conf.instances_path, self.conf.image_cache.subdirectory_name)

    def base_path(self, image_id: str) -> str:
        return os.path.join(self.base_dir, base_name(image_id))

    def _thread(self, fn: Any, *args: Any) -> defer.Deferred:
        # The process's thread pool, also when ``reactor`` is a test's Clock.
        return threads.deferToThread(fn, *args)

    def is_cached(self, image_id: str) -> defer.Deferred:
        return self._thread(os.path.exists, self.base_path(image_id))

    async def fetch(self, ctxt: Any, image_id: str) -> str:
        """The path of the image's base file, downloaded unless it is cached; builds of
        the same image at the same time wait for one download."""
        path = self.base_path(image_id)
        if image_id in self._fetching:
            waiter: defer.Deferred = defer.Deferred()
            self._fetching[image_id].append(waiter)
            return await waiter
        if await self._thread(_touch_if_exists, path):
            return path
        self._fetching[image_id] = []
        try:
            await self._thread(os.makedirs, self.base_dir, 0o755, True)
            size = await self.image_api.download_to(ctxt, image_id, path)
            LOG.info("Image %s fetched into the image cache (%d bytes): %s", image_id, size,
                     path)
        except BaseException as error:
            for waiter in self._fetching.pop(image_id):
                waiter.errback(error)
            raise
        for waiter in self._fetching.pop(image_id):
            waiter.callback(path)
        return path

    def manage(self, used_image_ids: Iterable[str]) -> defer.Deferred:
        """One pass of the image cache manager (a Deferred of the removed file names):
        base files of images in use are touched; the others are removed when
        ``remove_unused_base_images`` is set and they are older than
        ``remove_unused_original_minimum_age_seconds`` (resized copies:
        ``remove_unused_resized_minimum_age_seconds``)."""
        options = self.conf.image_cache
        used = {base_name(i) for i in used_image_ids if i}
        return self._thread(_manage, self.base_dir, used, options.remove_unused_base_images,
                            options.remove_unused_original_minimum_age_seconds,
                            options.remove_unused_resized_minimum_age_seconds)


def _touch_if_exists(path: str) -> bool:
    try:
        os.utime(path, None)
    except FileNotFoundError:
        return False
    return True


def _manage(base_dir: str, used: set[str], remove: bool, original_age: int,
            resized_age: int) -> list[str]:
    try:
        names = sorted(os.listdir(base_dir))
    except FileNotFoundError:
        return []
    now = time.time()
    removed = []
    for name in names:
        resized = _RESIZED.match(name)
        if resized:
            image, minimum_age = resized.group(1), resized_age
        elif _ORIGINAL.match(name):
            image, minimum_age = name, original_age
        else:
            continue
        path = os.path.join(base_dir, name)
        if image in used:
            LOG.debug("Image cache: %s is in use", path)
            _touch_if_exists(path)
            continue
        if not remove:
            LOG.info("Image cache: %s is unused; remove_unused_base_images is off", path)
            continue
        try:
            age = now - os.path.getmtime(path)
        except FileNotFoundError:
            continue
        if age < minimum_age:
            LOG.info("Image cache: %s is unused but too young to remove (%d s)", path, age)
            continue
        LOG.info("Image cache: removing unused base file %s", path)
        try:
            os.remove(path)
        except OSError as error:
            LOG.error("Image cache: failed to remove %s: %s", path, error)
            continue
        removed.append(name)
    return removed
