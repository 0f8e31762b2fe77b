"""Microversions of the Placement API: ``OpenStack-API-Version: placement X.Y``.

Without the header a request gets the minimum, 1.0; ``latest`` is the maximum. A
malformed version is a 400, one outside 1.0 to 1.39 a 406, as in Placement.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from nova_tx.placement import exception

SERVICE_TYPE = "placement"
HEADER = "openstack-api-version"

#: What each microversion added (Placement's rest_api_version_history).
VERSIONS = (
    "1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8", "1.9", "1.10",
    "1.11", "1.12", "1.13", "1.14", "1.15", "1.16", "1.17", "1.18", "1.19", "1.20",
    "1.21", "1.22", "1.23", "1.24", "1.25", "1.26", "1.27", "1.28", "1.29", "1.30",
    "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37", "1.38", "1.39",
)

_VERSION = re.compile(r"^(\d+)\.(\d+)$")


class Version(NamedTuple):
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def matches(self, min_version: tuple[int, int] | None = None,
                max_version: tuple[int, int] | None = None) -> bool:
        """Whether this version is within [min_version, max_version]."""
        if min_version is not None and self < tuple(min_version):
            return False
        return max_version is None or self <= tuple(max_version)


MIN_VERSION = Version(1, 0)
MAX_VERSION = Version(*map(int, VERSIONS[-1].split(".")))


def parse(text: str) -> Version:
    """The Version that ``text`` names (``X.Y`` or ``latest``); BadRequest if malformed."""
    text = text.strip()
    if text == "latest":
        return MAX_VERSION
    match = _VERSION.match(text)
    if not match:
        raise exception.BadRequest(f"invalid version string: {text}")
    return Version(int(match.group(1)), int(match.group(2)))


def from_headers(values: list[str]) -> Version:
    """The version asked for by the request's ``OpenStack-API-Version`` headers.

    Each header holds comma-separated ``<service> <version>`` pairs; the one for
    ``placement`` counts.
    """
    wanted = None
    for value in values:
        for item in value.split(","):
            parts = item.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == SERVICE_TYPE:
                wanted = parts[1]
    if wanted is None:
        return MIN_VERSION
    version = parse(wanted)
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise exception.NotAcceptable(f"Unacceptable version header: {wanted}")
    return version


def header_value(version: Version) -> str:
    return f"{SERVICE_TYPE} {version}"
