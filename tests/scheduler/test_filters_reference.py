"""The vectorised aggregate filters agree with Nova's per-host rules on random clouds.

Each reference below is the filter's ``host_passes`` as Nova writes it (spec D §1.4.2),
reading one ``HostState`` (``HostStates.host_state``) at a time.
"""
from __future__ import annotations

import collections
import logging

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial import unittest

from nova_tx.scheduler.filters import extra_specs_ops
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
from nova_tx.scheduler.filters.image_meta import image_meta_props
from nova_tx.scheduler.filters.io_ops_filter import AggregateIoOpsFilter
from nova_tx.scheduler.filters.num_instances_filter import AggregateNumInstancesFilter
from nova_tx.scheduler.filters.type_filter import AggregateTypeAffinityFilter
from tests.scheduler.hosts import aggregate, flavor, make_conf, node, passing, spec, states

HOSTS = ["h0", "h1", "h2", "h3", "h4"]
VALUES = ["a", "b", "a,b", " b , c", "", "1", "7", "x"]
KEYS = ["availability_zone", "filter_tenant_id", "instance_type", "os_distro", "ssd",
        "max_io_ops_per_host", "max_instances_per_host", "hw_cpu_cores"]


def metadata_by_host(host_state):
    """Nova's ``aggregate_metadata_get_by_host``."""
    result = collections.defaultdict(set)
    for aggr in host_state.aggregates:
        for key, value in aggr.metadata.items():
            result[key].update(x.strip() for x in value.split(","))
    return result


def values_from_key(host_state, key):
    return {a.metadata[key] for a in host_state.aggregates if key in a.metadata}


def validate_num_values(values, default, cast_to=int):
    if not values:
        return default
    try:
        return min(cast_to(v) for v in values)
    except ValueError:
        return default


def ref_az(host_state, spec_obj, conf):
    zone = spec_obj.availability_zone
    if not zone:
        return True
    metadata = metadata_by_host(host_state)
    if "availability_zone" in metadata:
        return zone in metadata["availability_zone"]
    return zone == conf.default_availability_zone


def ref_tenant(host_state, spec_obj, conf):
    metadata = metadata_by_host(host_state)
    configured = metadata.get("filter_tenant_id")
    return not configured or spec_obj.project_id in configured


def ref_type(host_state, spec_obj, conf):
    values = values_from_key(host_state, "instance_type")
    for value in values:
        if spec_obj.flavor.name in [x.strip() for x in value.split(",")]:
            return True
    return not values


def ref_extra_specs(host_state, spec_obj, conf):
    specs = spec_obj.flavor.extra_specs or {}
    metadata = metadata_by_host(host_state)
    for key, req in specs.items():
        scope = key.split(":", 1)
        if len(scope) > 1:
            if scope[0] != "aggregate_instance_extra_specs":
                continue
            del scope[0]
        values = metadata.get(scope[0])
        if not values:
            return False
        if not any(extra_specs_ops.match(v, req) for v in values):
            return False
    return True


def ref_image_isolation(host_state, spec_obj, conf):
    props = image_meta_props(spec_obj.image.properties)
    for key, options in metadata_by_host(host_state).items():
        prop = props.get(key)
        if prop and str(prop) not in options:
            return False
    return True


def ref_io_ops(host_state, spec_obj, conf):
    limit = validate_num_values(values_from_key(host_state, "max_io_ops_per_host"),
                                conf.filter_scheduler.max_io_ops_per_host)
    return host_state.num_io_ops < limit


def ref_num_instances(host_state, spec_obj, conf):
    limit = validate_num_values(values_from_key(host_state, "max_instances_per_host"),
                                conf.filter_scheduler.max_instances_per_host)
    return host_state.num_instances < limit


CASES = [(AvailabilityZoneFilter, ref_az), (AggregateMultiTenancyIsolation, ref_tenant),
         (AggregateTypeAffinityFilter, ref_type),
         (AggregateInstanceExtraSpecsFilter, ref_extra_specs),
         (AggregateImagePropertiesIsolation, ref_image_isolation),
         (AggregateIoOpsFilter, ref_io_ops), (AggregateNumInstancesFilter, ref_num_instances)]

aggregates_ = st.lists(st.tuples(
    st.lists(st.sampled_from(HOSTS + ["gone"]), unique=True),
    st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=4)),
    max_size=5)
specs_ = st.dictionaries(
    st.sampled_from(["aggregate_instance_extra_specs:ssd", "ssd", "hw:cpu_policy",
                     "aggregate_instance_extra_specs:max_io_ops_per_host"]),
    st.sampled_from(["a", "b", "c", ">= 5", "<or> a <or> c", "s!= a", "<in> a"]),
    max_size=3)
props_ = st.dictionaries(st.sampled_from(["os_distro", "hw_cpu_cores", "ssd"]),
                         st.sampled_from(["a", "b", "1", "7", "0"]), max_size=2)


class VectorisedEqualsNovaTests(unittest.SynchronousTestCase):

    @settings(max_examples=200, deadline=None)
    @given(aggregates_, specs_, props_, st.sampled_from([None, "a", "b", "c", "nova"]),
           st.sampled_from(["a", "b", "c"]), st.sampled_from(["a", "b", "m1"]),
           st.lists(st.tuples(st.integers(0, 9), st.integers(45, 55)), min_size=5,
                    max_size=5))
    def test_filters_agree(self, aggregates, extra_specs, props, zone, project, name, load):
        logging.disable(logging.WARNING)
        self.addCleanup(logging.disable, logging.NOTSET)
        hs = states(*[node(h, stats={"io_workload": io, "num_instances": n})
                      for h, (io, n) in zip(HOSTS, load, strict=True)])
        hs.update_aggregates([aggregate(i, members, **metadata)
                              for i, (members, metadata) in enumerate(aggregates)])
        request = spec(flavor(name=name, **extra_specs), image={"properties": props},
                       availability_zone=zone, project_id=project)
        conf = make_conf()
        for filter_class, reference in CASES:
            expected = [hs.nodename[r] for r in hs.rows()
                        if reference(hs.host_state(int(r)), request, conf)]
            self.assertEqual(expected, passing(filter_class(conf), hs, request),
                             filter_class.__name__)
