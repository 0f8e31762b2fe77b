"""Filters that read aggregate metadata (spec D §1.4.2, §1.11)."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.scheduler.filters.aggregate_image_properties_isolation import (
    AggregateImagePropertiesIsolation,
)
from nova_tx.scheduler.filters.aggregate_instance_extra_specs import (
    AggregateInstanceExtraSpecsFilter,
)
from nova_tx.scheduler.filters.aggregate_multitenancy_isolation import (
    AggregateMultiTenancyIsolation,
)
from nova_tx.scheduler.filters.availability_zone_filter import AvailabilityZoneFilter
from nova_tx.scheduler.filters.type_filter import AggregateTypeAffinityFilter
from tests.scheduler.hosts import aggregate, flavor, make_conf, node, passing, spec, states


class AvailabilityZoneFilterTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(node("a"), node("b"), node("c"))
        self.hs.update_aggregates([aggregate(1, ["a"], availability_zone="az1"),
                                   aggregate(2, ["b"], availability_zone="az2, az3")])
        self.filter = AvailabilityZoneFilter(make_conf())

    def check(self, expected, zone, filter_=None):
        self.assertEqual(expected, passing(filter_ or self.filter, self.hs,
                                           spec(availability_zone=zone)))

    def test_no_zone_requested(self):
        self.check(["a", "b", "c"], None)

    def test_zone_of_an_aggregate(self):
        self.check(["a"], "az1")
        self.check(["b"], "az3")  # comma-split, stripped
        self.check([], "az9")

    def test_default_zone_is_hosts_without_one(self):
        self.check(["c"], "nova")
        conf = make_conf(DEFAULT__default_availability_zone="az1")
        self.check(["a", "c"], "az1", AvailabilityZoneFilter(conf))

    def test_membership_changes_reach_the_filter(self):
        self.hs.update_aggregates(aggregate(1, ["a", "c"], availability_zone="az1"))
        self.check(["a", "c"], "az1")
        self.hs.delete_aggregate(aggregate(1, ["a", "c"]))
        self.check(["a", "c"], "nova")


class AggregateInstanceExtraSpecsFilterTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(node("h1"), node("h2"), node("h3"))
        self.hs.update_aggregates([aggregate(1, ["h1", "h2"], ssd="true", speed="10"),
                                   aggregate(2, ["h2"], ssd="false,maybe"),
                                   aggregate(3, ["h3"], gpu="yes")])
        self.filter = AggregateInstanceExtraSpecsFilter(make_conf())

    def check(self, expected, **extra_specs):
        self.assertEqual(expected, passing(self.filter, self.hs, spec(flavor(**extra_specs))))

    def test_no_extra_specs(self):
        self.check(["h1", "h2", "h3"])

    def test_scoped_key(self):
        self.check(["h1", "h2"], **{"aggregate_instance_extra_specs:ssd": "true"})
        self.check(["h2"], **{"aggregate_instance_extra_specs:ssd": "maybe"})
        self.check([], **{"aggregate_instance_extra_specs:ssd": "no"})

    def test_unscoped_key_is_used_whole(self):
        self.check(["h3"], gpu="yes")

    def test_other_scopes_are_ignored(self):
        self.check(["h1", "h2", "h3"], **{"hw:cpu_policy": "dedicated",
                                          "capabilities:ssd": "false"})

    def test_operators(self):
        self.check(["h1", "h2"], **{"aggregate_instance_extra_specs:speed": ">= 5"})
        self.check([], **{"aggregate_instance_extra_specs:speed": ">= 50"})
        self.check(["h2"], **{"aggregate_instance_extra_specs:ssd": "<or> maybe <or> never"})

    def test_every_key_must_match(self):
        self.check([], **{"aggregate_instance_extra_specs:ssd": "true", "gpu": "yes"})


class AggregateMultiTenancyIsolationTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(node("hA"), node("hB"), node("hC"))
        self.hs.update_aggregates([aggregate(1, ["hB"], filter_tenant_id="X, Z"),
                                   aggregate(2, ["hC"], filter_tenant_id2="Y")])
        self.filter = AggregateMultiTenancyIsolation(make_conf())

    def check(self, expected, project):
        self.assertEqual(expected, passing(self.filter, self.hs, spec(project_id=project)))

    def test_listed_tenant_may_use_the_host_and_others(self):
        self.check(["hA", "hB", "hC"], "X")
        self.check(["hA", "hB", "hC"], "Z")

    def test_unlisted_tenant_never_gets_the_host(self):
        # The suffixed key is the placement prefilter's, not this filter's.
        self.check(["hA", "hC"], "Y")

    def test_an_empty_value_admits_nobody(self):
        self.hs.update_aggregates(aggregate(3, ["hA"], filter_tenant_id=""))
        self.check(["hB", "hC"], "X")


class AggregateTypeAffinityFilterTests(unittest.SynchronousTestCase):
    def test_flavor_names(self):
        hs = states(node("h1"), node("h2"), node("h3"))
        hs.update_aggregates([aggregate(1, ["h1"], instance_type="m1.nano"),
                              aggregate(2, ["h2"], instance_type="m1.nano, m1.small")])
        check_filter = AggregateTypeAffinityFilter(make_conf())
        self.assertEqual(["h2", "h3"], passing(check_filter, hs, spec(flavor(name="m1.small"))))
        self.assertEqual(["h1", "h2", "h3"],
                         passing(check_filter, hs, spec(flavor(name="m1.nano"))))
        self.assertEqual(["h3"], passing(check_filter, hs, spec(flavor(name="m1.large"))))


class AggregateImagePropertiesIsolationTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(node("win"), node("any"), node("odd"))
        self.hs.update_aggregates([aggregate(1, ["win"], os_distro="windows"),
                                   aggregate(2, ["odd"], custom_key="x",
                                             hw_cpu_cores="4", hw_qemu_guest_agent="True")])

    def check(self, expected, filter_=None, **props):
        filter_ = filter_ or AggregateImagePropertiesIsolation(make_conf())
        self.assertEqual(expected, passing(filter_, self.hs, spec(image={"properties": props})))

    def test_other_value_never_lands_on_the_isolated_host(self):
        self.check(["any", "odd"], os_distro="linux")
        self.check(["win", "any", "odd"], os_distro="windows")

    def test_image_without_the_property_passes(self):
        self.check(["win", "any", "odd"])

    def test_non_standard_keys_are_ignored(self):
        self.check(["win", "any", "odd"], custom_key="y")

    def test_typed_values(self):
        self.check(["win", "any", "odd"], hw_cpu_cores="4")
        self.check(["win", "any"], hw_cpu_cores="2")
        self.check(["win", "any", "odd"], hw_qemu_guest_agent="yes")
        # A false boolean is not "set": it passes.
        self.check(["win", "any", "odd"], hw_qemu_guest_agent="no")

    def test_namespace(self):
        conf = make_conf(filter_scheduler__aggregate_image_properties_isolation_namespace="os",
                         filter_scheduler__aggregate_image_properties_isolation_separator="_")
        filter_ = AggregateImagePropertiesIsolation(conf)
        self.check(["any", "odd"], filter_, os_distro="linux")
        self.check(["win", "any", "odd"], filter_, hw_cpu_cores="2")

    def test_runs_on_rebuild(self):
        rebuild = spec(image={"properties": {"os_distro": "linux"}},
                       hints={"_nova_check_type": "rebuild"})
        self.assertEqual(["any", "odd"], passing(AggregateImagePropertiesIsolation(make_conf()),
                                                 self.hs, rebuild))
