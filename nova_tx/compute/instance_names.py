"""The names a new server gets and the secrets it is given (Nova's ``utils``
``generate_password``, ``generate_uid``, ``sanitize_hostname`` and
``compute/api.py`` ``_populate_instance_names``)."""
from __future__ import annotations

import re
import secrets

from nova_tx.objects.instance import Instance

#: Nova's ``utils.DEFAULT_PASSWORD_SYMBOLS`` (no look-alike characters).
PASSWORD_SYMBOLS = ("23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz")
_UID_CHARS = "01234567890abcdefghijklmnopqrstuvwxyz"


def generate_password(length: int = 12, symbolgroups: tuple[str, ...] = PASSWORD_SYMBOLS
                      ) -> str:
    """Nova's ``utils.generate_password``: one character of each group, the rest from
    all of them, shuffled."""
    rng = secrets.SystemRandom()
    password = [rng.choice(group) for group in symbolgroups][:length]
    everything = "".join(symbolgroups)
    password.extend(rng.choice(everything) for _ in range(length - len(password)))
    rng.shuffle(password)
    return "".join(password)


def generate_uid(topic: str, size: int = 8) -> str:
    """``r-xxxxxxxx``: a reservation id (Nova's ``utils.generate_uid``)."""
    rng = secrets.SystemRandom()
    return "%s-%s" % (topic, "".join(rng.choice(_UID_CHARS) for _ in range(size)))


def sanitize_hostname(hostname: str, default_name: str | None = None) -> str:
    """Nova's ``utils.sanitize_hostname``: Latin-1 only, at most 63 characters, spaces,
    underscores and dots as dashes, nothing but word characters and dashes, lower
    case, no leading or trailing dot or dash."""
    hostname = hostname.encode("latin-1", "ignore").decode("latin-1")[:63]
    hostname = re.sub(r"[ _\.]", "-", hostname)
    hostname = re.sub(r"[^\w.-]+", "", hostname)
    hostname = hostname.lower().strip(".-")
    if hostname == "" and default_name is not None:
        return default_name[:63]
    return hostname


#: The display names of a multiple create: Nova's ``name-1``, ``name-2`` ...
DEFAULT_MULTI_INSTANCE_TEMPLATE = "%(name)s-%(count)d"


def multi_instance_display_name(template: str | None, name: str, index: int,
                                uuid: str) -> str:
    """One display name of a multiple create from ``[DEFAULT]
    multi_instance_display_name_template`` (``%(name)s``, ``%(count)d`` from 1,
    ``%(uuid)s``); a template that does not format falls back to Nova's default."""
    values = {"name": name, "count": index + 1, "uuid": uuid}
    try:
        return (template or DEFAULT_MULTI_INSTANCE_TEMPLATE) % values
    except (KeyError, TypeError, ValueError):
        return DEFAULT_MULTI_INSTANCE_TEMPLATE % values


def populate_names(instance: Instance, num_instances: int, index: int,
                   template: str | None = None) -> None:
    """Display name and hostname of one of ``num_instances`` (Nova's
    ``_populate_instance_names``): ``name-1``, ``name-2`` ... when several, the
    hostnames likewise (``name-1`` sanitised), ``Server-<uuid>`` when the name leaves
    nothing of a hostname; a requested hostname (2.90) is kept."""
    if not instance.hostname:
        hostname = sanitize_hostname(instance.display_name or "")
        if not hostname:
            hostname = "Server-%s" % instance.uuid
        elif num_instances > 1:
            hostname = "%s-%d" % (hostname, index + 1)
        instance.hostname = hostname
    if num_instances > 1:
        instance.display_name = multi_instance_display_name(
            template, instance.display_name or "", index, instance.uuid)
