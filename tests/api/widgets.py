"""A test-only resource exercising the framework: versioned handlers, schemas,
actions, pagination and errors (not part of the product)."""
from nova_tx import exception
from nova_tx.api import validation
from nova_tx.api.compute import links, pagination, wsgi
from nova_tx.api.validation import parameter_types

routes = wsgi.Routes()

WIDGETS = [{"uuid": "00000000-0000-0000-0000-%012d" % i, "name": "w%d" % i}
           for i in range(1, 6)]

_widget = {
    "type": "object",
    "properties": {
        "name": parameter_types.name,
        "size": parameter_types.positive_integer,
        "metadata": parameter_types.metadata,
    },
    "required": ["name"],
    "additionalProperties": False,
}
create = {
    "type": "object",
    "properties": {"widget": _widget},
    "required": ["widget"],
    "additionalProperties": False,
}
create_v210 = {
    "type": "object",
    "properties": {"widget": {**_widget, "properties": {
        **_widget["properties"], "enabled": parameter_types.boolean,
        "image": parameter_types.uuid}}},
    "required": ["widget"],
    "additionalProperties": False,
}
index_query = {
    "type": "object",
    "properties": {**parameter_types.pagination_parameters,
                   "name": parameter_types.common_query_param},
    "additionalProperties": True,
}
index_query_v275 = {**index_query, "additionalProperties": False}
poke = {
    "type": "object",
    "properties": {"poke": {"type": "object", "properties": {
        "force": parameter_types.boolean}, "additionalProperties": False}},
    "required": ["poke"],
    "additionalProperties": False,
}


@routes.get("/widgets", max_version="2.34")
async def index(req):
    return {"widgets": WIDGETS, "handler": "index"}


@routes.get("/widgets", min_version="2.35")
@validation.query_schema(index_query, "2.35", "2.74")
@validation.query_schema(index_query_v275, "2.75")
async def index_v235(req):
    limit, marker = pagination.get_limit_and_marker(req)
    items = WIDGETS
    if marker is not None:
        uuids = [w["uuid"] for w in items]
        if marker not in uuids:
            raise exception.MarkerNotFound(marker=marker)
        items = items[uuids.index(marker) + 1:]
    page = items[:limit]
    body = {"widgets": [{**w, "links": links.links(req, w["uuid"], "widgets")}
                        for w in page],
            "query": req.query, "handler": "index_v235"}
    next_links = pagination.collection_links(req, page, "widgets")
    if next_links:
        body["widgets_links"] = next_links
    return body


@routes.post("/widgets", status=201)
@validation.schema(create, "2.0", "2.9")
@validation.schema(create_v210, "2.10")
async def create_widget(req):
    return {"widget": req.body["widget"]}


@routes.get("/widgets/{widget_id}")
async def show(req, widget_id):
    for widget in WIDGETS:
        if widget["uuid"] == widget_id:
            return {"widget": widget}
    raise exception.InstanceNotFound(instance_id=widget_id)


@routes.delete("/widgets/{widget_id}", status=204)
async def delete(req, widget_id):
    return None


@routes.get("/widgets/{widget_id}/topology", min_version="2.78")
def topology(req, widget_id):
    return {"nodes": [], "widget": widget_id}


@routes.action("/widgets/{widget_id}/action", "poke")
@validation.schema(poke)
async def do_poke(req, widget_id):
    return wsgi.Response({"poked": widget_id}, status=200, headers={"X-Poked": "yes"})


@routes.action("/widgets/{widget_id}/action", "prod", min_version="2.50")
async def do_prod(req, widget_id):
    return None


@routes.get("/whoami")
async def whoami(req):
    context = req.context
    return {"user_id": context.user_id, "project_id": context.project_id,
            "roles": context.roles, "is_admin": context.is_admin,
            "request_id": context.request_id,
            "global_request_id": context.global_request_id,
            "url_project_id": req.project_id, "version": str(req.api_version),
            "legacy": req.is_legacy_v2, "supports_2_47": req.supports("2.47"),
            "supports_2_10_to_2_20": req.supports("2.10", "2.20")}


@routes.get("/boom")
async def boom(req):
    raise RuntimeError("secret internals")


class _Busy(exception.NovaException):
    msg_fmt = "Too many widgets."
    code = 413

    def __init__(self):
        super().__init__()
        self.headers = {"Retry-After": "30"}


@routes.get("/busy")
async def busy(req):
    raise _Busy()


@routes.get("/conflict")
async def conflict(req):
    raise exception.Conflict("Widget is busy.")


@routes.get("/forbidden")
async def forbidden(req):
    raise exception.Forbidden("Policy doesn't allow widgets:show to be performed.")


@routes.get("/gone")
async def gone(req):
    from nova_tx.api.compute import faults

    raise faults.HTTPError(410)


@routes.post("/gadgets", max_version="2.1", status=200)
@routes.post("/gadgets", min_version="2.2", status=201)
async def create_gadget(req):
    return {"gadget": {"version": str(req.api_version)}}


@routes.get("/unserialisable")
async def unserialisable(req):
    return {"loop": _Loop()}


class _Loop:
    """An object JSON cannot render (a handler bug, not bad input)."""

    def __iter__(self):
        raise RuntimeError("no")


@routes.get("/mixed", public=True)
async def mixed_public(req):
    return {"context": req.context is not None}


@routes.post("/mixed")
async def mixed_private(req):
    return {"context": req.context is not None}
