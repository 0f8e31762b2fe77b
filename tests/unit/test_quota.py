"""The quota engine (nova_tx/quota.py): limit resolution (user row, project row,
default class, option), counted checks (check_deltas, limit_check,
limit_check_project_and_user), the noop driver, registered counters, and Nova's
TooManyInstances wording in check_num_instances_quota."""
from __future__ import annotations

from oslo_config import cfg
from twisted.trial import unittest

from nova_tx import exception, quota
from nova_tx.conf import quota as quota_conf
from nova_tx.context import RequestContext
from nova_tx.db import migration
from nova_tx.db.api import key_pairs as key_pairs_db
from nova_tx.db.api import quotas as quotas_db
from nova_tx.db.pool import DBThreadPool
from tests.db.fixtures import engine_for, fresh_database_url


def make_conf(**overrides) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    quota_conf.register_opts(conf)
    conf([])
    for name, value in overrides.items():
        conf.set_override(name, value, group="quota")
    return conf


def context(user="u1", project="p1") -> RequestContext:
    return RequestContext(user_id=user, project_id=project)


class InstanceCounter:
    """A fake cell count: ``{(project, user): (instances, cores, ram)}``."""

    def __init__(self, usage):
        self.usage = usage
        self.calls = []

    async def __call__(self, ctx, project_id, user_id=None):
        self.calls.append((project_id, user_id))

        def total(match):
            values = [v for k, v in self.usage.items() if match(k)]
            return {name: sum(v[i] for v in values)
                    for i, name in enumerate(quota.INSTANCE_RESOURCES)}

        result = {"project": total(lambda k: k[0] == project_id)}
        if user_id is not None:
            result["user"] = total(lambda k: k == (project_id, user_id))
        return result


class EngineTestBase(unittest.TestCase):
    def make(self, **overrides) -> quota.QuotaEngine:
        self.engine = engine_for(self, fresh_database_url(self, "sqlite"))
        migration.db_sync(self.engine, "api")
        pool = DBThreadPool(self.engine)
        pool.start()
        self.addCleanup(pool.stop)
        return quota.QuotaEngine(make_conf(**overrides), pool)

    def sql(self, fn, *args, **kwargs):
        with self.engine.begin() as conn:
            return fn(conn, *args, **kwargs)


