"""``transport_url``: which bus a service talks to, parsed as oslo.messaging parses it.

``rabbit://user:pass@host1:5672,user2:pass2@host2:5673/vhost?option=value`` lists the
brokers of one cluster (the AMQP transport tries them in turn); ``memory://`` is the
in-process bus of the all-in-one (``memory:///name`` is a separate in-process broker);
``none:///`` is what cell0's mapping records to say that it has no bus at all.

Differences from oslo.messaging, on purpose:

- A URL that oslo.messaging would accept and then fail on later (a port that is not a
  number, an empty host with credentials) is rejected here with ``InvalidTransportURL``,
  one line, password masked.
- The virtual host is ``/`` when the URL has none (``rabbit://h`` and ``rabbit://h/``):
  that is what RabbitMQ calls its default virtual host and what kombu sends for them.
- ``str()`` of a parsed URL masks passwords; ``geturl()`` gives the URL to connect with.
"""
from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from types import MappingProxyType
from urllib import parse

from oslo_config import cfg

from nova_tx.bus.exception import InvalidTransportURL
from nova_tx.bus.interfaces import ITransport

LOG = logging.getLogger(__name__)

#: Schemes that select the AMQP 0-9-1 transport (``kombu`` is oslo's old alias).
AMQP_SCHEMES = frozenset({"rabbit", "kombu"})
#: Schemes that select the in-process transport (``fake`` is what Nova's tests use).
MEMORY_SCHEMES = frozenset({"memory", "fake"})
#: The scheme of a cell without a bus (cell0).
NO_BUS_SCHEME = "none"

_MASK = "***"
# user:password@ at the start of any host of the network location.
_CREDENTIALS = re.compile(r"(?P<lead>//|,)(?P<user>[^:@/,]*):(?P<password>[^@/,]*)@")


def mask_password(url: str) -> str:
    """The URL with every host's password replaced, for messages and logs."""
    return _CREDENTIALS.sub(lambda m: f"{m['lead']}{m['user']}:{_MASK}@", url)


@dataclasses.dataclass(frozen=True)
class TransportHost:
    """One broker of the URL; ``port`` is None when the URL names none (the transport
    then uses its protocol's default)."""

    hostname: str
    port: int | None = None
    username: str | None = None
    password: str | None = None

    def netloc(self, *, mask_password: bool = False) -> str:
        credentials = ""
        if self.username is not None or self.password is not None:
            credentials = parse.quote(self.username or "", safe="")
            if self.password is not None:
                password = _MASK if mask_password else parse.quote(self.password, safe="")
                credentials += ":" + password
            credentials += "@"
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        port = "" if self.port is None else f":{self.port}"
        return credentials + host + port


@dataclasses.dataclass(frozen=True, eq=True)
class TransportURL:
    """A parsed ``transport_url``. ``hosts`` is empty for ``rabbit://`` (Nova's default
    value), which means the broker on localhost with the guest account."""

    transport: str
    hosts: tuple[TransportHost, ...] = ()
    virtual_host: str = "/"
    query: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: MappingProxyType({}), compare=False, hash=False)

    @property
    def is_bus(self) -> bool:
        """False for ``none:///``, the URL of a cell that has no message bus."""
        return self.transport != NO_BUS_SCHEME

    def geturl(self, *, mask_password: bool = False) -> str:
        netloc = ",".join(h.netloc(mask_password=mask_password) for h in self.hosts)
        vhost = "" if self.virtual_host == "/" else parse.quote(self.virtual_host, safe="")
        url = f"{self.transport}://{netloc}/{vhost}"
        if self.query:
            url += "?" + parse.urlencode(dict(self.query))
        return url

    def __str__(self) -> str:
        return self.geturl(mask_password=True)

    def __repr__(self) -> str:
        return f"<TransportURL {self.geturl(mask_password=True)}>"

    def option(self, conf: cfg.ConfigOpts, group: str, name: str):
        """The value of ``[group] name``, overridden by ``?name=value`` in the URL as
        oslo.messaging allows (``rabbit://h/?heartbeat_timeout_threshold=30``)."""
        value = getattr(conf[group], name)
        if name not in self.query:
            return value
        opt = conf._get_opt_info(name, group)["opt"]
        try:
            return opt.type(self.query[name])
        except ValueError as e:
            raise InvalidTransportURL(str(self), f"option {name}: {e}") from None

    def check_query(self, conf: cfg.ConfigOpts, group: str) -> None:
        """Fail now, in one line, for a URL option that ``[group]`` does not have or
        whose value does not parse (oslo.messaging fails the same way, less clearly)."""
        for name in self.query:
            if name not in conf[group]:
                raise InvalidTransportURL(str(self), f"unknown option {name!r} "
                                          f"(not in [{group}])")
            self.option(conf, group, name)

    @classmethod
    def parse(cls, url: str) -> TransportURL:
        if not isinstance(url, str) or not url.strip():
            raise InvalidTransportURL("", "the URL is empty")
        masked = mask_password(url)
        try:
            parts = parse.urlsplit(url.strip())
        except ValueError as e:
            raise InvalidTransportURL(masked, str(e)) from None
        if not parts.scheme:
            raise InvalidTransportURL(masked, "no scheme (expected rabbit://... or "
                                      "memory://)")
        query = {key: ",".join(values) for key, values in parse.parse_qs(parts.query).items()}
        virtual_host = parse.unquote(parts.path[1:]) if parts.path.startswith("/") else ""
        hosts = tuple(_parse_host(item, masked) for item in parts.netloc.split(",") if item)
        with_credentials = [h.hostname for h in hosts if h.password is not None]
        without_credentials = [h.hostname for h in hosts if h.password is None]
        if with_credentials and without_credentials:
            LOG.warning("transport_url %s: some hosts have credentials (%s) and some not "
                        "(%s); the ones without use the broker's default account", masked,
                        ", ".join(with_credentials), ", ".join(without_credentials))
        return cls(transport=parts.scheme, hosts=hosts, virtual_host=virtual_host or "/",
                   query=MappingProxyType(query))


