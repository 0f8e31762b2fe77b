"""``/os-keypairs``: a user's key pairs (list, create or import, show, delete).

Microversions (spec A §1.13):

- 2.1: create answers 200, delete 202; views without ``type``.
- 2.2: ``type`` (``ssh``, the default, or ``x509``); create 201, delete 204.
- 2.10: ``user_id`` in the create body and the ``user_id`` query of list, show and
  delete: admins act on other users' key pairs (policy target ``user_id``).
- 2.35: list paginated (``limit``, ``marker`` = a key pair name; sorted by name) with a
  ``keypairs_links`` next link.
- 2.75: unknown query parameters are refused (400).
- 2.92: the server no longer generates key pairs (``public_key`` required); names may
  contain ``@`` and ``.``.
"""
from __future__ import annotations

from typing import Any

from nova_tx import exception, policy
from nova_tx.api import validation
from nova_tx.api.compute import pagination, wsgi
from nova_tx.api.compute._components import quota_engine
from nova_tx.api.compute.schemas import keypairs as schema
from nova_tx.compute.keypairs import KeypairAPI
from nova_tx.notifications.keypair import KeypairNotifier
from nova_tx.objects.keypair import KEYPAIR_TYPE_SSH, KeyPair

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-keypairs:%s"
INDEX_PARAMS = ("name", "public_key", "fingerprint")
CREATE_PARAMS = INDEX_PARAMS + ("user_id",)
SHOW_PARAMS = CREATE_PARAMS + ("created_at", "deleted", "deleted_at", "id", "updated_at")


def _host(req) -> str:
    try:
        return req.conf.host
    except Exception:  # no [DEFAULT] host registered (tests)
        return "localhost"


def keypair_api(req) -> KeypairAPI:
    components = req.app.components
    if components.get("api_db") is None:
        raise exception.ConfigError(reason="the compute API has no API database "
                                    "([api_database] connection)")
    host = _host(req)
    notifier = KeypairNotifier(host, versioned=components.get("versioned_notifier"),
                               legacy=components.get("notifier"))
    return KeypairAPI(components["api_db"], quota_engine(req), req.conf, notifier)


def storable_id(value: str) -> bool:
    """Whether an id can become a row: it fits its column (255) and every database
    can store it (no NUL, no lone surrogate)."""
    if len(value) > 255 or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _build(keypair: KeyPair | dict[str, Any], attrs) -> dict[str, Any]:
    values = keypair if isinstance(keypair, dict) else keypair.to_dict()
    return {attr: values[attr] for attr in attrs}


def _user_id(req) -> str | None:
    values = req.query.get("user_id")
    return values[0] if values else None


# -- list ------------------------------------------------------------------------------

async def _index(req, *, key_type: bool, user_id: str | None = None,
                 links: bool = False) -> dict:
    context = req.context
    user_id = user_id or context.user_id
    policy.authorize(context, POLICY_ROOT % "index", target={"user_id": user_id})
    limit = marker = None
    if req.supports("2.35"):
        limit, marker = pagination.get_limit_and_marker(req)
    try:
        key_pairs = await keypair_api(req).get_key_pairs(context, user_id, limit=limit,
                                                         marker=marker)
    except exception.MarkerNotFound as e:
        raise exception.InvalidInput(message=e.format_message()) from None
    params = INDEX_PARAMS + (("type",) if key_type else ())
    body: dict[str, Any] = {"keypairs": [{"keypair": _build(k, params)} for k in key_pairs]}
    if links:
        next_links = pagination.collection_links(
            req, [k.to_dict() for k in key_pairs], "os-keypairs", "name")
        if next_links:
            body["keypairs_links"] = next_links
    return body


@routes.get("/os-keypairs", max_version="2.1")
@validation.query_schema(schema.index_query_schema_v20)
async def index(req):
    return await _index(req, key_type=False)


@routes.get("/os-keypairs", min_version="2.2", max_version="2.9")
@validation.query_schema(schema.index_query_schema_v20)
async def index_v22(req):
    return await _index(req, key_type=True)


@routes.get("/os-keypairs", min_version="2.10", max_version="2.34")
@validation.query_schema(schema.index_query_schema_v210)
async def index_v210(req):
    return await _index(req, key_type=True, user_id=_user_id(req))


@routes.get("/os-keypairs", min_version="2.35")
@validation.query_schema(schema.index_query_schema_v235, "2.35", "2.74")
@validation.query_schema(schema.index_query_schema_v275, "2.75")
async def index_v235(req):
    return await _index(req, key_type=True, user_id=_user_id(req), links=True)


