"""Same/different host, CIDR affinity and server group filters (spec D §1.4.2)."""
from __future__ import annotations

from twisted.trial import unittest

from nova_tx.scheduler.filters.affinity_filter import (
    DifferentHostFilter,
    SameHostFilter,
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
    SimpleCIDRAffinityFilter,
)
from tests.scheduler.hosts import INSTANCE, group, make_conf, node, passing, spec, states


def hosts():
    hs = states(node("h1"), node("h2", nodename="n2a"), node("h2", nodename="n2b"),
                node("h3"))
    hs.set_instance_info("h1", ["s1"])
    hs.set_instance_info("h2", ["s2", "s3"])
    return hs


class SameDifferentHostTests(unittest.SynchronousTestCase):
    def test_different_host(self):
        hs = hosts()
        check = DifferentHostFilter(make_conf())
        self.assertEqual(["h1", "n2a", "n2b", "h3"], passing(check, hs, spec()))
        self.assertEqual(["n2a", "n2b", "h3"],
                         passing(check, hs, spec(hints={"different_host": ["s1"]})))
        self.assertEqual(["h3"],
                         passing(check, hs, spec(hints={"different_host": ["s1", "s3"]})))
        self.assertEqual(["h1", "n2a", "n2b", "h3"],
                         passing(check, hs, spec(hints={"different_host": ["nowhere"]})))

    def test_same_host(self):
        hs = hosts()
        check = SameHostFilter(make_conf())
        self.assertEqual(["h1", "n2a", "n2b", "h3"], passing(check, hs, spec()))
        self.assertEqual(["h1"], passing(check, hs, spec(hints={"same_host": "s1"})))
        self.assertEqual(["h1", "n2a", "n2b"],
                         passing(check, hs, spec(hints={"same_host": ["s1", "s2"]})))
        self.assertEqual([], passing(check, hs, spec(hints={"same_host": ["nowhere"]})))

    def test_instance_updates_reach_the_filters(self):
        hs = hosts()
        check = SameHostFilter(make_conf())
        hs.update_instance_info("h3", ["s1"])  # unknown host: False (reload), but kept
        self.assertEqual(["h1", "h3"], passing(check, hs, spec(hints={"same_host": "s1"})))
        hs.delete_instance_info("h1", "s1")
        self.assertEqual(["h3"], passing(check, hs, spec(hints={"same_host": "s1"})))


class SimpleCIDRAffinityFilterTests(unittest.SynchronousTestCase):
    def test_hosts_in_the_network(self):
        hs = states(node("a", host_ip="10.0.0.5"), node("b", host_ip="10.0.1.5"),
                    node("c", host_ip="2001:db8::5"), node("d", host_ip=None))
        check = SimpleCIDRAffinityFilter(make_conf())
        self.assertEqual(["a", "b", "c", "d"], passing(check, hs, spec()))
        self.assertEqual(["a"], passing(check, hs, spec(hints={"build_near_host_ip":
                                                              "10.0.0.77"})))
        self.assertEqual(["a", "b"], passing(check, hs, spec(
            hints={"build_near_host_ip": "10.0.0.77", "cidr": "/16"})))
        self.assertEqual(["a", "b"], passing(check, hs, spec(
            hints={"build_near_host_ip": "10.0.0.77", "cidr": "/0"})))
        self.assertEqual(["c"], passing(check, hs, spec(
            hints={"build_near_host_ip": "2001:db8::1", "cidr": "/64"})))
        self.assertEqual([], passing(check, hs, spec(
            hints={"build_near_host_ip": "2001:db8:1::1", "cidr": "/64"})))


class ServerGroupFilterTests(unittest.SynchronousTestCase):
    def test_anti_affinity(self):
        hs = hosts()
        check = ServerGroupAntiAffinityFilter(make_conf())
        self.assertEqual(["n2a", "n2b", "h3"],
                         passing(check, hs, spec(instance_group=group("anti-affinity",
                                                                      ["s1"]))))
        self.assertEqual(["h3"], passing(check, hs, spec(
            instance_group=group("anti-affinity", ["s1", "s2"]))))
        # max_server_per_host: fewer than it pass
        self.assertEqual(["h1", "h3"], passing(check, hs, spec(
            instance_group=group("anti-affinity", ["s1", "s2", "s3"],
                                 rules={"max_server_per_host": 2}))))
        # other policies: every host
        self.assertEqual(["h1", "n2a", "n2b", "h3"], passing(check, hs, spec(
            instance_group=group("affinity", ["s1"]))))

    def test_anti_affinity_keeps_the_instances_own_host(self):
        hs = hosts()
        hs.update_instance_info("h1", [INSTANCE])
        check = ServerGroupAntiAffinityFilter(make_conf())
        self.assertEqual(["h1", "n2a", "n2b", "h3"], passing(check, hs, spec(
            instance_group=group("anti-affinity", ["s1", INSTANCE]))))

    def test_affinity(self):
        hs = hosts()
        check = ServerGroupAffinityFilter(make_conf())
        self.assertEqual(["h1", "n2a", "n2b", "h3"], passing(check, hs, spec(
            instance_group=group("affinity"))))
        self.assertEqual(["n2a", "n2b"], passing(check, hs, spec(
            instance_group=group("affinity", ["s2"], hosts=["h2"]))))
        self.assertEqual(["h1", "n2a", "n2b", "h3"], passing(check, hs, spec(
            instance_group=group("anti-affinity", hosts=["h2"]))))