class LimitResolutionTest(EngineTestBase):

    async def test_order_user_project_class_option(self):
        engine = self.make(instances=3)
        ctx = context()
        self.assertEqual(3, (await engine.get_defaults(ctx))["instances"])
        self.assertEqual(-1, (await engine.get_defaults(ctx))["fixed_ips"])
        self.assertEqual(255, (await engine.get_defaults(ctx))["injected_file_path_bytes"])
        self.sql(quotas_db.set_class_limit, "default", "instances", 7)
        self.sql(quotas_db.set_class_limit, "other", "instances", 9)
        self.assertEqual(7, (await engine.get_defaults(ctx))["instances"])
        project = await engine.get_project_quotas(ctx, "p1", usages=False)
        self.assertEqual({"limit": 7}, project["instances"])
        self.sql(quotas_db.set_project_limit, "p1", "instances", 5)
        project = await engine.get_project_quotas(ctx, "p1")
        self.assertEqual({"limit": 5, "in_use": 0}, project["instances"])
        user = await engine.get_user_quotas(ctx, "p1", "u1")
        self.assertEqual(5, user["instances"]["limit"])
        self.sql(quotas_db.set_user_limit, "p1", "u1", "instances", 2)
        self.assertEqual(2, (await engine.get_user_quotas(ctx, "p1", "u1"))["instances"]["limit"])
        self.assertEqual(5, (await engine.get_user_quotas(ctx, "p1", "u2"))["instances"]["limit"])
        self.assertEqual(7, (await engine.get_project_quotas(ctx, "p2"))["instances"]["limit"])

    async def test_set_limits_per_project_resources_go_to_the_project(self):
        engine = self.make()
        await engine.set_limits(context(), "p1", {"fixed_ips": 4, "cores": 3}, user_id="u1")
        self.assertEqual({"fixed_ips": 4}, self.sql(quotas_db.get_project_limits, "p1"))
        self.assertEqual({"cores": 3}, self.sql(quotas_db.get_user_limits, "p1", "u1"))
        with self.assertRaises(exception.QuotaResourceUnknown):
            await engine.set_limits(context(), "p1", {"bogus": 1})

    async def test_settable(self):
        engine = self.make()
        counter = InstanceCounter({("p1", "u1"): (2, 4, 1024), ("p1", "u2"): (1, 1, 512)})
        engine.register_counter(quota.INSTANCE_RESOURCES, counter)
        ctx = context()
        settable = await engine.get_settable_quotas(ctx, "p1")
        self.assertEqual({"minimum": 3, "maximum": -1}, settable["instances"])
        await engine.set_limits(ctx, "p1", {"instances": 10})
        await engine.set_limits(ctx, "p1", {"instances": 6}, user_id="u2")
        settable = await engine.get_settable_quotas(ctx, "p1")
        self.assertEqual({"minimum": 6, "maximum": -1}, settable["instances"])
        settable = await engine.get_settable_quotas(ctx, "p1", user_id="u1")
        self.assertEqual({"minimum": 2, "maximum": 4}, settable["instances"])
        settable = await engine.get_settable_quotas(ctx, "p1", user_id="u2")
        self.assertEqual({"minimum": 1, "maximum": 10}, settable["instances"])
        # Unlimited project: no maximum for its users.
        await engine.set_limits(ctx, "p1", {"instances": -1})
        settable = await engine.get_settable_quotas(ctx, "p1", user_id="u1")
        self.assertEqual(-1, settable["instances"]["maximum"])

    async def test_destroy(self):
        engine = self.make()
        ctx = context()
        await engine.set_limits(ctx, "p1", {"cores": 1})
        await engine.set_limits(ctx, "p1", {"cores": 1}, user_id="u1")
        await engine.set_limits(ctx, "p1", {"cores": 1}, user_id="u2")
        await engine.destroy_all_by_project_and_user(ctx, "p1", "u1")
        self.assertEqual({"u2": {"cores": 1}}, self.sql(quotas_db.get_all_user_limits, "p1"))
        await engine.destroy_all_by_project(ctx, "p1")
        self.assertEqual(({}, {}), (self.sql(quotas_db.get_project_limits, "p1"),
                                    self.sql(quotas_db.get_all_user_limits, "p1")))


