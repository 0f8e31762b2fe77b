"""The operator resources (aggregates, zones, services, hypervisors) over HTTP, on a
fresh SQLite API database and one cell, with our Placement in process, the
scheduler fanouts and the notifications collected from an in-memory bus, and a
stand-in compute RPC server for the hosts a test names."""
from __future__ import annotations

import json
import uuid

from nova_tx.api.compute import aggregates, availability_zone, hypervisors, services
from nova_tx.bus.interfaces import FANOUT, Binding
from nova_tx.conf import servicegroup as servicegroup_conf
from nova_tx.db.pool import DBThreadPool
from nova_tx.db.types import utcnow
from nova_tx.placement.api.app import PlacementAPI
from nova_tx.placement.client import LocalPlacementClient
from tests.api.quota_server import QuotaServer
from tests.bus import Collector
from tests.placement.db import placement_engine

RESOURCES = [aggregates.routes, availability_zone.routes, services.routes,
             hypervisors.routes]


class FakeImageAPI:
    """The image port with a fixed set of images."""

    def __init__(self, image_ids=()):
        self.image_ids = set(image_ids)

    async def get(self, context, image_id):
        from nova_tx.image.api import ImageNotFound

        if image_id not in self.image_ids:
            raise ImageNotFound(image_id=image_id)
        return {"id": image_id, "status": "active"}


