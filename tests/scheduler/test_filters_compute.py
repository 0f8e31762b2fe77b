"""Filters of the host itself: service, capabilities, image properties, isolation,
JSON queries, metrics, I/O and instance counts (spec D §1.4.2)."""
from __future__ import annotations

import datetime
import json

from twisted.trial import unittest

from nova_tx.scheduler.filters.all_hosts_filter import AllHostsFilter
from nova_tx.scheduler.filters.compute_capabilities_filter import ComputeCapabilitiesFilter
from nova_tx.scheduler.filters.compute_filter import ComputeFilter
from nova_tx.scheduler.filters.image_props_filter import (
    ImagePropertiesFilter,
    convert_version_to_str,
    version_satisfies,
)
from nova_tx.scheduler.filters.io_ops_filter import AggregateIoOpsFilter, IoOpsFilter
from nova_tx.scheduler.filters.isolated_hosts_filter import IsolatedHostsFilter
from nova_tx.scheduler.filters.json_filter import JsonFilter
from nova_tx.scheduler.filters.metrics_filter import MetricsFilter
from nova_tx.scheduler.filters.num_instances_filter import (
    AggregateNumInstancesFilter,
    NumInstancesFilter,
)
from tests.scheduler.hosts import (
    NOW,
    aggregate,
    flavor,
    make_conf,
    node,
    passing,
    service,
    spec,
    states,
)