class ChecksTest(EngineTestBase):

    async def test_key_pairs_per_user(self):
        engine = self.make(key_pairs=2)
        ctx = context()
        for name in ("a", "b"):
            self.sql(key_pairs_db.create, user_id="u1", name=name, fingerprint="f",
                     public_key="k")
        await engine.check_deltas(ctx, {"key_pairs": 0}, "u1")
        with self.assertRaises(exception.OverQuota) as caught:
            await engine.check_deltas(ctx, {"key_pairs": 1}, "u1")
        self.assertEqual(["key_pairs"], caught.exception.kwargs["overs"])
        self.assertEqual({"key_pairs": 2}, caught.exception.kwargs["usages"])
        self.assertEqual({"key_pairs": 2}, caught.exception.kwargs["headroom"])
        await engine.check_deltas(ctx, {"key_pairs": 1}, "u2")
        # The stricter of the project's and the user's limit applies; -1 is unlimited.
        self.sql(quotas_db.set_project_limit, "p1", "key_pairs", -1)
        await engine.check_deltas(ctx, {"key_pairs": 5}, "u1")
        self.sql(quotas_db.set_user_limit, "p1", "u1", "key_pairs", 3)
        await engine.check_deltas(ctx, {"key_pairs": 1}, "u1")
        with self.assertRaises(exception.OverQuota):
            await engine.check_deltas(ctx, {"key_pairs": 2}, "u1")

    async def test_instances_project_and_user(self):
        engine = self.make(instances=5, cores=10, ram=4096)
        counter = InstanceCounter({("p1", "u1"): (2, 4, 1024), ("p1", "u2"): (2, 2, 1024)})
        engine.register_counter(quota.INSTANCE_RESOURCES, counter)
        ctx = context()
        deltas = {"instances": 1, "cores": 2, "ram": 512}
        await engine.check_deltas(ctx, deltas, "p1", user_id="u1", check_project_id="p1",
                                  check_user_id="u1")
        with self.assertRaises(exception.OverQuota) as caught:
            await engine.check_deltas(ctx, {"instances": 2, "cores": 1, "ram": 1}, "p1")
        self.assertEqual(["instances"], caught.exception.kwargs["overs"])
        self.sql(quotas_db.set_user_limit, "p1", "u1", "cores", 5)
        with self.assertRaises(exception.OverQuota) as caught:
            await engine.check_deltas(ctx, deltas, "p1", user_id="u1", check_project_id="p1",
                                      check_user_id="u1")
        self.assertEqual(["cores"], caught.exception.kwargs["overs"])
        self.assertEqual(5, caught.exception.kwargs["quotas"]["cores"])
        self.assertEqual({"instances": 2, "cores": 4, "ram": 1024},
                         caught.exception.kwargs["usages"])

    async def test_limit_check(self):
        engine = self.make(metadata_items=3)
        ctx = context()
        await engine.limit_check(ctx, metadata_items=3)
        with self.assertRaises(exception.OverQuota):
            await engine.limit_check(ctx, metadata_items=4)
        with self.assertRaises(exception.InvalidQuotaValue):
            await engine.limit_check(ctx, metadata_items=-1)
        with self.assertRaises(exception.InvalidQuotaMethodUsage):
            await engine.limit_check(ctx, bogus=1)
        self.sql(quotas_db.set_user_limit, "p1", "u1", "metadata_items", 1)
        with self.assertRaises(exception.OverQuota):
            await engine.limit_check(ctx, metadata_items=2)
        await engine.limit_check(context(user="u2"), metadata_items=2)

    async def test_limit_check_project_and_user_needs_values(self):
        engine = self.make()
        with self.assertRaises(exception.Invalid):
            await engine.limit_check_project_and_user(context())
        with self.assertRaises(exception.InvalidQuotaValue):
            await engine.limit_check_project_and_user(context(),
                                                      project_values={"instances": -1})

    async def test_usages_in_views(self):
        engine = self.make()
        engine.register_counter(quota.INSTANCE_RESOURCES,
                                InstanceCounter({("p1", "u1"): (2, 4, 1024),
                                                 ("p1", "u2"): (1, 1, 1)}))
        ctx = context()
        project = await engine.get_project_quotas(ctx, "p1")
        self.assertEqual((3, 5, 1025, 0, 0), (
            project["instances"]["in_use"], project["cores"]["in_use"],
            project["ram"]["in_use"], project["key_pairs"]["in_use"],
            project["metadata_items"]["in_use"]))
        user = await engine.get_user_quotas(ctx, "p1", "u1")
        self.assertEqual(2, user["instances"]["in_use"])

    async def test_unknown_counter(self):
        engine = self.make()
        with self.assertRaises(exception.QuotaResourceUnknown):
            engine.register_counter("metadata_items", InstanceCounter({}))
        with self.assertRaises(exception.QuotaResourceUnknown):
            await engine.count_as_dict(context(), "bogus")


class NoopDriverTest(unittest.TestCase):

    async def test_unlimited(self):
        engine = quota.QuotaEngine(make_conf(driver=quota.NOOP_DRIVER, instances=0))
        ctx = context()
        self.assertEqual({-1}, set((await engine.get_defaults(ctx)).values()))
        project = await engine.get_project_quotas(ctx, "p1")
        self.assertEqual({"limit": -1, "in_use": -1}, project["instances"])
        self.assertEqual(-1, engine.get_reserved())
        await engine.check_deltas(ctx, {"instances": 100, "cores": 1, "ram": 1}, "p1")
        await engine.limit_check(ctx, metadata_items=10 ** 6)
        self.assertEqual({"minimum": 0, "maximum": -1},
                         (await engine.get_settable_quotas(ctx, "p1"))["cores"])


