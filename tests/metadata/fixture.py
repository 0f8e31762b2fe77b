"""A metadata service on a free port over a fresh API database and one cell, with
helpers that seed instances straight through the data layer, and an HTTP client."""
from __future__ import annotations

import base64
import uuid as uuidlib

from oslo_config import cfg
from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.web import server
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from nova_tx.api.metadata.handler import MetadataApp
from nova_tx.api.metadata.identify import sign
from nova_tx.conf import api as api_conf
from nova_tx.conf import database, default, neutron
from nova_tx.conf import metadata as metadata_conf
from nova_tx.db import migration
from nova_tx.db.api import cell_mappings, flavors, instance_mappings
from nova_tx.db.cells import CellEngines
from nova_tx.db.main import instances
from nova_tx.db.pool import DBThreadPool
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance
from nova_tx.objects.keypair import KeyPair
from tests.db.fixtures import engine_for, fresh_database_url

PROJECT = "6f70656e737461636b20342065766572"
SECRET = "s3cr3t"
PUBLIC_KEY = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lH"
              "Pm0Lm6qGxnGE8dOLGPmv8ofuOqx56EtcJo0+4rDsHkRJa7RSrAIUvTH6Zhsz1qHpnUa9xgn9"
              "RfnQQO7H5/F2kchm7UQKHCM8j7cT5V4Q6eD3ZtR+yqCr2VvD2sPwMaSKhA6H02ew== "
              "Generated-by-Nova")
USER_DATA = b"#!/bin/sh\necho hi\n"


def make_conf(**overrides) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    default.register_opts(conf)
    api_conf.register_opts(conf)
    metadata_conf.register_opts(conf)
    database.register_opts(conf)
    neutron.register_opts(conf)
    conf([], project="nova")
    for key, value in overrides.items():
        group, _, name = key.rpartition("__")
        conf.set_override(name, value, group=group or None)
    return conf


def network_info(address: str = "10.0.0.5", *, mac: str = "fa:16:3e:00:00:01",
                 floating: str | None = "172.24.4.10", dhcp: bool = False) -> list[dict]:
    meta = {"dhcp_server": "10.0.0.1"} if dhcp else {}
    return [{
        "id": "11111111-2222-3333-4444-555555555555", "address": mac, "type": "ovs",
        "devname": "tap11111111-22", "details": {}, "meta": {},
        "network": {
            "id": "net-1", "label": "private", "bridge": "br-int",
            "meta": {"mtu": 1450, "tenant_id": PROJECT},
            "subnets": [{
                "cidr": "10.0.0.0/24", "version": 4,
                "gateway": {"address": "10.0.0.1", "type": "gateway", "version": 4,
                            "meta": {}},
                "dns": [{"address": "8.8.8.8", "type": "dns", "version": 4, "meta": {}}],
                "routes": [{"cidr": "192.168.0.0/16",
                            "gateway": {"address": "10.0.0.254"}}],
                "ips": [{"address": address, "type": "fixed", "version": 4, "meta": {},
                         "floating_ips": ([{"address": floating, "type": "floating"}]
                                          if floating else [])}],
                "meta": meta}]}}]


class Reply:
    def __init__(self, response, body: bytes):
        self.code = response.code
        self.headers = response.headers
        self.body = body

    @property
    def content_type(self) -> str | None:
        values = self.headers.getRawHeaders(b"Content-Type")
        return values[-1].decode() if values else None

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def lines(self) -> list[str]:
        return self.body.decode().split("\n")


