"""``POST /os-server-external-events``: what Neutron, Cinder, Ironic and Cyborg tell
Nova about servers (admin only by default; the services call it with their service
user).

Each event of the request comes back with a ``code`` and a ``status``: 200
``completed`` when it was cast to the server's compute, 404 ``failed`` for a server
that does not exist (or is deleted, or still being scheduled), 422 ``failed`` for a
server that has no host yet, 400 ``failed`` for a ``volume-extended``,
``power-update`` or ``accelerator-request-bound`` event without a tag. The answer is
200 when every event was accepted, 207 otherwise, and 404 ("No instances found for
any event") when none was.

Microversions add event names: ``volume-extended`` (2.51), ``power-update`` (2.76),
``accelerator-request-bound`` (2.82), ``volume-reimaged`` (2.93).
"""
from __future__ import annotations

import logging

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import wsgi
from nova_tx.api.compute._components import cell_engines
from nova_tx.api.compute._operator import _api_db, compute_rpcapi
from nova_tx.api.compute.schemas import server_external_events as schema
from nova_tx.compute.external_events import TAG_REQUIRED, ExternalEvent, ExternalEventsAPI

LOG = logging.getLogger(__name__)

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-server-external-events:%s"


def events_api(req) -> ExternalEventsAPI:
    return ExternalEventsAPI(_api_db(req), cell_engines(req), req.conf,
                             compute_rpcapi(req))


@routes.post("/os-server-external-events")
@validation.schema(schema.create, "2.0", "2.50")
@validation.schema(schema.create_v251, "2.51", "2.75")
@validation.schema(schema.create_v276, "2.76", "2.81")
@validation.schema(schema.create_v282, "2.82", "2.92")
@validation.schema(schema.create_v293, "2.93")
async def create(req):
    context = req.context
    policy.authorize(context, POLICY_ROOT % "create", target={})
    api = events_api(req)
    body_events = req.body["events"]
    targets = await api.get_targets(e["server_uuid"] for e in body_events)

    response_events = []
    accepted: list[ExternalEvent] = []
    result = 200
    for body_event in body_events:
        answer = dict(body_event)
        event = ExternalEvent(instance_uuid=answer["server_uuid"], name=answer["name"],
                              status=answer.get("status", "completed"),
                              tag=answer.get("tag"))
        response_events.append(answer)
        target = targets.get(event.instance_uuid)
        if target is None:
            LOG.debug("Dropping event %s:%s for unknown instance %s", event.name,
                      event.tag, event.instance_uuid)
            answer.update(status="failed", code=404)
            result = 207
        elif event.name in TAG_REQUIRED and event.tag is None:
            LOG.debug("Event tag is missing for instance %s. Dropping event %s",
                      event.instance_uuid, event.name)
            answer.update(status="failed", code=400)
            result = 207
        elif target.instance.host:
            LOG.info("Creating event %s:%s for instance %s on %s", event.name, event.tag,
                     event.instance_uuid, target.instance.host)
            accepted.append(event)
            answer.update(status="completed", code=200)
        else:
            LOG.debug("Unable to find a host for instance %s. Dropping event %s",
                      event.instance_uuid, event.name)
            answer.update(status="failed", code=422)
            result = 207

    if not accepted:
        raise exception.NotFound("No instances found for any event")
    await api.send(context, accepted, targets)
    return wsgi.Response({"events": response_events}, result)
