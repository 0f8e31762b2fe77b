"""Where a cell lives: its message bus and its database, as recorded in the API database.

A mapping's URLs may be templates (since Nova 18.0.0 Rocky): ``{username}``,
``{password}``, ``{hostname}``, ``{port}``, ``{path}``, ``{query}``, ``{fragment}`` and
``{scheme}`` are filled from *this host's* ``[database] connection`` (for the database
URL) or ``[DEFAULT] transport_url`` (for the bus URL) every time a mapping is loaded, so
one mapping can serve hosts that log in with different credentials.

Rules where Nova's documentation leaves a choice (Nova itself substitutes the text
``None`` for a part the base URL lacks):

- A variable whose part is absent from the base URL (``{port}`` when the base URL names
  no port, ``{password}`` when it has no password ...) is an error,
  ``CellUrlTemplateError``, naming the variable: a URL with ``None`` or an unfilled
  ``{port}`` in it would only fail later with a less helpful message. A mapping loaded
  with such a template keeps its stored text and the error is logged, so that
  ``nova-manage cell_v2 list_cells`` and ``update_cell`` can still show and fix it.
- ``hostname`` keeps the base URL's spelling, and the brackets of an IPv6 address, so
  that ``{hostname}:{port}`` rebuilds a valid network location.
- A base URL with several hosts (``rabbit://a:pa@h1:5672,b:pb@h2:5672/``) also gives
  ``username1``, ``password1``, ``hostname1``, ``port1``, ``username2`` ...; the
  unnumbered variables are those of the first host. The numbered ones exist for a
  single-host base URL too (``username1`` is ``username``).
- ``{{`` and ``}}`` stand for literal braces, as in ``str.format``; any other ``{name}``
  than those above is an error.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import string
from typing import ClassVar

from nova_tx import exception

LOG = logging.getLogger(__name__)

#: The variables every base URL provides, whatever its number of hosts.
URL_VARIABLES = ("scheme", "username", "password", "hostname", "port", "path", "query",
                 "fragment")
_HOST_VARIABLES = ("username", "password", "hostname", "port")


class CellUrlTemplateError(ValueError):
    """A cell mapping URL template that the local base URL cannot fill."""

    def __init__(self, template: str, reason: str):
        self.template = template
        self.reason = reason
        super().__init__(reason)


@dataclasses.dataclass(frozen=True)
class BaseUrls:
    """This host's own URLs, from which templated cell mapping URLs are filled.

    ``None`` means the option is not set here; a template then stays as stored.
    """

    transport_url: str | None = None
    database_connection: str | None = None

    @classmethod
    def from_conf(cls, conf) -> BaseUrls:
        return cls(transport_url=conf.transport_url,
                   database_connection=conf.database.connection)


@dataclasses.dataclass(frozen=True)
class CellMapping:
    uuid: str
    name: str | None
    transport_url: str
    database_connection: str
    disabled: bool = False
    id: int | None = None

    CELL0_UUID: ClassVar[str] = "00000000-0000-0000-0000-000000000000"
    CELL0_NAME: ClassVar[str] = "cell0"
    #: cell0 has no message bus: nothing is ever scheduled to it.
    CELL0_TRANSPORT_URL: ClassVar[str] = "none:///"

    @property
    def is_cell0(self) -> bool:
        return self.uuid == self.CELL0_UUID

    @property
    def identity(self) -> str:
        """How messages name the cell: ``name(uuid)``, or the uuid alone if unnamed."""
        return f"{self.name}({self.uuid})" if self.name else self.uuid

    def with_base_urls(self, base: BaseUrls | None) -> CellMapping:
        """This mapping with its URL templates filled from ``base`` (see the module doc)."""
        if base is None:
            return self
        return dataclasses.replace(
            self,
            transport_url=_format_or_keep(self, "transport_url", base.transport_url),
            database_connection=_format_or_keep(
                self, "database_connection", base.database_connection),
        )


def _format_or_keep(cell: CellMapping, field: str, base_url: str | None) -> str:
    stored = getattr(cell, field)
    if stored is None or "{" not in stored:
        return stored
    if base_url is None:
        LOG.error("Cell %s: %s is a template but the local option it is filled from is "
                  "not set; using it as stored", cell.identity, field)
        return stored
    try:
        return format_cell_url(stored, base_url)
    except CellUrlTemplateError as e:
        LOG.error("Cell %s: cannot fill the %s template: %s; using it as stored",
                  cell.identity, field, e.reason)
        return stored


def format_cell_url(template: str, base_url: str) -> str:
    """Fill a cell mapping URL template from this host's ``base_url``.

    Raises ``CellUrlTemplateError`` naming the variable the base URL cannot provide.
    """
    values = url_parts(base_url)
    formatter = string.Formatter()
    out = []
    try:
        parsed = list(formatter.parse(template))
    except ValueError as e:
        raise CellUrlTemplateError(template, f"malformed template: {e}") from None
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if spec or conversion:
            raise CellUrlTemplateError(
                template, f"{{{field}}} may not carry a format spec or conversion")
        if field not in values:
            raise CellUrlTemplateError(template, f"unknown variable {{{field}}}")
        value = values[field]
        if value is None:
            raise CellUrlTemplateError(
                template, f"{{{field}}} is used but the local URL {mask_password(base_url)} "
                f"has no {field.rstrip('0123456789')}")
        out.append(value)
    return "".join(out)


def url_parts(url: str) -> dict[str, str | None]:
    """The template variables of ``url``; ``None`` where the URL lacks that part."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        # "none:/" and the like: a scheme and a path, no network location.
        scheme, sep, rest = url.partition(":")
        if not sep:
            raise CellUrlTemplateError(url, "the local URL has no scheme")
        hosts, remainder = [""], rest
    else:
        hosts, remainder = _split_netloc(rest)
    remainder, _, fragment = remainder.partition("#")
    path, qmark, query = remainder.partition("?")
    parts: dict[str, str | None] = {
        "scheme": scheme,
        "path": path.lstrip("/"),
        "query": query,
        "fragment": fragment,
    }
    host_parts = [_host_parts(host) for host in hosts]
    parts.update(host_parts[0])
    for index, host in enumerate(host_parts, start=1):
        for key in _HOST_VARIABLES:
            parts[f"{key}{index}"] = host[key]
    return parts


