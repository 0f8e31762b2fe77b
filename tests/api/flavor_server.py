"""The flavor resources over HTTP on a fresh SQLite API database, with the versioned
notifications they send collected from an in-memory bus."""
from __future__ import annotations

import json
import os

from twisted.internet import reactor
from twisted.web.client import Agent

from nova_tx import policy
from nova_tx.api.auth import make_authenticator
from nova_tx.api.compute import (
    flavor_access,
    flavor_extra_specs,
    flavor_manage,
    flavors,
    wsgi,
)
from nova_tx.api.compute.router import APIRouter
from nova_tx.bus.interfaces import TOPIC, Binding
from nova_tx.bus.memory import MemoryBroker, MemoryBus
from nova_tx.bus.notifier import get_versioned_notifier
from nova_tx.conf import messaging
from nova_tx.db import migration
from nova_tx.db.pool import DBThreadPool
from tests.api.fixture import APIServer, make_conf
from tests.bus import Collector
from tests.db.fixtures import engine_for, fresh_database_url
from tests.helpers import unavailable

RESOURCES = [flavors.routes, flavor_manage.routes, flavor_access.routes,
             flavor_extra_specs.routes]
REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference")
SAMPLES = os.path.join(REFERENCE, "nova-api-samples")
NOTIFICATION_SAMPLES = os.path.join(REFERENCE, "nova-notification-samples")
#: The project of the samples' URLs.
SAMPLE_PROJECT = "6f70656e737461636b20342065766572"
ADMIN = f"admin:{SAMPLE_PROJECT}"
VERSIONED_TOPIC = "versioned_notifications"


def sample(*path: str) -> dict:
    full = os.path.join(SAMPLES, *path)
    if not os.path.exists(full):
        unavailable(f"{full} is not beside the checkout")
    with open(full) as f:
        return json.load(f)


def notification_sample(name: str) -> dict:
    from twisted.trial.unittest import SkipTest

    full = os.path.join(NOTIFICATION_SAMPLES, name)
    if not os.path.exists(full):
        raise SkipTest(f"{full} is not beside the checkout")
    with open(full) as f:
        return json.load(f)


def version(v: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {v}"}


class ResourceServer(APIServer):
    """Real compute API resources over HTTP, for the flavor and the quota servers.

    What both need and set up alike: the configuration (notifications on an in-memory
    bus, the policy engine initialised from it), a fresh SQLite API database behind a
    DB thread pool (``self.engine``, ``self.pool``), collectors for the notification
    topics, and the site on a free port. Subclasses say which resources
    (``RESOURCES``) and which tables ``snapshot()`` reads (``TABLES``).
    """

    RESOURCES: list = []
    TABLES: tuple[str, ...] = ()

    def _configure(self, testcase, conf, *, enforce_new_defaults: bool,
                   notification_format: str, policy_file: str | None) -> None:
        """Notifications and policy on ``conf`` (with its other options registered)."""
        messaging.register_opts(conf)
        conf.set_override("host", "fake-mini")
        conf.set_override("driver", ["messagingv2"], group="oslo_messaging_notifications")
        conf.set_override("notification_format", notification_format, group="notifications")
        policy.register_opts(conf)
        conf.set_override("enforce_new_defaults", enforce_new_defaults, group="oslo_policy")
        if policy_file:
            conf.set_override("policy_file", policy_file, group="oslo_policy")
        policy.reset()
        policy.init(conf)
        testcase.addCleanup(policy.reset)
        self.conf = conf

    def _api_database(self, testcase) -> None:
        self.engine = engine_for(testcase, fresh_database_url(testcase, "sqlite"))
        migration.db_sync(self.engine, "api")

    def _start_pool(self, testcase) -> None:
        self.pool = DBThreadPool(self.engine)
        self.pool.start()
        testcase.addCleanup(self.pool.stop)

    def _collect(self, *topics: tuple[str, Collector]) -> list:
        """Connect the in-memory bus; each (routing key, collector) gets its queue."""
        self.transport = MemoryBus(MemoryBroker())
        self.transport.connect()
        exchange = self.conf.control_exchange
        self.transport.declare_exchange(exchange, TOPIC)
        consumers = []
        for key, collector in topics:
            self.transport.declare_queue(key, [Binding(exchange, key)])
            consumers.append(self.transport.consume(key, collector))
        return consumers

    def _serve(self, testcase, components: dict) -> APIRouter:
        router = APIRouter(self.conf, resources=self.RESOURCES,
                           authenticator=make_authenticator(self.conf), components=components)
        site = wsgi.ComputeSite(router.resource(), max_request_body_size=114688)
        self.port = reactor.listenTCP(0, site, interface="127.0.0.1")
        testcase.addCleanup(self.port.stopListening)
        self.base = "http://127.0.0.1:%d" % self.port.getHost().port
        self.agent = Agent(reactor)
        return router

    @staticmethod
    def _messages(collector: Collector) -> list[dict]:
        """The notifications a collector received, as oslo.messaging hands them over."""
        return [json.loads(m["oslo.message"]) for m in collector.decoded()]

    def snapshot(self) -> dict[str, list]:
        """Every row of ``TABLES`` (for "nothing changed" checks)."""
        with self.engine.connect() as conn:
            return {t: sorted(map(tuple, conn.exec_driver_sql(f"SELECT * FROM {t}").all()),
                              key=repr)
                    for t in self.TABLES}


class FlavorServer(ResourceServer):
    """``await server.request(...)`` as APIServer; ``server.engine`` is the database,
    ``server.notifications()`` the versioned notifications sent so far."""

    RESOURCES = RESOURCES
    #: The flavor tables.
    TABLES = ("flavors", "flavor_extra_specs", "flavor_projects")

    def __init__(self, testcase, *, enforce_new_defaults: bool = False,
                 notification_format: str = "versioned", policy_file: str | None = None,
                 notifier=None):
        conf = make_conf()
        self._configure(testcase, conf, enforce_new_defaults=enforce_new_defaults,
                        notification_format=notification_format, policy_file=policy_file)
        self._api_database(testcase)
        self._start_pool(testcase)

        self.collector = Collector()
        [self._listening] = self._collect((f"{VERSIONED_TOPIC}.info", self.collector))
        if notifier is None:
            notifier = get_versioned_notifier(self.transport, conf, "nova-api:fake-mini")
        self._serve(testcase, {"api_db": self.pool, "versioned_notifier": notifier})

    def notifications(self) -> list[dict]:
        """The versioned notifications received, as oslo.messaging hands them over."""
        return self._messages(self.collector)

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()

    async def create_flavor(self, flavor: dict, *, microversion: str = "2.55",
                            token: str = ADMIN):
        reply = await self.request("POST", "/v2.1/flavors", body={"flavor": flavor},
                                   headers=version(microversion), token=token)
        if reply.code != 200:
            raise AssertionError(f"create {flavor}: {reply.code} {reply.raw!r}")
        return reply.json["flavor"]

    async def set_extra_specs(self, flavorid: str, specs: dict, token: str = ADMIN):
        reply = await self.request("POST", f"/v2.1/flavors/{flavorid}/os-extra_specs",
                                   body={"extra_specs": specs}, token=token)
        if reply.code != 200:
            raise AssertionError(f"extra specs {specs}: {reply.code} {reply.raw!r}")

    async def add_access(self, flavorid: str, tenant: str, token: str = ADMIN):
        reply = await self.request("POST", f"/v2.1/flavors/{flavorid}/action",
                                   body={"addTenantAccess": {"tenant": tenant}}, token=token)
        if reply.code != 200:
            raise AssertionError(f"access {tenant}: {reply.code} {reply.raw!r}")
