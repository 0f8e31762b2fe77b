"""FilterHandler: loading available_filters through the plugins, enabled_filters in
order, Nova's errors and log lines, host narrowing, once-per-request and rebuilds."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile

import numpy as np
from twisted.trial import unittest

from nova_tx import exception
from nova_tx.objects.request_spec import Destination
from nova_tx.scheduler import filters
from nova_tx.scheduler.filters import BaseHostFilter, FilterHandler
from tests.scheduler.hosts import group, make_conf, node, service, spec, states

ZED_FILTERS = {
    "AggregateImagePropertiesIsolation", "AggregateInstanceExtraSpecsFilter",
    "AggregateIoOpsFilter", "AggregateMultiTenancyIsolation", "AggregateNumInstancesFilter",
    "AggregateTypeAffinityFilter", "AllHostsFilter", "AvailabilityZoneFilter",
    "ComputeCapabilitiesFilter", "ComputeFilter", "DifferentHostFilter",
    "ImagePropertiesFilter", "IoOpsFilter", "IsolatedHostsFilter", "JsonFilter",
    "MetricsFilter", "NUMATopologyFilter", "NumInstancesFilter", "PciPassthroughFilter",
    "SameHostFilter", "ServerGroupAffinityFilter", "ServerGroupAntiAffinityFilter",
    "SimpleCIDRAffinityFilter",
}


class NotH2Filter(BaseHostFilter):
    """Rejects the host named h2 (Nova's per-host contract)."""

    def host_passes(self, host_state, spec_obj):
        return host_state.host != "h2"


def names(host_states, rows):
    return [host_states.nodename[r] for r in rows]


class LoadingTests(unittest.SynchronousTestCase):
    def test_all_filters_are_the_zed_set(self):
        self.assertEqual(ZED_FILTERS, {f.name for f in filters.all_filters()})
        for plugin in filters.all_filters():
            self.assertTrue(filters.IHostFilter.providedBy(plugin))

    def test_default_enabled_filters_in_order(self):
        handler = FilterHandler(make_conf())
        self.assertEqual(["ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
                          "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter"],
                         [f.name for f in handler.filters])

    def test_the_filters_get_the_handlers_options(self):
        conf = make_conf()
        handler = FilterHandler(conf, ["NumInstancesFilter"])
        self.assertIs(conf, handler.filters[0].conf)

    def test_unknown_enabled_filter(self):
        conf = make_conf(filter_scheduler__enabled_filters=["ComputeFilter", "NoSuchFilter",
                                                            "OtherFilter"])
        error = self.assertRaises(exception.SchedulerHostFilterNotFound, FilterHandler, conf)
        self.assertEqual("Scheduler Host Filter NoSuchFilter, OtherFilter could not be found.",
                         error.format_message())

    def test_enabled_but_not_available(self):
        conf = make_conf(
            filter_scheduler__available_filters=[
                "nova.scheduler.filters.compute_filter.ComputeFilter"],
            filter_scheduler__enabled_filters=["ComputeFilter", "RamFilter"])
        self.assertRaises(exception.SchedulerHostFilterNotFound, FilterHandler, conf)

    def test_a_class_path_in_available_filters(self):
        conf = make_conf(
            filter_scheduler__available_filters=[
                "nova_tx.scheduler.filters.all_filters",
                "tests.scheduler.test_filters_handler.NotH2Filter"],
            filter_scheduler__enabled_filters=["ComputeFilter", "NotH2Filter"])
        handler = FilterHandler(conf)
        hs = states(node("h1"), node("h2"), node("h3"))
        self.assertEqual(["h1", "h3"],
                         names(hs, handler.get_filtered_hosts(hs, hs.rows(), spec())))

    def test_a_bad_class_path(self):
        conf = make_conf(filter_scheduler__available_filters=["no.such.Module"])
        error = self.assertRaises(exception.ClassNotFound, FilterHandler, conf)
        self.assertIn("Class no.such.Module could not be found", error.format_message())
        conf = make_conf(filter_scheduler__available_filters=["nova_tx.exception.NotFound"])
        self.assertRaises(exception.ClassNotFound, FilterHandler, conf)
        conf = make_conf(filter_scheduler__available_filters=[
            "nova.scheduler.filters.ram_filter.RamFilter"])
        self.assertRaises(exception.ClassNotFound, FilterHandler, conf)


DROPIN = '''
from nova_tx.scheduler.filters import BaseHostFilter


class AcmeFilter(BaseHostFilter):
    def filter_rows(self, host_states, rows, spec_obj):
        return host_states.host[rows] != "h2"


AcmeFilter = AcmeFilter()
'''

RUN = '''
from tests.scheduler.hosts import make_conf, node, spec, states
from nova_tx.scheduler.filters import FilterHandler
conf = make_conf(filter_scheduler__enabled_filters=["ComputeFilter", "AcmeFilter"])
hs = states(node("h1"), node("h2"), node("h3"))
print([hs.host[r] for r in FilterHandler(conf).get_filtered_hosts(hs, hs.rows(), spec())])
'''


class DropInTests(unittest.SynchronousTestCase):
    def test_an_operator_drop_in_filter(self):
        site = tempfile.mkdtemp(prefix="nova-tx-site-")
        directory = os.path.join(site, "nova_tx", "plugins")
        os.makedirs(directory)
        with open(os.path.join(directory, "acme_filters.py"), "w") as f:
            f.write(DROPIN)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, site]))
        result = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True,
                                text=True, timeout=120, cwd=root)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual("['h1', 'h3']", result.stdout.strip().splitlines()[-1])


class ApplyingTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.hs = states(node("h1"), node("h2", nodename="n2a"), node("h2", nodename="n2b"),
                         node("h3", stats={"num_instances": 60}))
        self.hs.update_service(service("h1", disabled=True))

    def handler(self, *enabled):
        return FilterHandler(make_conf(), list(enabled))

    def test_filters_in_order_and_nova_log_lines(self):
        handler = self.handler("ComputeFilter", "NumInstancesFilter")
        with self.assertLogs("nova_tx.scheduler.filters", logging.DEBUG) as logs:
            rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), spec())
        self.assertEqual(["n2a", "n2b"], names(self.hs, rows))
        messages = [r.getMessage() for r in logs.records]
        self.assertIn("Starting with 4 host(s)", messages)
        self.assertIn("Filter ComputeFilter returned 3 host(s)", messages)
        self.assertIn("Filter NumInstancesFilter returned 2 host(s)", messages)

    def test_zero_hosts_stops_and_logs_the_history(self):
        handler = self.handler("ComputeFilter", "SameHostFilter", "NumInstancesFilter")
        with self.assertLogs("nova_tx.scheduler.filters", logging.INFO) as logs:
            rows = handler.get_filtered_hosts(self.hs, self.hs.rows(),
                                              spec(hints={"same_host": ["nowhere"]}))
        self.assertEqual([], list(rows))
        messages = [r.getMessage() for r in logs.records]
        self.assertIn("Filter SameHostFilter returned 0 hosts", messages)
        self.assertTrue(any("Filtering removed all hosts for the request with instance ID"
                            in m and "ComputeFilter: (start: 4, end: 3)" in m
                            and "SameHostFilter: (start: 3, end: 0)" in m
                            and "NumInstances" not in m for m in messages))

    def test_once_per_request_filters_skip_later_instances(self):
        handler = self.handler("ComputeFilter", "NumInstancesFilter")
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), spec(), index=1)
        self.assertEqual(["h1", "n2a", "n2b"], names(self.hs, rows))

    def test_rebuild_runs_only_rebuild_filters(self):
        handler = self.handler("ComputeFilter", "ImagePropertiesFilter")
        rebuild = spec(image={"properties": {"hw_architecture": "aarch64"}},
                       hints={"_nova_check_type": "rebuild"})
        self.assertEqual([], list(handler.get_filtered_hosts(self.hs, self.hs.rows(), rebuild)))
        handler = self.handler("ComputeFilter")
        self.assertEqual(["h1", "n2a", "n2b", "h3"],
                         names(self.hs, handler.get_filtered_hosts(
                             self.hs, self.hs.rows(), spec(hints={"_nova_check_type":
                                                                  "rebuild"}))))

    def test_requested_destination(self):
        handler = self.handler("ComputeFilter")
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), spec(
            requested_destination=Destination(host="h2")))
        self.assertEqual(["n2a", "n2b"], names(self.hs, rows))
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), spec(
            requested_destination=Destination(host="h2", node="n2b")))
        self.assertEqual(["n2b"], names(self.hs, rows))
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), spec(
            requested_destination=Destination(host="h1")))
        self.assertEqual([], names(self.hs, rows))

    def test_ignore_and_force(self):
        handler = self.handler("ComputeFilter")
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), spec(ignore_hosts=["H2"]))
        self.assertEqual(["h3"], names(self.hs, rows))
        # forcing skips the filters: the disabled h1 is returned
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), spec(force_hosts=["H1"]))
        self.assertEqual(["h1"], names(self.hs, rows))
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), spec(force_nodes=["n2b"]))
        self.assertEqual(["n2b"], names(self.hs, rows))
        # ... unless the check-type hint asks for filtering
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), spec(
            force_hosts=["h1"], scheduler_hints={"_nova_check_type": ["live_migrate"]}))
        self.assertEqual([], names(self.hs, rows))

    def test_server_group_filters_see_earlier_instances_of_a_multi_create(self):
        handler = self.handler("ServerGroupAntiAffinityFilter")
        anti = spec(instance_group=group("anti-affinity"))
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), anti)
        self.assertEqual(4, len(rows))
        self.hs.consume_from_request(int(rows[0]), anti, instance_uuid="i1")
        anti.instance_group.members.append("i1")
        rows = handler.get_filtered_hosts(self.hs, self.hs.rows(), anti, index=1)
        self.assertEqual(["n2a", "n2b", "h3"], names(self.hs, rows))
        self.assertEqual(["h1"], anti.instance_group.hosts)

    def test_mask_shape(self):
        rows = np.array([0, 2], dtype=np.int64)
        for plugin in filters.all_filters():
            mask = plugin.with_conf(make_conf()).filter_all(self.hs, rows, spec())
            self.assertEqual((2,), np.asarray(mask).shape, plugin.name)
