"""The servers resources (list, show, update, delete, metadata, tags, instance
actions) over HTTP on a fresh SQLite API database and one cell database, with helpers
that seed servers straight through the data layer: instances in the cell (with their
instance mappings) and build requests in the API database."""
from __future__ import annotations

import datetime
import uuid as uuidlib

from nova_tx.api.compute import instance_actions, server_metadata, server_tags, servers
from nova_tx.bus.notifier import get_notifier, get_versioned_notifier
from nova_tx.compute import states
from nova_tx.conf import availability_zone as az_conf
from nova_tx.conf import database
from nova_tx.conf import quota as quota_conf
from nova_tx.db import migration
from nova_tx.db.api import (
    build_requests,
    cell_mappings,
    flavors,
    instance_mappings,
    request_specs,
)
from nova_tx.db.main import instance_actions as actions_db
from nova_tx.db.main import instances
from nova_tx.db.types import utcnow
from nova_tx.objects.build_request import BuildRequest
from nova_tx.objects.flavor import Flavor
from nova_tx.objects.instance import Instance
from nova_tx.objects.request_spec import ImageMeta, RequestSpec
from tests.api.fixture import make_conf
from tests.api.flavor_server import (  # noqa: F401 - shared helpers
    ADMIN,
    SAMPLE_PROJECT,
    ResourceServer,
    sample,
    version,
)
from tests.bus import Collector
from tests.db.fixtures import engine_for, fresh_database_url

RESOURCES = [servers.routes, server_metadata.routes, server_tags.routes,
             instance_actions.routes]
#: The cell tables a refused request must leave alone.
CELL_TABLES = ("instances", "instance_metadata", "instance_system_metadata", "tags",
               "instance_extra", "instance_actions")
DEMO = "demo:" + SAMPLE_PROJECT
T0 = datetime.datetime(2013, 9, 3, 4, 1, 32)
NETWORK_INFO = [{"id": "port-1", "address": "00:0c:29:0d:11:74", "network": {
    "id": "net-1", "label": "private", "subnets": [
        {"cidr": "192.168.1.0/24", "ips": [{"address": "192.168.1.30", "version": 4,
                                            "type": "fixed", "floating_ips": []}]}]}}]


class FakeNetwork:
    """The network port as a local delete uses it: records the released servers."""

    def __init__(self):
        self.released: list[tuple[str, list]] = []
        self.fail = False

    async def deallocate_for_instance(self, context, instance_uuid, *, network_info=None):
        if self.fail:
            from nova_tx.network.api import NetworkServiceUnavailable

            raise NetworkServiceUnavailable(server="neutron", reason="down")
        self.released.append((instance_uuid, network_info))


class FakeCompute:
    """The compute RPC API as a delete uses it: records the casts."""

    def __init__(self):
        self.casts: list[tuple[str, str, str | None]] = []

    def terminate_instance(self, context, instance, bdms):
        self.casts.append(("terminate_instance", instance.uuid, instance.task_state))
        self.bdms = bdms

    def soft_delete_instance(self, context, instance):
        self.casts.append(("soft_delete_instance", instance.uuid, instance.task_state))


class FakePlacement:
    """The placement client as a local delete uses it: records the deletes and
    answers ``status`` (204 by default)."""

    def __init__(self):
        self.deleted: list[str] = []
        self.status = 204

    async def delete(self, url, **kwargs):
        from nova_tx.placement.client import PlacementClientResponse

        self.deleted.append(url)
        return PlacementClientResponse(self.status, {}, b"boom" if self.status >= 400
                                       else b"")