_USERINFO = re.compile(r"[^:/@,]*(?::[^@]*)?@")
_HOSTPORT = re.compile(r"(?:\[[^\]]*\]|[^/?#,:]*)(?::[^/?#,]*)?")


def _split_netloc(rest: str) -> tuple[list[str], str]:
    """Split the hosts of a network location (``user:pw@host:port,...``) from the rest.

    A password ends at the first ``@`` and may hold ``/``, ``?`` or ``,``, as SQLAlchemy
    reads URLs; the hosts of a multi-host bus URL are separated by commas.
    """
    hosts = []
    pos = 0
    while True:
        start = pos
        userinfo = _USERINFO.match(rest, pos)
        if userinfo:
            pos = userinfo.end()
        pos = _HOSTPORT.match(rest, pos).end()
        hosts.append(rest[start:pos])
        if pos < len(rest) and rest[pos] == ",":
            pos += 1
            continue
        return hosts, rest[pos:]


def _host_parts(netloc: str) -> dict[str, str | None]:
    userinfo = _USERINFO.match(netloc)
    username = password = None
    hostport = netloc
    if userinfo:
        username, colon, pw = netloc[:userinfo.end() - 1].partition(":")
        password = pw if colon else None
        hostport = netloc[userinfo.end():]
    if hostport.startswith("["):
        close = hostport.find("]")
        hostname = hostport[:close + 1] if close != -1 else hostport
        after = hostport[close + 1:] if close != -1 else ""
        port = after[1:] if after.startswith(":") else None
    else:
        hostname, colon, port_text = hostport.partition(":")
        port = port_text if colon else None
    return {
        "username": username,
        "password": password,
        "hostname": hostname or None,
        "port": port or None,
    }


#: What a password is replaced with in messages, logs and ``list_cells``.
MASK = "****"


def mask_password(url: str) -> str:
    """``url`` as written, with every password in it replaced by ``****``.

    The one masker of nova-tx, for database and bus URLs alike. A password is what
    SQLAlchemy reads as one (``_SA_URL``: up to the first ``@`` after the first ``:``, so
    ``postgresql://user@server:pw@host/db`` has the password ``pw``) and, in a bus URL
    with several hosts, the password of each host; where the two readings differ both
    are masked, since a masker must rather hide too much than too little.
    """
    spans = []
    match = _SA_URL.match(url)
    if match and match.group("password") is not None:
        spans.append(match.span("password"))
    scheme, sep, rest = url.partition("://")
    if sep:
        hosts, _ = _split_netloc(rest)
        start = len(scheme) + len(sep)
        for host in hosts:
            userinfo = _USERINFO.match(host)
            if userinfo:
                colon = host.find(":", 0, userinfo.end())
                if colon != -1:
                    spans.append((start + colon + 1, start + userinfo.end() - 1))
            start += len(host) + 1  # and the comma after it
    masked, end = [], 0
    for span_start, span_end in _merge(spans):
        masked += [url[end:span_start], MASK]
        end = span_end
    masked.append(url[end:])
    return "".join(masked)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping ``(start, end)`` spans joined, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def cell0_database_connection(connection: str) -> str:
    """cell0's database URL derived from the local one: the database name + ``_cell0``.

    Only the database name changes; credentials, host and query string are kept as
    written. A SQLite file gets the suffix before its extension (``nova.sqlite`` ->
    ``nova_cell0.sqlite``).
    """
    match = _SA_URL.match(connection)
    database = match.group("database") if match else None
    if not database:
        raise exception.ConfigError(
            reason="cannot derive the cell0 database from [database] connection "
                   f"{mask_password(connection)}: it names no database; give "
                   "--database_connection")
    if match.group("name").split("+")[0] == "sqlite":
        if database == ":memory:" or "mode=memory" in connection:
            raise exception.ConfigError(
                reason="cannot derive the cell0 database from an in-memory SQLite "
                       "[database] connection; give --database_connection")
        root, ext = os.path.splitext(database)
        new = root + "_cell0" + ext
    else:
        new = database + "_cell0"
    start, end = match.span("database")
    return connection[:start] + new + connection[end:]


# SQLAlchemy's own reading of a URL (sqlalchemy.engine.url._parse_url), so that the
# database name is found where SQLAlchemy finds it, whatever the password holds.
_SA_URL = re.compile(
    r"""
    (?P<name>[\w\+]+)://
    (?:
        (?P<username>[^:/]*)
        (?::(?P<password>[^@]*))?
    @)?
    (?:
        (?:
            \[(?P<ipv6host>[^/\?]+)\] |
            (?P<ipv4host>[^/:\?]+)
        )?
        (?::(?P<port>[^/\?]*))?
    )?
    (?:/(?P<database>[^\?]*))?
    (?:\?(?P<query>.*))?
    $
    """,
    re.X,
)