# -- create ----------------------------------------------------------------------------

async def _create(req, *, key_type: bool, user_id: str | None = None) -> dict:
    context = req.context
    params = req.body["keypair"]
    name = params["name"].strip()
    type_value = params.get("type", KEYPAIR_TYPE_SSH)
    user_id = user_id or context.user_id
    policy.authorize(context, POLICY_ROOT % "create", target={"user_id": user_id})
    if not storable_id(user_id):
        raise exception.InvalidInput(
            reason="user_id must be at most 255 characters of text, without NUL")
    api = keypair_api(req)
    private_key = None
    if "public_key" in params:
        keypair = await api.import_key_pair(context, user_id, name, params["public_key"],
                                            type_value)
    else:
        keypair, private_key = await api.create_key_pair(context, user_id, name, type_value)
    attrs: list[str] = []
    values = keypair.to_dict()
    if private_key is not None:
        attrs.append("private_key")
        values["private_key"] = private_key
    if key_type:
        attrs.append("type")
    attrs.extend(CREATE_PARAMS)
    return {"keypair": _build(values, attrs)}


@routes.post("/os-keypairs", max_version="2.1", status=200)
@validation.schema(schema.create_v20, "2.0", "2.0")
@validation.schema(schema.create, "2.1", "2.1")
async def create(req):
    return await _create(req, key_type=False)


@routes.post("/os-keypairs", min_version="2.2", max_version="2.9", status=201)
@validation.schema(schema.create_v22)
async def create_v22(req):
    return await _create(req, key_type=True)


@routes.post("/os-keypairs", min_version="2.10", status=201)
@validation.schema(schema.create_v210, "2.10", "2.91")
@validation.schema(schema.create_v292, "2.92")
async def create_v210(req):
    return await _create(req, key_type=True, user_id=req.body["keypair"].get("user_id"))


# -- show ------------------------------------------------------------------------------

async def _show(req, name: str, *, key_type: bool, user_id: str | None = None) -> dict:
    context = req.context
    user_id = user_id or context.user_id
    policy.authorize(context, POLICY_ROOT % "show", target={"user_id": user_id})
    keypair = await keypair_api(req).get_key_pair(context, user_id, name)
    return {"keypair": _build(keypair, SHOW_PARAMS + (("type",) if key_type else ()))}


@routes.get("/os-keypairs/{keypair_name}", max_version="2.1")
@validation.query_schema(schema.show_query_schema_v20)
async def show(req, keypair_name):
    return await _show(req, keypair_name, key_type=False)


@routes.get("/os-keypairs/{keypair_name}", min_version="2.2", max_version="2.9")
@validation.query_schema(schema.show_query_schema_v20)
async def show_v22(req, keypair_name):
    return await _show(req, keypair_name, key_type=True)


@routes.get("/os-keypairs/{keypair_name}", min_version="2.10")
@validation.query_schema(schema.show_query_schema_v210, "2.10", "2.74")
@validation.query_schema(schema.show_query_schema_v275, "2.75")
async def show_v210(req, keypair_name):
    return await _show(req, keypair_name, key_type=True, user_id=_user_id(req))


# -- delete ----------------------------------------------------------------------------

async def _delete(req, name: str, user_id: str | None = None) -> None:
    context = req.context
    user_id = user_id or context.user_id
    policy.authorize(context, POLICY_ROOT % "delete", target={"user_id": user_id})
    await keypair_api(req).delete_key_pair(context, user_id, name)


@routes.delete("/os-keypairs/{keypair_name}", max_version="2.1", status=202)
@validation.query_schema(schema.delete_query_schema_v20)
async def delete(req, keypair_name):
    await _delete(req, keypair_name)


@routes.delete("/os-keypairs/{keypair_name}", min_version="2.2", max_version="2.9",
               status=204)
@validation.query_schema(schema.delete_query_schema_v20)
async def delete_v22(req, keypair_name):
    await _delete(req, keypair_name)


@routes.delete("/os-keypairs/{keypair_name}", min_version="2.10", status=204)
@validation.query_schema(schema.delete_query_schema_v210, "2.10", "2.74")
@validation.query_schema(schema.delete_query_schema_v275, "2.75")
async def delete_v210(req, keypair_name):
    await _delete(req, keypair_name, user_id=_user_id(req))