class CheckNumInstancesTest(EngineTestBase):

    async def test_messages_and_reduction(self):
        engine = self.make(instances=10, cores=20, ram=51200)
        engine.register_counter(quota.INSTANCE_RESOURCES,
                                InstanceCounter({("p1", "u1"): (10, 10, 10240)}))
        ctx = context()
        with self.assertRaises(exception.TooManyInstances) as caught:
            await quota.check_num_instances_quota(engine, ctx, vcpus=1, memory_mb=1024,
                                                  min_count=1, max_count=1)
        self.assertEqual("Quota exceeded for instances: Requested 1, but already used 10 "
                         "of 10 instances", caught.exception.format_message())
        self.assertEqual(403, caught.exception.code)

    async def test_reduced_to_what_fits(self):
        engine = self.make(instances=10, cores=20, ram=51200)
        engine.register_counter(quota.INSTANCE_RESOURCES,
                                InstanceCounter({("p1", "u1"): (9, 9, 1024)}))
        ctx = context()
        self.assertEqual(1, await quota.check_num_instances_quota(
            engine, ctx, vcpus=1, memory_mb=1024, min_count=1, max_count=5))
        with self.assertRaises(exception.TooManyInstances) as caught:
            await quota.check_num_instances_quota(engine, ctx, vcpus=1, memory_mb=1024,
                                                  min_count=2, max_count=5)
        self.assertEqual("Quota exceeded for instances: Requested 2-5, but already used 9 "
                         "of 10 instances", caught.exception.format_message())

    async def test_cores(self):
        engine = self.make(instances=10, cores=4, ram=-1)
        engine.register_counter(quota.INSTANCE_RESOURCES,
                                InstanceCounter({("p1", "u1"): (1, 2, 1024)}))
        with self.assertRaises(exception.TooManyInstances) as caught:
            await quota.check_num_instances_quota(engine, context(), vcpus=4, memory_mb=1,
                                                  min_count=1, max_count=1)
        self.assertEqual("Quota exceeded for cores: Requested 4, but already used 2 of 4 "
                         "cores", caught.exception.format_message())

    async def test_per_user_only_with_user_rows(self):
        engine = self.make()
        counter = InstanceCounter({})
        engine.register_counter(quota.INSTANCE_RESOURCES, counter)
        await quota.check_num_instances_quota(engine, context(), vcpus=1, memory_mb=1,
                                              min_count=1, max_count=1)
        self.assertEqual([("p1", None)], counter.calls)
        self.sql(quotas_db.set_user_limit, "p1", "u1", "ram", 100)
        await quota.check_num_instances_quota(engine, context(), vcpus=1, memory_mb=1,
                                              min_count=1, max_count=1)
        self.assertEqual(("p1", "u1"), counter.calls[-1])

    async def test_recheck_wording(self):
        engine = self.make(instances=1)
        engine.register_counter(quota.INSTANCE_RESOURCES,
                                InstanceCounter({("p1", "u1"): (2, 2, 2)}))
        with self.assertRaises(exception.TooManyInstances) as caught:
            await quota.check_num_instances_quota(engine, context(), vcpus=1, memory_mb=1,
                                                  min_count=0, max_count=0, orig_num_req=1)
        self.assertEqual("Quota exceeded for instances: Requested 1, but already used 1 of "
                         "1 instances", caught.exception.format_message())


class CountHelpersTest(unittest.SynchronousTestCase):

    def test_add_counts(self):
        self.assertEqual({"project": {"instances": 3}, "user": {"instances": 1}},
                         quota.add_counts({"project": {"instances": 1}},
                                          {"project": {"instances": 2},
                                           "user": {"instances": 1}}))

    def test_count_instances_in_cell(self):
        import uuid

        engine = engine_for(self, fresh_database_url(self, "sqlite"))
        migration.db_sync(engine, "main")
        rows = [("p1", "u1", 2, 512, None, 0, False), ("p1", "u2", 1, 256, "active", 0, None),
                ("p1", "u1", 4, 100, "soft-delete", 0, False),
                ("p1", "u1", 8, 100, "active", 7, False),
                ("p1", "u1", 16, 100, "active", 0, True),
                ("p2", "u1", 32, 100, "active", 0, False)]
        with engine.begin() as conn:
            for project, user, vcpus, ram, state, deleted, hidden in rows:
                conn.exec_driver_sql(
                    "INSERT INTO instances (uuid, project_id, user_id, vcpus, memory_mb, "
                    "vm_state, deleted, hidden) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (str(uuid.uuid4()), project, user, vcpus, ram, state, deleted, hidden))
        with engine.connect() as conn:
            self.assertEqual(
                {"project": {"instances": 2, "cores": 3, "ram": 768},
                 "user": {"instances": 1, "cores": 2, "ram": 512}},
                quota.count_instances_in_cell(conn, "p1", "u1"))
