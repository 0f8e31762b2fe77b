"""The ``DynamicJSON`` vendordata provider: each ``[api] vendordata_dynamic_targets``
entry ``name@url`` is POSTed the instance's facts, and its JSON answer becomes
``vendor_data2.json[name]`` (Nova's ``nova/api/metadata/vendordata_dynamic.py``).

Failures (connection, timeout, HTTP error, bad JSON) give ``{}`` for that target with
a warning, or fail the request when ``vendordata_dynamic_failure_fatal`` is set.
Targets are called with the token of ``[vendordata_dynamic_auth]``'s service user
(``X-Auth-Token``), or without one when that group has no ``auth_type``.
"""
from __future__ import annotations

import json
from typing import Any

import treq
from zope.interface import implementer

from nova_tx import log
from nova_tx.metadata.errors import VendorDataFailed
from nova_tx.metadata.vendordata import IVendorDataProvider

LOG = log.getLogger(__name__)

USER_AGENT = b"openstack-nova-vendordata"


def targets(conf: Any) -> list[tuple[str, str]]:
    """``(name, url)`` pairs: entries without ``@`` and repeated names skipped."""
    found: list[tuple[str, str]] = []
    names: set[str] = set()
    for entry in conf.api.vendordata_dynamic_targets:
        if "@" not in entry:
            LOG.warning("Vendordata target %s lacks a name. Skipping", entry)
            continue
        name, url = entry.split("@", 1)
        if name in names:
            LOG.warning("Vendordata already contains an entry named %s. Skipping", name)
            continue
        names.add(name)
        found.append((name, url))
    return found


def request_body(instance: Any) -> dict:
    # user-data goes as Nova sends it: the base64 text the API stored.
    return {
        "project-id": instance.project_id,
        "instance-id": instance.uuid,
        "image-id": instance.image_ref,
        "user-data": instance.user_data,
        "hostname": instance.hostname,
        "metadata": dict(instance.metadata or {}),
        "boot-roles": (instance.system_metadata or {}).get("boot_roles", ""),
    }


@implementer(IVendorDataProvider)
class DynamicJSON:
    name = "DynamicJSON"

    def __init__(self) -> None:
        #: The service user's token, per configuration (one per process in practice).
        self._tokens: dict[int, Any] = {}

    def _token(self, conf: Any, reactor: Any):
        from nova_tx.metadata.vendordata_auth import VendordataToken

        if "vendordata_dynamic_auth" not in conf:
            from nova_tx.conf import metadata as metadata_conf

            metadata_conf.register_opts(conf)
        token = self._tokens.get(id(conf))
        if token is None:
            token = self._tokens[id(conf)] = VendordataToken(conf, reactor)
        return token

    async def get(self, conf: Any, instance: Any, *, reactor: Any = None) -> dict:
        if reactor is None:
            from twisted.internet import reactor
        found: dict[str, Any] = {}
        targets_ = targets(conf)
        if not targets_:
            return found
        body = json.dumps(request_body(instance)).encode()
        try:
            token = await self._token(conf, reactor).get()
        except Exception as e:
            LOG.warning("Dynamic vendordata: no token from [vendordata_dynamic_auth]: %s",
                        e)
            if conf.api.vendordata_dynamic_failure_fatal:
                raise VendorDataFailed(target="(authentication)", reason=str(e)) from None
            return {name: {} for name, _ in targets_}
        for name, url in targets_:
            found[name] = await self._call(conf, name, url, body, reactor, token)
        return found

    async def _call(self, conf: Any, name: str, url: str, body: bytes, reactor: Any,
                    token: str | None = None) -> dict:
        group = conf.api
        try:
            return await _post(url, body, reactor, token=token,
                               connect_timeout=group.vendordata_dynamic_connect_timeout,
                               read_timeout=group.vendordata_dynamic_read_timeout,
                               cafile=group.vendordata_dynamic_ssl_certfile)
        except Exception as e:  # any failure of the target is the same to the guest
            LOG.warning("Error from dynamic vendordata service %s at %s: %s",
                        name, url, e)
            if group.vendordata_dynamic_failure_fatal:
                raise VendorDataFailed(target=name, reason=str(e) or type(e).__name__
                                       ) from None
            return {}


class _HTTPError(Exception):
    pass


def _agent(url: str, reactor: Any, connect_timeout: float, cafile: str):
    """An Agent whose TCP connect gives up after ``connect_timeout``; HTTPS verified
    against ``cafile`` when set, else the system's trust store."""
    from twisted.internet import ssl
    from twisted.web.client import Agent, BrowserLikePolicyForHTTPS

    policy = BrowserLikePolicyForHTTPS()
    if url.startswith("https") and cafile:
        with open(cafile, "rb") as f:
            authority = ssl.Certificate.loadPEM(f.read())
        policy = BrowserLikePolicyForHTTPS(trustRoot=authority)
    return Agent(reactor, contextFactory=policy, connectTimeout=connect_timeout)


async def _post(url: str, body: bytes, reactor: Any, *, connect_timeout: float,
                read_timeout: float, cafile: str, token: str | None = None) -> dict:
    agent = _agent(url, reactor, connect_timeout, cafile)
    client = treq.client.HTTPClient(agent)
    headers = {b"Content-Type": [b"application/json"], b"Accept": [b"application/json"],
               b"User-Agent": [USER_AGENT]}
    if token:
        headers[b"X-Auth-Token"] = [token.encode()]
    total = connect_timeout + read_timeout
    pending = client.post(url, data=body, headers=headers)
    pending.addTimeout(total, reactor)
    response = await pending
    reading = treq.content(response)
    reading.addTimeout(read_timeout or total, reactor)
    content = await reading
    if response.code >= 400:
        raise _HTTPError("HTTP %d" % response.code)
    if not content.strip():
        return {}
    value = json.loads(content)
    if not isinstance(value, dict):
        raise ValueError("the answer is not a JSON object")
    return value