class MetadataServer:
    """``await server.get(path, ...)``; ``add_instance`` seeds one in the cell."""

    def __init__(self, testcase, *, clock=None, providers=None, network=None, **overrides):
        self.testcase = testcase
        self.conf = make_conf(**overrides)
        self.api_engine = engine_for(testcase, fresh_database_url(testcase, "sqlite"))
        migration.db_sync(self.api_engine, "api")
        self.cell_url = fresh_database_url(testcase, "sqlite")
        self.cell_engine = engine_for(testcase, self.cell_url)
        migration.db_sync(self.cell_engine, "main")
        with self.api_engine.begin() as conn:
            self.cell = cell_mappings.create(conn, transport_url="none:///",
                                             database_connection=self.cell_url,
                                             name="cell1")
            self.flavor = flavors.create(conn, Flavor(
                flavorid="1", name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1,
                extra_specs={}))
        self.pool = DBThreadPool(self.api_engine)
        self.pool.start()
        testcase.addCleanup(self.pool.stop)
        self.cells = CellEngines(self.conf)
        testcase.addCleanup(self.cells.dispose)
        self.cell_pool = DBThreadPool(self.cell_engine)
        self.cell_pool.start()
        testcase.addCleanup(self.cell_pool.stop)
        self.clock = clock or Clock()
        self.app = MetadataApp(self.conf, api_db=self.pool, cells=self.cells,
                               cell_db=self.cell_pool, network=network,
                               providers=providers, clock=self.clock)
        site = server.Site(self.app.resource())
        site.displayTracebacks = False
        self.port = reactor.listenTCP(0, site, interface="127.0.0.1")
        testcase.addCleanup(self.port.stopListening)
        self.base = "http://127.0.0.1:%d" % self.port.getHost().port
        self.agent = Agent(reactor)

    def add_instance(self, *, address: str = "10.0.0.5", project_id: str = PROJECT,
                     key: bool = True, user_data: bytes | None = USER_DATA,
                     metadata: dict | None = None, **fields) -> Instance:
        uuid = str(uuidlib.uuid4())
        keypairs = [KeyPair(name="mykey", user_id="demo", fingerprint="fp",
                            public_key=PUBLIC_KEY, type="ssh")] if key else None
        values = dict(
            uuid=uuid, project_id=project_id, user_id="demo", display_name="test-vm",
            hostname="test-vm", vm_state="active", power_state=1, flavor=self.flavor,
            image_ref="70a599e0-31e7-49b7-b260-868f441e862b", launch_index=0,
            reservation_id="r-abcd1234", availability_zone="nova",
            security_groups=[], metadata=metadata if metadata is not None
            else {"role": "webservers"},
            key_name="mykey" if key else None, key_data=PUBLIC_KEY if key else None,
            keypairs=keypairs,
            user_data=base64.b64encode(user_data).decode() if user_data else None,
            network_info=network_info(address) if address else [])
        values.update(fields)
        instance = Instance(**values)
        with self.cell_engine.begin() as conn:
            created = instances.create(conn, instance)
            instances.set_network_info(conn, uuid, instance.network_info)
        with self.api_engine.begin() as conn:
            instance_mappings.create(conn, instance_uuid=uuid, project_id=project_id,
                                     cell_mapping=self.cell)
        return created

    def proxy_headers(self, instance, *, secret: str = SECRET, tenant: str | None = None
                      ) -> dict:
        return {"X-Instance-ID": instance.uuid,
                "X-Tenant-ID": tenant or instance.project_id,
                "X-Instance-ID-Signature": sign(secret, instance.uuid)}

    async def request(self, method: str, path: str, *, headers: dict | None = None,
                      body: bytes | None = None) -> Reply:
        raw: dict[bytes, list[bytes]] = {}
        for name, value in (headers or {}).items():
            values = value if isinstance(value, list) else [value]
            raw[name.encode()] = [v.encode() if isinstance(v, str) else v for v in values]
        producer = None if body is None else FileBodyProducer(_bytes_io(body))
        target = path if isinstance(path, bytes) else path.encode()
        response = await self.agent.request(method.encode(), self.base.encode() + target,
                                            Headers(raw), producer)
        return Reply(response, await readBody(response))

    async def get(self, path: str, **kwargs) -> Reply:
        return await self.request("GET", path, **kwargs)


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)
