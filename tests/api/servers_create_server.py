"""``POST /servers`` over HTTP: the compute API on fresh SQLite API and cell databases,
the embedded image store and network service on free ports, and the conductor's
queue on an in-memory bus where the ``schedule_and_build_instances`` casts land."""
from __future__ import annotations

import json
import uuid

from nova_tx.api.compute import server_groups, servers_create
from nova_tx.bus.interfaces import Binding
from nova_tx.conductor.rpcapi import ComputeTaskAPI
from nova_tx.conf import embedded_services, glance, neutron
from nova_tx.context import RequestContext
from nova_tx.db.api import flavors as flavors_db
from nova_tx.image.embedded.seed import SEED_ID
from nova_tx.image.glance import GlanceImageAPI
from nova_tx.network.neutron import NeutronNetworkAPI
from nova_tx.objects.flavor import Flavor
from tests.api.quota_server import RESOURCES as QUOTA_RESOURCES
from tests.api.quota_server import SAMPLE_PROJECT, QuotaServer
from tests.bus import Collector, wait_until
from tests.image.fixture import ImageServer
from tests.network.fixture import NetworkServer

USER = f"fake:{SAMPLE_PROJECT}"
ADMIN = f"admin:{SAMPLE_PROJECT}"
SERVERS = "/v2.1/servers"
#: The embedded store's seed image: active, raw, a few MiB.
IMAGE = SEED_ID
TABLES = ("build_requests", "request_specs", "instance_mappings", "instance_group_member")


def version(v: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {v}"}


class ServersServer(QuotaServer):
    """``await ServersServer.start(testcase, ...)``; then ``request`` as APIServer,
    ``create(...)`` for a 202, ``casts()`` for the conductor's messages and
    ``rows(table)`` for what the API database holds."""

    RESOURCES = QUOTA_RESOURCES + [servers_create.routes, server_groups.routes]
    TABLES = TABLES
    #: The API database's engine: sqlite, postgresql or mysql (tests/db/fixtures.py).
    backend = "sqlite"

    def _api_database(self, testcase) -> None:
        from nova_tx.db import migration
        from tests.db.fixtures import engine_for, fresh_database_url

        self.engine = engine_for(testcase, fresh_database_url(testcase, self.backend))
        migration.db_sync(self.engine, "api")

    @classmethod
    async def start(cls, testcase, *, conf_overrides: dict | None = None,
                    backend: str = "sqlite", **kwargs) -> ServersServer:
        images = ImageServer(testcase)
        await images.start()
        networks = NetworkServer(testcase)
        await networks.start()
        kind = cls if backend == "sqlite" else type(
            f"{cls.__name__}_{backend}", (cls,), {"backend": backend})
        server = kind(testcase, **kwargs)
        conf = server.conf
        for module in (embedded_services, glance, neutron):
            module.register_opts(conf)
        conf.set_override("image_listen", "127.0.0.1", group="embedded")
        conf.set_override("image_port", images.service.port, group="embedded")
        conf.set_override("network_listen", "127.0.0.1", group="embedded")
        conf.set_override("network_port", networks.service.port, group="embedded")
        for name, value in (conf_overrides or {}).items():
            group, _, option = name.rpartition("__")
            conf.set_override(option, value, group=group or None)
        server.images = GlanceImageAPI(conf)
        server.networks = NeutronNetworkAPI(conf)
        testcase.addCleanup(server.images.close)
        testcase.addCleanup(server.networks.close)
        server.components["image_api"] = server.images
        server.components["network_api"] = server.networks
        server.conductor = Collector()
        exchange = conf.control_exchange
        server.transport.declare_queue("conductor", [Binding(exchange, "conductor")])
        server.transport.consume("conductor", server.conductor)
        server.components["compute_task_api"] = ComputeTaskAPI(server.transport, conf)
        await server.add_flavor("1", "m1.tiny", memory_mb=512, vcpus=1, root_gb=1)
        await server.add_flavor("2", "m1.small", memory_mb=2048, vcpus=1, root_gb=20,
                                ephemeral_gb=2, swap=512)
        return server

    async def add_flavor(self, flavorid: str, name: str, **values) -> Flavor:
        return await self.pool.do(flavors_db.create,
                                  Flavor(flavorid=flavorid, name=name, **values))

    async def add_image(self, **meta) -> dict:
        """An active image of the admin's project, public unless said otherwise."""
        admin = RequestContext(user_id="admin", project_id=SAMPLE_PROJECT,
                               auth_token=ADMIN, roles=["admin"])
        meta.setdefault("name", "test-image")
        meta.setdefault("disk_format", "raw")
        meta.setdefault("container_format", "bare")
        meta.setdefault("visibility", "public")
        return await self.images.create(admin, meta, data=b"\0" * 1024)

    async def create(self, server: dict, *, microversion: str = "2.1", token: str = USER,
                     hints: dict | None = None, expect: int = 202):
        body = {"server": {"name": "new-server", "flavorRef": "1", "imageRef": IMAGE,
                           **server}}
        if hints is not None:
            body["os:scheduler_hints"] = hints
        reply = await self.request("POST", SERVERS, body=body, token=token,
                                   headers=version(microversion))
        if reply.code != expect:
            raise AssertionError(f"create {body}: {reply.code} {reply.raw!r}")
        return reply

    async def casts(self, count: int = 1) -> list[dict]:
        """The conductor's messages (oslo.messaging's), once ``count`` arrived."""
        await wait_until(lambda: len(self.conductor.bodies) >= count)
        return [json.loads(m["oslo.message"]) for m in self.conductor.decoded()]

    def rows(self, table: str) -> list[dict]:
        with self.engine.connect() as conn:
            result = conn.exec_driver_sql(f"SELECT * FROM {table}")
            return [dict(row._mapping) for row in result]

    def build_request(self, instance_uuid: str) -> dict:
        [row] = [r for r in self.rows("build_requests") if r["instance_uuid"] == instance_uuid]
        return json.loads(row["instance"])["nova_object.data"]

    def add_cell_instances(self, count: int, *, project_id: str = SAMPLE_PROJECT,
                           user_id: str = "fake", vcpus: int = 1, memory_mb: int = 512):
        for _ in range(count):
            self.add_instance(project_id, user_id, vcpus=vcpus, memory_mb=memory_mb)

    def add_compute_node(self, host: str, node: str) -> None:
        """A compute node of ``host`` in cell1, and the host's mapping to cell1."""
        from nova_tx.db.types import utcnow

        with self.cell_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO compute_nodes (uuid, host, hypervisor_hostname, vcpus, "
                "memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used, "
                "hypervisor_type, hypervisor_version, cpu_info, deleted, created_at) "
                "VALUES (?, ?, ?, 8, 8192, 100, 0, 0, 0, 'QEMU', 1, '{}', 0, ?)",
                (str(uuid.uuid4()), host, node, utcnow()))
        with self.engine.begin() as conn:
            cell_id = conn.exec_driver_sql(
                "SELECT id FROM cell_mappings WHERE name = 'cell1'").scalar()
            exists = conn.exec_driver_sql(
                "SELECT count(*) FROM host_mappings WHERE host = ?", (host,)).scalar()
            if not exists:
                conn.exec_driver_sql(
                    "INSERT INTO host_mappings (cell_id, host, created_at) VALUES (?, ?, ?)",
                    (cell_id, host, utcnow()))
