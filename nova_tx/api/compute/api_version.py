"""Compute API microversions: ``X-OpenStack-Nova-API-Version: 2.x`` or
``OpenStack-API-Version: compute 2.x``.

A request without either header gets 2.1; ``latest`` is 2.93. A version that is not
``Major.Minor`` is a 400 (``InvalidAPIVersionString``); one outside 2.1 to 2.93 a 406
(``InvalidGlobalAPIVersion``), as in Nova. The legacy ``/v2`` endpoint ignores both
headers and behaves as 2.1; its request schemas are those declared for "2.0".
"""
from __future__ import annotations

import functools
import re

from nova_tx import exception
from nova_tx.api.compute import versions

#: The headers, in the case Nova writes them in responses.
HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
SERVICE_TYPE = "compute"

DEFAULT_API_VERSION = versions.MIN_API_VERSION

_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


@functools.total_ordering
class APIVersionRequest:
    """A microversion, comparable; the null version (no arguments) matches anything.

    ``matches(min, max)`` follows Nova: a null bound is open.
    """

    __slots__ = ("major", "minor")

    def __init__(self, version_string: str | None = None):
        self.major = 0
        self.minor = 0
        if version_string is not None:
            match = _VERSION.match(version_string)
            if not match:
                raise exception.InvalidAPIVersionString(version=version_string)
            self.major = int(match.group(1))
            self.minor = int(match.group(2))

    @classmethod
    def from_parts(cls, major: int, minor: int) -> APIVersionRequest:
        version = cls()
        version.major, version.minor = major, minor
        return version

    def is_null(self) -> bool:
        return self.major == 0 and self.minor == 0

    def _key(self) -> tuple[int, int]:
        return (self.major, self.minor)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = APIVersionRequest(other)
        if not isinstance(other, APIVersionRequest):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if isinstance(other, str):
            other = APIVersionRequest(other)
        if not isinstance(other, APIVersionRequest):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def matches(self, min_version: APIVersionRequest | str | None = None,
                max_version: APIVersionRequest | str | None = None) -> bool:
        """Whether this version lies in [min_version, max_version] (open if null)."""
        low = _as_version(min_version)
        high = _as_version(max_version)
        if self.is_null():
            return False
        if not low.is_null() and self < low:
            return False
        return high.is_null() or self <= high

    def get_string(self) -> str:
        if self.is_null():
            raise ValueError("null version has no string")
        return "%d.%d" % (self.major, self.minor)

    def __str__(self) -> str:
        return "%d.%d" % (self.major, self.minor)

    def __repr__(self) -> str:
        return "APIVersionRequest(%r)" % str(self)


def _as_version(value: APIVersionRequest | str | None) -> APIVersionRequest:
    if value is None:
        return APIVersionRequest()
    if isinstance(value, APIVersionRequest):
        return value
    return _parse_cached(value)


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str) -> APIVersionRequest:
    return APIVersionRequest(text)


MIN_VERSION = APIVersionRequest(versions.MIN_API_VERSION)
MAX_VERSION = APIVersionRequest(versions.MAX_API_VERSION)
#: The version the legacy ``/v2`` endpoint's request schemas are chosen with.
LEGACY_V2_VERSION = APIVersionRequest("2.0")


def min_api_version() -> APIVersionRequest:
    return MIN_VERSION


def max_api_version() -> APIVersionRequest:
    return MAX_VERSION


def requested_version(headers: list[tuple[str, str]]) -> str | None:
    """The version string a request asks for, or None (microversion_parse's rules).

    ``headers`` are (name, value) pairs. ``OpenStack-API-Version`` holds comma-separated
    ``<service> <version>`` items and wins; otherwise the last comma-separated value
    of ``X-OpenStack-Nova-API-Version``.
    """
    standard: list[str] = []
    legacy: list[str] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "openstack-api-version":
            standard.append(value)
        elif lowered == "x-openstack-nova-api-version":
            legacy.append(value)
    if standard:
        for item in ",".join(standard).split(","):
            parts = item.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == SERVICE_TYPE:
                return parts[1].strip() or None
    if legacy:
        return ",".join(legacy).split(",")[-1].strip() or None
    return None


class Negotiated:
    """The outcome of negotiation: the version, or the error with the version to echo."""

    __slots__ = ("version", "error")

    def __init__(self, version: APIVersionRequest, error: Exception | None = None):
        self.version = version
        self.error = error


def negotiate(headers: list[tuple[str, str]]) -> Negotiated:
    """The version of a request on ``/v2.1``.

    A malformed version gives a null version and a 400 error; an out-of-range one
    the version asked for (Nova echoes it in the 406 answer's headers) and a 406.
    """
    wanted = requested_version(headers)
    if wanted is None:
        return Negotiated(MIN_VERSION)
    if wanted == "latest":
        return Negotiated(MAX_VERSION)
    try:
        version = _as_version(wanted)
    except exception.InvalidAPIVersionString as e:
        return Negotiated(APIVersionRequest(), e)
    if not version.matches(MIN_VERSION, MAX_VERSION):
        return Negotiated(version, exception.InvalidGlobalAPIVersion(
            req_ver=version.get_string(), min_ver=MIN_VERSION.get_string(),
            max_ver=MAX_VERSION.get_string()))
    return Negotiated(version)