def _parse_host(item: str, masked_url: str) -> TransportHost:
    username = password = None
    hostport = item
    if "@" in item:
        credentials, hostport = item.rsplit("@", 1)
        if ":" in credentials:
            username, password = credentials.split(":", 1)
            password = parse.unquote(password)
        else:
            username = credentials
        username = parse.unquote(username)
    hostname, port_text = _split_host_port(hostport, masked_url)
    if not hostname:
        raise InvalidTransportURL(masked_url, "a host has no name")
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InvalidTransportURL(masked_url, f"port {port_text!r} of host {hostname} is "
                                      "not a number from 1 to 65535")
        port = int(port_text)
    return TransportHost(hostname=hostname, port=port, username=username, password=password)


def _split_host_port(hostport: str, masked_url: str) -> tuple[str, str | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise InvalidTransportURL(masked_url, f"unbalanced '[' in host {hostport!r}")
        rest = hostport[end + 1:]
        if rest and not rest.startswith(":"):
            raise InvalidTransportURL(masked_url, f"unexpected {rest!r} after host "
                                      f"{hostport[:end + 1]}")
        return hostport[1:end], (rest[1:] if rest else None)
    if hostport.count(":") > 1:
        # A bare IPv6 address: oslo.messaging reads it as an address without a port.
        return hostport, None
    if ":" in hostport:
        hostname, port = hostport.split(":", 1)
        return hostname, port
    return hostport, None


def get_transport(conf: cfg.ConfigOpts, url: str | None = None, *,
                  reactor=None) -> ITransport:
    """The transport ``url`` (by default ``[DEFAULT] transport_url``) names, not yet
    connected.

    ``reactor`` is for the AMQP transport (tests pass a ``Clock``); the memory
    transport runs on the reactor of its broker.
    """
    parsed = TransportURL.parse(conf.transport_url if url is None else url)
    if parsed.transport in AMQP_SCHEMES:
        # Imported here: the AMQP transport pulls in txamqp, which the all-in-one on the
        # memory bus never needs.
        from nova_tx.bus.amqp import AMQPBus

        return AMQPBus(parsed, conf, reactor=reactor)
    if parsed.transport in MEMORY_SCHEMES:
        from nova_tx.bus.memory import MemoryBus, default_broker

        return MemoryBus(default_broker(parsed.virtual_host))
    if parsed.transport == NO_BUS_SCHEME:
        raise InvalidTransportURL(str(parsed), "'none' names no message bus (it is how "
                                  "cell0's mapping says it has none)")
    raise InvalidTransportURL(str(parsed), f"unsupported scheme {parsed.transport!r} "
                              "(supported: rabbit, memory)")


def get_notification_transport(conf: cfg.ConfigOpts, *, reactor=None) -> ITransport:
    """The transport for notifications: ``[oslo_messaging_notifications]
    transport_url`` when set, else the RPC one, as in oslo.messaging."""
    url = conf.oslo_messaging_notifications.transport_url or conf.transport_url
    return get_transport(conf, url, reactor=reactor)
