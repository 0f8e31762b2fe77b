"""Key pairs, limits, quota sets and availability zones over HTTP, on a fresh SQLite
API database (and a cell database, for services), with the legacy and versioned
notifications they send collected from an in-memory bus."""
from __future__ import annotations

import uuid

from nova_tx.api.compute import availability_zone, keypairs, limits, quota_sets
from nova_tx.bus.notifier import get_notifier, get_versioned_notifier
from nova_tx.conf import availability_zone as az_conf
from nova_tx.conf import database
from nova_tx.conf import quota as quota_conf
from nova_tx.db import migration
from nova_tx.db.api import cell_mappings
from nova_tx.db.types import utcnow
from tests.api.fixture import make_conf
from tests.api.flavor_server import (  # noqa: F401 - shared helpers
    ADMIN,
    SAMPLE_PROJECT,
    ResourceServer,
    notification_sample,
    sample,
    version,
)
from tests.bus import Collector
from tests.db.fixtures import engine_for, fresh_database_url

RESOURCES = [keypairs.routes, quota_sets.routes, limits.routes, availability_zone.routes]
TABLES = ("key_pairs", "quotas", "project_user_quotas", "quota_classes")

#: An OpenSSH public key and its Nova fingerprint (Nova's import sample).
PUBLIC_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx8nkQv/zgGgB4rMYmIf+6A4l6Rr+o/6lHBQdW5aYd44bd8Jtt"
    "DCE/F/pNRr0lRE+PiqSPO8nDPHw0010JeMH9gYgnnFlyY3/OcJ02RhIPyyxYpv9FhY+2YiUkpwFOcLImyrxEsY"
    "XpD/0d3ac30bNH6Sw9JD9UZHYcpSxsIbECHw== Generated-by-Nova")
FINGERPRINT = "1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c"


class QuotaServer(ResourceServer):
    """``await server.request(...)`` as APIServer; ``server.engine`` is the API
    database, ``server.cell_engine`` the cell's; ``notifications()`` and
    ``legacy_notifications()`` what was sent so far."""

    RESOURCES = RESOURCES
    #: The key pair and quota tables.
    TABLES = TABLES

    def __init__(self, testcase, *, enforce_new_defaults: bool = False,
                 notification_format: str = "both", quota: dict | None = None,
                 quota_driver: str | None = None, policy_file: str | None = None):
        conf = make_conf()
        database.register_opts(conf)
        quota_conf.register_opts(conf)
        az_conf.register_opts(conf)
        for name, value in (quota or {}).items():
            conf.set_override(name, value, group="quota")
        if quota_driver:
            conf.set_override("driver", quota_driver, group="quota")
        self._configure(testcase, conf, enforce_new_defaults=enforce_new_defaults,
                        notification_format=notification_format, policy_file=policy_file)

        self._api_database(testcase)
        cell_url = fresh_database_url(testcase, "sqlite")
        self.cell_engine = engine_for(testcase, cell_url)
        migration.db_sync(self.cell_engine, "main")
        with self.engine.begin() as conn:
            cell_mappings.create(conn, transport_url="none:///", database_connection=cell_url,
                                 name="cell1")
        self._start_pool(testcase)

        self.versioned = Collector()
        self.legacy = Collector()
        self._collect(("versioned_notifications.info", self.versioned),
                      ("notifications.info", self.legacy))
        self.components = {
            "api_db": self.pool,
            "versioned_notifier": get_versioned_notifier(self.transport, conf,
                                                         "nova-api:fake-mini"),
            "notifier": get_notifier(self.transport, conf, "api"),
        }
        router = self._serve(testcase, self.components)
        # The application keeps its own dict: what handlers make (the quota engine,
        # the cell engines) and what tests put in go there.
        self.components = router.app.components
        testcase.addCleanup(self._dispose)

    def _dispose(self) -> None:
        cells = self.components.get("cell_engines")
        if cells is not None:
            cells.dispose()

    def quota_engine(self):
        """The quota engine the handlers use."""
        from nova_tx.api.compute._components import quota_engine

        class Request:
            app = type("App", (), {"components": self.components})
            conf = self.conf

        return quota_engine(Request)

    # -- notifications ----------------------------------------------------------------

    def notifications(self) -> list[dict]:
        return self._messages(self.versioned)

    def legacy_notifications(self) -> list[dict]:
        return self._messages(self.legacy)

    # -- the databases ------------------------------------------------------------------

    def add_service(self, host: str, *, binary: str = "nova-compute",
                    topic: str | None = "compute", disabled: bool = False) -> None:
        with self.cell_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO services (uuid, host, \"binary\", topic, report_count, disabled,"
                " forced_down, version, deleted, created_at) VALUES (?, ?, ?, ?, 0, ?, 0, 64,"
                " 0, ?)", (str(uuid.uuid4()), host, binary, topic, disabled, utcnow()))

    def add_instance(self, project_id: str, user_id: str, *, vcpus: int = 2,
                     memory_mb: int = 1024, vm_state: str = "active") -> None:
        with self.cell_engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO instances (uuid, project_id, user_id, vcpus, memory_mb, "
                "vm_state, deleted, hidden, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?)",
                (str(uuid.uuid4()), project_id, user_id, vcpus, memory_mb, vm_state,
                 utcnow()))

    def add_aggregate(self, name: str, hosts: list[str], zone: str | None) -> None:
        with self.engine.begin() as conn:
            agg_id = conn.exec_driver_sql(
                "INSERT INTO aggregates (uuid, name, created_at) VALUES (?, ?, ?)",
                (str(uuid.uuid4()), name, utcnow())).lastrowid
            for host in hosts:
                conn.exec_driver_sql(
                    "INSERT INTO aggregate_hosts (host, aggregate_id) VALUES (?, ?)",
                    (host, agg_id))
            if zone is not None:
                conn.exec_driver_sql(
                    "INSERT INTO aggregate_metadata (aggregate_id, key, value) "
                    "VALUES (?, 'availability_zone', ?)", (agg_id, zone))

    def add_server_group(self, project_id: str, user_id: str) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO instance_groups (uuid, project_id, user_id, name) "
                "VALUES (?, ?, ?, 'g')", (str(uuid.uuid4()), project_id, user_id))

    # -- requests -------------------------------------------------------------------------

    async def import_keypair(self, name: str, *, token: str = "demo:abc1",
                             microversion: str = "2.2", public_key: str = PUBLIC_KEY,
                             **extra) -> dict:
        reply = await self.request(
            "POST", "/v2.1/os-keypairs", token=token, headers=version(microversion),
            body={"keypair": {"name": name, "public_key": public_key, **extra}})
        if reply.code not in (200, 201):
            raise AssertionError(f"import {name}: {reply.code} {reply.raw!r}")
        return reply.json["keypair"]
