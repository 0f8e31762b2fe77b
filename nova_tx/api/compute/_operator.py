"""What the operator resources (aggregates, services, hypervisors, zone detail) share
in one API process, kept in ``req.app.components`` and made on first use when the
process did not provide them:

- ``host_api``: ``nova_tx.compute.host_api.HostAPI`` over ``api_db`` and the cells;
- ``placement_client``: an ``IPlacementClient`` (``nova_tx.placement.client.
  make_client``: in process when this process serves Placement, else HTTP);
- ``rpc_transport``: the bus the scheduler fanouts and compute calls go on
  (``[DEFAULT] transport_url``), connected on first use;
- ``image_api``: the image port (``nova_tx.image.glance.GlanceImageAPI``).
"""
from __future__ import annotations

from typing import Any

from nova_tx import exception, log
from nova_tx.api.compute._components import cell_engines

LOG = log.getLogger(__name__)


def _host(req) -> str:
    try:
        return req.conf.host
    except Exception:  # no [DEFAULT] host registered (tests)
        return "localhost"


def _api_db(req):
    api_db = req.app.components.get("api_db")
    if api_db is None:
        raise exception.ConfigError(reason="the compute API has no API database "
                                    "([api_database] connection)")
    return api_db


def host_api(req):
    from nova_tx.compute.host_api import HostAPI
    from nova_tx.conf import availability_zone as az_conf
    from nova_tx.conf import servicegroup as servicegroup_conf

    components = req.app.components
    api = components.get("host_api")
    if api is None:
        az_conf.register_opts(req.conf)
        servicegroup_conf.register_opts(req.conf)
        api = components["host_api"] = HostAPI(
            _api_db(req), cell_engines(req), req.conf,
            versioned_notifier=components.get("versioned_notifier"))
    return api


def placement_client(req):
    components = req.app.components
    client = components.get("placement_client")
    if client is None:
        from nova_tx.conf import embedded
        from nova_tx.placement.client import make_client

        embedded.register_opts(req.conf)
        client = components["placement_client"] = make_client(req.conf)
    return client


def rpc_transport(req):
    components = req.app.components
    transport = components.get("rpc_transport")
    if transport is None:
        from nova_tx.bus.url import get_transport

        transport = components["rpc_transport"] = get_transport(req.conf)
        transport.connect().addErrback(
            lambda f: LOG.error("Message bus connection failed: %s", f.getErrorMessage()))
    return transport


def scheduler_client(req):
    from nova_tx.scheduler.client import SchedulerQueryClient

    components = req.app.components
    client = components.get("scheduler_client")
    if client is None:
        client = components["scheduler_client"] = SchedulerQueryClient(
            rpc_transport(req), req.conf)
    return client


def compute_rpcapi(req):
    from nova_tx.compute.rpcapi import ComputeAPI

    components = req.app.components
    api = components.get("compute_rpcapi")
    if api is None:
        api = components["compute_rpcapi"] = ComputeAPI(rpc_transport(req), req.conf)
    return api


def image_api(req) -> Any:
    components = req.app.components
    api = components.get("image_api")
    if api is None:
        from nova_tx.image.glance import GlanceImageAPI

        api = components["image_api"] = GlanceImageAPI(req.conf)
    return api


class _Lazy:
    """Made on first use, so that reading aggregates opens no bus connection and no
    placement client."""

    def __init__(self, make):
        self._make = make

    def __getattr__(self, name: str):
        return getattr(self._make(), name)


def aggregate_api(req):
    from nova_tx.compute.aggregates import AggregateAPI
    from nova_tx.notifications.aggregate import AggregateNotifier

    components = req.app.components
    notifier = AggregateNotifier(_host(req), versioned=components.get("versioned_notifier"),
                                 legacy=components.get("notifier"))
    return AggregateAPI(_api_db(req), host_api(req),
                        placement=_Lazy(lambda: placement_client(req)),
                        scheduler=_Lazy(lambda: scheduler_client(req)), notifier=notifier)