def ago(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(NOW - seconds, datetime.UTC).replace(tzinfo=None)


class AllHostsFilterTests(unittest.SynchronousTestCase):
    def test_every_host_passes(self):
        hs = states(node("h1"), node("h2"))
        self.assertEqual(["h1", "h2"], passing(AllHostsFilter(make_conf()), hs, spec()))


class ComputeFilterTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.filter = ComputeFilter(make_conf())

    def test_up_and_enabled_passes(self):
        hs = states(node("h1"))
        self.assertEqual(["h1"], passing(self.filter, hs, spec()))

    def test_disabled_fails(self):
        hs = states(node("h1"), node("h2"))
        hs.update_service(service("h1", disabled=True))
        self.assertEqual(["h2"], passing(self.filter, hs, spec()))

    def test_forced_down_fails(self):
        hs = states(node("h1"), node("h2"))
        hs.update_service(service("h2", forced_down=True))
        self.assertEqual(["h1"], passing(self.filter, hs, spec()))

    def test_heartbeat_edges(self):
        hs = states(node("h1"), node("h2"), node("h3"), node("h4"))
        hs.update_service(service("h1", last_seen_up=ago(60)))      # exactly down time
        hs.update_service(service("h2", last_seen_up=ago(61)))
        hs.update_service(service("h3", last_seen_up=None, created_at=ago(10)))
        hs.update_service(service("h4", last_seen_up=ago(-61)))    # in the future, too far
        self.assertEqual(["h1", "h3"], passing(self.filter, hs, spec()))

    def test_service_down_time_option(self):
        hs = states(node("h1"))
        hs.update_service(service("h1", last_seen_up=ago(90)))
        self.assertEqual([], passing(self.filter, hs, spec()))
        conf = make_conf(DEFAULT__service_down_time=120)
        self.assertEqual(["h1"], passing(ComputeFilter(conf), hs, spec()))

    def test_no_service_record_fails(self):
        hs = states(node("h1"), with_services=False)
        self.assertEqual([], passing(self.filter, hs, spec()))

    def test_every_node_of_a_host_follows_its_service(self):
        hs = states(node("h1", nodename="n1"), node("h1", nodename="n2"), node("h2"))
        hs.update_service(service("h1", disabled=True))
        self.assertEqual(["h2"], passing(self.filter, hs, spec()))


class ComputeCapabilitiesFilterTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.filter = ComputeCapabilitiesFilter(make_conf())
        self.hs = states(
            node("qemu", free_ram_mb=8192, stats={"foo": "bar"},
                 cpu_info=json.dumps({"arch": "x86_64", "features": ["aes", "mmx"]})),
            node("ironic", hypervisor_type="ironic", free_ram_mb=2048,
                 cpu_info=json.dumps({"arch": "x86_64", "features": ["sse"]})))

    def check(self, expected, **extra_specs):
        self.assertEqual(expected, passing(self.filter, self.hs, spec(flavor(**extra_specs))))

    def test_no_extra_specs(self):
        self.check(["qemu", "ironic"])

    def test_scoped_string_operator(self):
        self.check(["qemu"], **{"capabilities:hypervisor_type": "s== QEMU"})

    def test_numeric_attribute(self):
        self.check(["qemu"], free_ram_mb=">= 4096")
        self.check(["qemu", "ironic"], **{"capabilities:free_ram_mb": ">= 2048"})
        self.check([], **{"capabilities:free_ram_mb": "> 2048"})  # ">" is no operator

    def test_other_scopes_and_unknown_unscoped_keys_are_ignored(self):
        self.check(["qemu", "ironic"], **{"hw:cpu_policy": "dedicated", "bar": "baz",
                                         "trait:CUSTOM_X": "required"})

    def test_unscoped_stats_key_checks_only_hosts_that_report_it(self):
        self.check(["qemu", "ironic"], foo="bar")
        self.check(["ironic"], foo="baz")

    def test_missing_capability_fails(self):
        self.check([], **{"capabilities:nothing": "1"})

    def test_path_through_json_cpu_info(self):
        self.check(["qemu"], **{"capabilities:cpu_info:features": "<in> aes"})
        self.check(["qemu", "ironic"], **{"capabilities:cpu_info:arch": "x86_64"})
        self.check([], **{"capabilities:cpu_info:vendor": "Intel"})

    def test_path_falls_back_to_stats(self):
        self.check(["qemu"], **{"capabilities:foo": "bar"})

    def test_a_missing_attribute_falls_back_to_stats(self):
        self.hs.update_from_compute_node(node("bare", hypervisor_type=None,
                                              stats={"hypervisor_type": "QEMU"}))
        self.hs.update_from_compute_node(node("empty", hypervisor_type=None))
        self.check(["qemu", "bare"], **{"capabilities:hypervisor_type": "QEMU"})

    def test_string_columns_without_interning(self):
        self.check(["ironic"], **{"capabilities:host": "<or> ironic <or> other"})
        self.check(["qemu"], **{"capabilities:uuid": "s== uuid-qemu"})

    def test_every_spec_must_hold(self):
        self.check([], **{"capabilities:hypervisor_type": "s== QEMU",
                          "capabilities:free_ram_mb": "<= 4096"})


class ImagePropertiesFilterTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.filter = ImagePropertiesFilter(make_conf())
        self.hs = states(
            node("x86", supported_instances=[("x86_64", "qemu", "hvm")]),
            node("arm", supported_instances=[("aarch64", "qemu", "hvm")],
                 hypervisor_version=5001000),
            node("none", supported_instances=[]))

    def check(self, expected, filter_=None, **props):
        self.assertEqual(expected, passing(filter_ or self.filter, self.hs,
                                           spec(image={"properties": props})))

    def test_no_properties_pass_everywhere(self):
        self.check(["x86", "arm", "none"])

    def test_architecture(self):
        self.check(["x86"], hw_architecture="x86_64")
        self.check(["x86"], hw_architecture="amd64")
        self.check(["arm"], hw_architecture="aarch64")
        self.check([], hw_architecture="ppc64le")
        self.check(["x86"], architecture="X86_64")  # legacy name, canonicalised

    def test_hypervisor_type_and_vm_mode(self):
        self.check(["x86", "arm"], img_hv_type="qemu")
        self.check([], img_hv_type="xen")
        self.check(["x86", "arm"], hw_vm_mode="hv")
        self.check(["x86"], hw_vm_mode="hvm", hw_architecture="x86_64")

    def test_hypervisor_version(self):
        self.check(["x86"], img_hv_type="qemu", img_hv_requested_version=">=6.2")
        self.check(["x86", "arm"], img_hv_type="qemu", img_hv_requested_version=">=5.1")
        self.check(["arm"], img_hv_type="qemu", img_hv_requested_version="<6.0")
        self.check(["arm"], img_hv_type="qemu", img_hv_requested_version=">=5.0, <6.0")
        self.check(["x86"], hw_architecture="x86_64", img_hv_requested_version=">=6.0")

    def test_a_version_alone_is_not_checked(self):
        # Nova compares the version only for an image asking for an arch, type or mode.
        self.check(["x86", "arm", "none"], img_hv_requested_version=">=9.0")

    def test_default_architecture_option(self):
        conf = make_conf(filter_scheduler__image_properties_default_architecture="aarch64")
        self.check(["arm"], filter_=ImagePropertiesFilter(conf))
        self.check(["x86"], filter_=ImagePropertiesFilter(conf), hw_architecture="x86_64")

    def test_version_helpers(self):
        self.assertEqual("6.2.0", convert_version_to_str(6002000))
        self.assertEqual("1.0.5", convert_version_to_str(1000005))
        self.assertTrue(version_satisfies("6.2.0", ">=6.2"))
        self.assertFalse(version_satisfies("6.1.9", ">=6.2"))
        self.assertTrue(version_satisfies("6.2.0", "==6.2"))
        self.assertFalse(version_satisfies("6.2.0", "bogus"))

    def test_runs_on_rebuild(self):
        rebuild = spec(image={"properties": {"hw_architecture": "aarch64"}},
                       hints={"_nova_check_type": "rebuild"})
        self.assertEqual(["arm"], passing(self.filter, self.hs, rebuild))


class IsolatedHostsFilterTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(node("iso"), node("open"))

    def run_filter(self, image_id="image-1", **options):
        conf = make_conf(**{f"filter_scheduler__{k}": v for k, v in options.items()})
        return passing(IsolatedHostsFilter(conf), self.hs, spec(image={"id": image_id}))

    def test_nothing_configured(self):
        self.assertEqual(["iso", "open"], self.run_filter())

    def test_no_isolated_images(self):
        self.assertEqual(["open"], self.run_filter(isolated_hosts=["iso"]))
        self.assertEqual(["iso", "open"], self.run_filter(
            isolated_hosts=["iso"], restrict_isolated_hosts_to_isolated_images=False))

    def test_restricted(self):
        options = dict(isolated_hosts=["iso"], isolated_images=["image-1"])
        self.assertEqual(["iso"], self.run_filter("image-1", **options))
        self.assertEqual(["open"], self.run_filter("image-2", **options))
        self.assertEqual(["open"], self.run_filter(None, **options))  # volume-backed

    def test_not_restricted(self):
        options = dict(isolated_hosts=["iso"], isolated_images=["image-1"],
                       restrict_isolated_hosts_to_isolated_images=False)
        self.assertEqual(["iso"], self.run_filter("image-1", **options))
        self.assertEqual(["iso", "open"], self.run_filter("image-2", **options))


class JsonFilterTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.filter = JsonFilter(make_conf())
        self.hs = states(node("small", memory_mb=1024, local_gb=10),
                         node("big", memory_mb=8192, local_gb=500, stats={"k": "v"}))

    def check(self, expected, query):
        hints = {} if query is None else {"query": json.dumps(query)}
        self.assertEqual(expected, passing(self.filter, self.hs, spec(hints=hints)))

    def test_no_query(self):
        self.check(["small", "big"], None)

    def test_comparisons(self):
        self.check(["big"], [">=", "$free_ram_mb", 1024 + 1])
        self.check(["small"], ["<", "$free_ram_mb", 2048])
        self.check(["small"], ["=", "$free_ram_mb", 1024])
        self.check(["small", "big"], ["<=", "$free_ram_mb", 8192])
        self.check(["big"], ["and", [">=", "$free_ram_mb", 1024],
                             [">=", "$free_disk_mb", 204800]])
        self.check(["small", "big"], ["or", ["=", "$host", "small"], ["=", "$host", "big"]])

    def test_in_not_and_dotted_names(self):
        self.check(["big"], ["in", "$host", "big", "huge"])
        self.check(["small"], ["not", ["=", "$host", "big"]])
        self.check(["big"], ["=", "$stats.k", "v"])

    def test_arguments_resolving_to_none_are_dropped(self):
        self.check([], ["=", "$nothing", 1])
        self.check([], [">=", "$free_ram_mb"])


class MetricsFilterTests(unittest.SynchronousTestCase):
    def test_every_configured_metric_must_be_reported(self):
        hs = states(node("both", metrics=[{"name": "cpu.frequency", "value": 2.0},
                                          {"name": "cpu.percent", "value": 0.5}]),
                    node("one", metrics=[{"name": "cpu.frequency", "value": 2.0}]),
                    node("none"))
        conf = make_conf(metrics__weight_setting=["cpu.frequency=1.0", "cpu.percent=-1"])
        self.assertEqual(["both"], passing(MetricsFilter(conf), hs, spec()))
        conf = make_conf(metrics__weight_setting=["cpu.frequency=1.0"])
        self.assertEqual(["both", "one"], passing(MetricsFilter(conf), hs, spec()))
        conf = make_conf(metrics__weight_setting=["cpu.frequency=1.0", "bad"])
        self.assertEqual(["both", "one"], passing(MetricsFilter(conf), hs, spec()))
        self.assertEqual(["both", "one", "none"],
                         passing(MetricsFilter(make_conf()), hs, spec()))


class CountFilterTests(unittest.SynchronousTestCase):
    """IoOps and NumInstances: fewer than the maximum passes (the maximum fails)."""

    def setUp(self):
        self.hs = states(node("h7", stats={"io_workload": 7, "num_instances": 49}),
                         node("h8", stats={"io_workload": 8, "num_instances": 50}),
                         node("h0"))

    def test_io_ops_edge(self):
        self.assertEqual(["h7", "h0"], passing(IoOpsFilter(make_conf()), self.hs, spec()))

    def test_io_ops_option(self):
        conf = make_conf(filter_scheduler__max_io_ops_per_host=7)
        self.assertEqual(["h0"], passing(IoOpsFilter(conf), self.hs, spec()))

    def test_num_instances_edge_and_option(self):
        self.assertEqual(["h7", "h0"], passing(NumInstancesFilter(make_conf()), self.hs,
                                               spec()))
        conf = make_conf(filter_scheduler__max_instances_per_host=51)
        self.assertEqual(["h7", "h8", "h0"], passing(NumInstancesFilter(conf), self.hs,
                                                     spec()))

    def test_aggregate_overrides_take_the_smallest(self):
        self.hs.update_aggregates([aggregate(1, ["h8"], max_io_ops_per_host="9"),
                                   aggregate(2, ["h7"], max_io_ops_per_host="20"),
                                   aggregate(3, ["h7"], max_io_ops_per_host="7")])
        self.assertEqual(["h8", "h0"],
                         passing(AggregateIoOpsFilter(make_conf()), self.hs, spec()))

    def test_aggregate_bad_value_falls_back_to_the_option(self):
        self.hs.update_aggregates([aggregate(1, ["h8"], max_io_ops_per_host="9"),
                                   aggregate(2, ["h8"], max_io_ops_per_host="lots")])
        self.assertEqual(["h7", "h0"],
                         passing(AggregateIoOpsFilter(make_conf()), self.hs, spec()))

    def test_aggregate_num_instances(self):
        self.hs.update_aggregates([aggregate(1, ["h8", "h0"], max_instances_per_host="51")])
        self.assertEqual(["h7", "h8", "h0"],
                         passing(AggregateNumInstancesFilter(make_conf()), self.hs, spec()))
        self.hs.update_aggregates([aggregate(1, ["h0"], max_instances_per_host="0")])
        self.assertEqual(["h7"],
                         passing(AggregateNumInstancesFilter(make_conf()), self.hs, spec()))