class OperatorServer(QuotaServer):
    """``server.placement`` is the in-process placement client;
    ``scheduler_casts()`` what the schedulers were told."""

    RESOURCES = RESOURCES

    def __init__(self, testcase, **kwargs):
        super().__init__(testcase, **kwargs)
        servicegroup_conf.register_opts(self.conf)
        engine = placement_engine(testcase)
        self.placement_pool = DBThreadPool(engine)
        self.placement_pool.start()
        testcase.addCleanup(self.placement_pool.stop)
        self.placement_api = PlacementAPI(self.placement_pool)
        testcase.addCleanup(self.placement_api.close)
        self.placement = LocalPlacementClient(self.placement_api)
        self.scheduler = Collector()
        self.transport.declare_exchange("scheduler_fanout", FANOUT, durable=False,
                                        auto_delete=True)
        self.transport.declare_queue("scheduler_fanout_test",
                                     [Binding("scheduler_fanout", "scheduler")])
        self.transport.consume("scheduler_fanout_test", self.scheduler)
        self.images = FakeImageAPI()
        self.components.update(placement_client=self.placement,
                               rpc_transport=self.transport, image_api=self.images)
        self.cell_uuid = self._cell_uuid()

    def add_cell(self, testcase, name: str = "cell2"):
        """A second cell with its own database; returns (cell uuid, its Engine)."""
        from nova_tx.db import migration
        from nova_tx.db.api import cell_mappings
        from tests.db.fixtures import engine_for, fresh_database_url

        url = fresh_database_url(testcase, "sqlite")
        engine = engine_for(testcase, url)
        migration.db_sync(engine, "main")
        with self.engine.begin() as conn:
            cell = cell_mappings.create(conn, transport_url="none:///",
                                        database_connection=url, name=name)
        return cell.uuid, engine

    def _cell_uuid(self) -> str:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT uuid FROM cell_mappings").scalar()

    def scheduler_casts(self) -> list[dict]:
        return [json.loads(m["oslo.message"]) for m in self.scheduler.decoded()]

    # -- rows --------------------------------------------------------------------------

    def add_compute(self, host: str, *, mapped: bool = True, disabled: bool = False,
                    node: str | None = None, heartbeat=None, forced_down: bool = False,
                    provider: bool = False, cell=None, **resources) -> dict:
        """A nova-compute service with one node (``node``, default the host name) and
        its host mapping, in cell1 or in ``cell`` (``(cell uuid, Engine)`` of
        ``add_cell``)."""
        service_uuid, node_uuid = str(uuid.uuid4()), str(uuid.uuid4())
        node = node or host
        now = heartbeat if heartbeat is not None else utcnow()
        values = {"vcpus": 8, "memory_mb": 16384, "local_gb": 100, "vcpus_used": 2,
                  "memory_mb_used": 2048, "local_gb_used": 10, "free_ram_mb": 14336,
                  "free_disk_gb": 90, "current_workload": 0, "running_vms": 1,
                  "disk_available_least": 80, **resources}
        cell_uuid, cell_engine = cell or (self.cell_uuid, self.cell_engine)
        with cell_engine.begin() as conn:
            service_id = conn.exec_driver_sql(
                "INSERT INTO services (uuid, host, \"binary\", topic, report_count, "
                "disabled, forced_down, version, deleted, created_at, updated_at, "
                "last_seen_up) VALUES (?, ?, 'nova-compute', 'compute', 3, ?, ?, 64, 0, "
                "?, ?, ?)", (service_uuid, host, disabled, forced_down, now, now, now)
            ).lastrowid
            node_id = conn.exec_driver_sql(
                "INSERT INTO compute_nodes (uuid, service_id, host, hypervisor_hostname, "
                "vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, local_gb_used, "
                "free_ram_mb, free_disk_gb, current_workload, running_vms, "
                "disk_available_least, hypervisor_type, hypervisor_version, cpu_info, "
                "host_ip, deleted, mapped, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?, 'fake', 1000, ?, '192.168.1.7', 0, 1, ?)",
                (node_uuid, service_id, host, node, values["vcpus"], values["memory_mb"],
                 values["local_gb"], values["vcpus_used"], values["memory_mb_used"],
                 values["local_gb_used"], values["free_ram_mb"], values["free_disk_gb"],
                 values["current_workload"], values["running_vms"],
                 values["disk_available_least"],
                 json.dumps({"arch": "x86_64", "model": "Nehalem"}), utcnow())).lastrowid
        if mapped:
            with self.engine.begin() as conn:
                cell_id = conn.exec_driver_sql(
                    "SELECT id FROM cell_mappings WHERE uuid = ?", (cell_uuid,)).scalar()
                conn.exec_driver_sql(
                    "INSERT INTO host_mappings (host, cell_id, created_at) VALUES (?, ?, ?)",
                    (host, cell_id, utcnow()))
        return {"service_id": service_id, "service_uuid": service_uuid,
                "node_id": node_id, "node_uuid": node_uuid, "node": node,
                "provider": provider}

    async def add_provider(self, name: str, rp_uuid: str) -> None:
        response = await self.placement.post("/resource_providers",
                                             {"name": name, "uuid": rp_uuid}, version="1.20")
        assert response.status_code == 200, response.text

    async def provider_aggregates(self, rp_uuid: str) -> list[str]:
        response = await self.placement.get(f"/resource_providers/{rp_uuid}/aggregates",
                                            version="1.19")
        assert response.status_code == 200, response.text
        return sorted(response.json()["aggregates"])

    def add_instance_on(self, host: str, *, name_id: int | None = None,
                        deleted: bool = False) -> str:
        instance_uuid = str(uuid.uuid4())
        with self.cell_engine.begin() as conn:
            row_id = conn.exec_driver_sql(
                "INSERT INTO instances (uuid, project_id, user_id, host, node, vcpus, "
                "memory_mb, vm_state, display_name, deleted, hidden, created_at) "
                "VALUES (?, 'p', 'u', ?, ?, 1, 512, 'active', 'vm', 0, 0, ?)",
                (instance_uuid, host, host, utcnow())).lastrowid
            if deleted:
                conn.exec_driver_sql("UPDATE instances SET deleted = id WHERE id = ?",
                                     (row_id,))
        return instance_uuid

    def add_migration(self, host: str, *, status: str, migration_type: str = "migration",
                      dest: str = "other") -> None:
        with self.cell_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO migrations (source_compute, dest_compute, source_node, "
                "dest_node, status, migration_type, deleted, hidden, created_at) VALUES "
                "(?, ?, ?, ?, ?, ?, 0, 0, ?)",
                (host, dest, host, dest, status, migration_type, utcnow()))

    def rows(self, sql: str, params=(), *, cell: bool = False) -> list[tuple]:
        engine = self.cell_engine if cell else self.engine
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, params).all()]


def expected_notification(name: str) -> dict:
    """A notification sample with its ``$ref`` payload resolved: the common payload,
    with the sample's own ``nova_object.data`` laid over it."""
    from tests.api.flavor_server import notification_sample

    sample = notification_sample(name)
    payload = sample["payload"]
    ref = payload.pop("$ref", None)
    if ref is not None:
        common = notification_sample(ref.split("#")[0])
        common["nova_object.data"].update(payload.get("nova_object.data", {}))
        payload = common
    return {**sample, "payload": payload}


def shape(value):
    """The JSON types of a structure (a payload checked against a sample whose values
    are the samples' own)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__