class ServersServer(ResourceServer):
    """``await server.request(...)`` as APIServer; ``add_instance`` and
    ``add_build_request`` seed servers; ``engine`` is the API database and
    ``cell_engine`` the cell's."""

    RESOURCES = RESOURCES
    TABLES = ("build_requests", "instance_mappings", "request_specs")

    def __init__(self, testcase, *, enforce_new_defaults: bool = False,
                 quota: dict | None = None, policy_file: str | None = None,
                 notification_format: str = "unversioned",
                 notify_on_state_change: str | None = None):
        conf = make_conf()
        database.register_opts(conf)
        quota_conf.register_opts(conf)
        az_conf.register_opts(conf)
        for name, value in (quota or {}).items():
            conf.set_override(name, value, group="quota")
        self._configure(testcase, conf, enforce_new_defaults=enforce_new_defaults,
                        notification_format=notification_format, policy_file=policy_file)
        conf.set_override("notify_on_state_change", notify_on_state_change,
                          group="notifications")
        self._api_database(testcase)
        cell_url = fresh_database_url(testcase, "sqlite")
        self.cell_engine = engine_for(testcase, cell_url)
        migration.db_sync(self.cell_engine, "main")
        with self.engine.begin() as conn:
            self.cell = cell_mappings.create(conn, transport_url="none:///",
                                             database_connection=cell_url, name="cell1")
            self.flavor = flavors.create(conn, Flavor(
                flavorid="1", name="m1.tiny", memory_mb=512, vcpus=1, root_gb=1,
                extra_specs={}))
        self.cells = {"cell1": (self.cell, self.cell_engine)}
        self._testcase = testcase
        self._start_pool(testcase)
        self.versioned = Collector()
        self.legacy = Collector()
        self._collect(("versioned_notifications.info", self.versioned),
                      ("notifications.info", self.legacy))
        router = self._serve(testcase, {
            "api_db": self.pool,
            "versioned_notifier": get_versioned_notifier(self.transport, conf,
                                                         "nova-api:fake-mini"),
            "notifier": get_notifier(self.transport, conf, "api"),
        })
        self.components = router.app.components
        self.network = FakeNetwork()
        self.components["network_api"] = self.network
        self.placement = FakePlacement()
        self.components["placement_client"] = self.placement
        self.compute = FakeCompute()
        self.components["compute_rpcapi"] = self.compute
        testcase.addCleanup(self._dispose)

    def _dispose(self) -> None:
        cells = self.components.get("cell_engines")
        if cells is not None:
            cells.dispose()

    def notifications(self) -> list[dict]:
        return self._messages(self.versioned)

    def legacy_notifications(self) -> list[dict]:
        return self._messages(self.legacy)

    # -- seeding ------------------------------------------------------------------------

    def instance(self, **fields) -> Instance:
        values = dict(uuid=str(uuidlib.uuid4()), project_id=SAMPLE_PROJECT, user_id="demo",
                      display_name="new-server-test", vm_state=states.ACTIVE,
                      power_state=1, flavor=self.flavor, created_at=T0,
                      image_ref="70a599e0-31e7-49b7-b260-868f441e862b",
                      security_groups=["default"], network_info=NETWORK_INFO)
        values.update(fields)
        return Instance(**values)

    def add_cell(self, name: str) -> None:
        """Another cell database, mapped in the API database."""
        url = fresh_database_url(self._testcase, "sqlite")
        engine = engine_for(self._testcase, url)
        migration.db_sync(engine, "main")
        with self.engine.begin() as conn:
            mapping = cell_mappings.create(conn, transport_url="none:///",
                                           database_connection=url, name=name)
        self.cells[name] = (mapping, engine)

    def add_down_cell(self, name: str = "down") -> None:
        """A cell mapped to a database that cannot be opened."""
        url = "sqlite:////nonexistent-nova-tx-dir/%s.sqlite" % name
        with self.engine.begin() as conn:
            mapping = cell_mappings.create(conn, transport_url="none:///",
                                           database_connection=url, name=name)
        self.cells[name] = (mapping, None)

    def add_down_instance(self, cell: str = "down", *, project_id: str = SAMPLE_PROJECT,
                          availability_zone: str | None = None) -> str:
        """An instance the API database maps to a cell that does not answer, with
        its request spec."""
        uuid = str(uuidlib.uuid4())
        mapping, _ = self.cells[cell]
        with self.engine.begin() as conn:
            instance_mappings.create(conn, instance_uuid=uuid, project_id=project_id,
                                     user_id="admin", cell_mapping=mapping)
            request_specs.create(conn, RequestSpec(
                flavor=self.flavor, instance_uuid=uuid, project_id=project_id,
                user_id="admin", availability_zone=availability_zone,
                image=ImageMeta(id="70a599e0-31e7-49b7-b260-868f441e862b")))
        return uuid

    def add_instance(self, *, cell: str = "cell1", **fields) -> Instance:
        """An instance in a cell (the first unless named), mapped there."""
        instance = self.instance(**fields)
        mapping, engine = self.cells[cell]
        with engine.begin() as conn:
            made = instances.create(conn, instance)
            if "updated_at" in fields:
                instances.update(conn, made.uuid, {"updated_at": fields["updated_at"]})
        with self.engine.begin() as conn:
            instance_mappings.create(conn, instance_uuid=made.uuid,
                                     project_id=made.project_id, user_id=made.user_id,
                                     cell_mapping=mapping)
        return made

    def add_build_request(self, **fields) -> Instance:
        """A server not in a cell yet: build request, request spec, unmapped mapping."""
        fields.setdefault("vm_state", states.BUILDING)
        fields.setdefault("task_state", states.SCHEDULING)
        fields.setdefault("network_info", [])
        instance = self.instance(**fields)
        with self.engine.begin() as conn:
            made = build_requests.create(conn, BuildRequest(
                instance_uuid=instance.uuid, project_id=instance.project_id,
                instance=instance, tags=list(instance.tags)))
            request_specs.create(conn, RequestSpec(flavor=self.flavor,
                                                   instance_uuid=instance.uuid,
                                                   project_id=instance.project_id))
            instance_mappings.create(conn, instance_uuid=instance.uuid,
                                     project_id=instance.project_id,
                                     user_id=instance.user_id)
        return made.instance

    def add_action(self, instance_uuid: str, request_id: str, action: str = "create",
                   *, events: tuple = ()) -> None:
        with self.cell_engine.begin() as conn:
            actions_db.create(conn, action=action, instance_uuid=instance_uuid,
                              request_id=request_id, user_id="demo",
                              project_id=SAMPLE_PROJECT)
            for name, result, host in events:
                actions_db.event_start(conn, instance_uuid, request_id, name, host=host)
                actions_db.event_finish(conn, instance_uuid, request_id, name,
                                        result=result, traceback="Traceback!",
                                        details="boom" if result == "Error" else None)

    def add_service(self, host: str, *, disabled: bool = False, forced_down: bool = False,
                    seen: datetime.datetime | None = None) -> None:
        with self.cell_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO services (uuid, host, \"binary\", topic, report_count, disabled,"
                " forced_down, version, deleted, created_at, last_seen_up) VALUES "
                "(?, ?, 'nova-compute', 'compute', 0, ?, ?, 64, 0, ?, ?)",
                (str(uuidlib.uuid4()), host, disabled, forced_down, utcnow(),
                 seen or utcnow()))

    def add_volume(self, instance_uuid: str, volume_id: str, *,
                   delete_on_termination: bool = False) -> None:
        with self.cell_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO block_device_mapping (instance_uuid, volume_id, source_type,"
                " destination_type, delete_on_termination, deleted, created_at) VALUES"
                " (?, ?, 'volume', 'volume', ?, 0, ?)",
                (instance_uuid, volume_id, delete_on_termination, utcnow()))

    def cell_rows(self, sql: str, *params) -> list:
        with self.cell_engine.connect() as conn:
            return conn.exec_driver_sql(sql, params).all()

    def cell_snapshot(self) -> dict[str, list]:
        with self.cell_engine.connect() as conn:
            return {t: sorted(map(tuple, conn.exec_driver_sql(f"SELECT * FROM {t}").all()),
                              key=repr) for t in CELL_TABLES}

    def get_instance(self, uuid: str, **kwargs) -> Instance:
        with self.cell_engine.connect() as conn:
            return instances.get(conn, uuid, **kwargs)
