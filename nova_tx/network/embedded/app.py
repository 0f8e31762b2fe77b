"""The Neutron v2.0 subset the embedded network service serves, on Klein.

``GET /`` and ``/v2.0``; ``/v2.0/extensions``; and for ``networks``, ``subnets``,
``ports``, ``security-groups`` and ``security-group-rules``: list (filters on any
attribute, ``fields``, ``limit``/``marker``/``page_reverse`` with ``*_links``,
``sort_key``/``sort_dir``), create (one, or several with the plural key), show, update,
delete. Request attributes are checked as Neutron's attribute map checks them (unknown
ones are refused, admin-only ones need an admin), faults carry Neutron's body. Routers,
floating IPs, quotas, tags, QoS and trunks are not served.
"""
from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable
from typing import Any

from klein import Klein
from twisted.web.iweb import IRequest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from nova_tx import log
from nova_tx.context import RequestContext
from nova_tx.embedded_web import (
    NotAuthenticated,
    args,
    authenticate,
    base_url,
    is_admin,
    json_body,
    read_json,
)
from nova_tx.network.embedded import errors
from nova_tx.network.embedded.store import NetworkStore

LOG = log.getLogger(__name__)

PAGING = ("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse")
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise ValueError(f"'{value}' is not a valid boolean value")


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"'{value}' is not a valid string")
    if len(value) > 255:
        raise ValueError(f"'{value[:20]}...' exceeds maximum length of 255")
    return value


def _str_or_none(value: Any) -> str | None:
    return None if value is None else _str(value)


def _int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"'{value}' is not an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"'{value}' is not an integer") from None


def _list(value: Any) -> list | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"'{value}' is not a list")
    return value


def _dict(value: Any) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"'{value}' is not a dictionary")
    return value


def _none_only(value: Any) -> None:
    if value not in (None, [], False):
        raise ValueError(f"'{value}' is not supported by this network service")
    return None


def _fixed_ips(value: Any) -> list | None:
    value = _list(value)
    for item in value or ():
        if not isinstance(item, dict) or not set(item) <= {"subnet_id", "ip_address"}:
            raise ValueError(f"Invalid data format for fixed IP: '{item}'")
    return value


@dataclasses.dataclass(frozen=True)
class Attr:
    convert: Callable[[Any], Any]
    create: bool = True
    update: bool = False
    admin: bool = False


COMMON = {"name": Attr(_str, update=True), "description": Attr(_str, update=True),
          "project_id": Attr(_str), "tenant_id": Attr(_str)}


@dataclasses.dataclass(frozen=True)
class Resource:
    collection: str
    singular: str
    attrs: dict[str, Attr]
    required: tuple[str, ...] = ()
    #: Filters pushed down to SQL: query name -> column.
    columns: dict[str, str] = dataclasses.field(default_factory=dict)

    def method(self, store: NetworkStore, verb: str) -> Callable:
        name = self.collection if verb == "list" else self.singular
        return getattr(store, f"{verb}_{name.replace('-', '_')}")


RESOURCES = {r.collection: r for r in [
    Resource("networks", "network", {
        **COMMON,
        "admin_state_up": Attr(_bool, update=True),
        "shared": Attr(_bool, update=True, admin=True),
        "router:external": Attr(_bool, update=True, admin=True),
        "mtu": Attr(_int_or_none, update=True),
        "port_security_enabled": Attr(_bool, update=True),
        "provider:network_type": Attr(_str_or_none, admin=True),
        "provider:physical_network": Attr(_str_or_none, admin=True),
        "provider:segmentation_id": Attr(_int_or_none, admin=True),
        "availability_zone_hints": Attr(_list),
        "is_default": Attr(_bool, update=True, admin=True),
    }, columns={"id": "id", "project_id": "project_id", "tenant_id": "project_id",
                "name": "name"}),
    Resource("subnets", "subnet", {
        **COMMON,
        "network_id": Attr(_str), "cidr": Attr(_str), "ip_version": Attr(_int_or_none),
        "gateway_ip": Attr(_str_or_none, update=True),
        "enable_dhcp": Attr(_bool, update=True),
        "allocation_pools": Attr(_list, update=True),
        "dns_nameservers": Attr(_list, update=True),
        "host_routes": Attr(_list, update=True),
        "ipv6_ra_mode": Attr(_str_or_none), "ipv6_address_mode": Attr(_str_or_none),
        "subnetpool_id": Attr(_none_only), "use_default_subnetpool": Attr(_none_only),
        "segment_id": Attr(_none_only), "service_types": Attr(_none_only),
    }, required=("network_id", "cidr", "ip_version"),
        columns={"id": "id", "network_id": "network_id", "project_id": "project_id",
                 "tenant_id": "project_id"}),
    Resource("ports", "port", {
        **COMMON,
        "network_id": Attr(_str),
        "admin_state_up": Attr(_bool, update=True),
        "mac_address": Attr(_str, update=True),
        "fixed_ips": Attr(_fixed_ips, update=True),
        "device_id": Attr(_str, update=True), "device_owner": Attr(_str, update=True),
        "security_groups": Attr(_list, update=True),
        "port_security_enabled": Attr(_bool, update=True),
        "allowed_address_pairs": Attr(_list, update=True),
        "extra_dhcp_opts": Attr(_none_only, update=True),
        "binding:host_id": Attr(_str_or_none, update=True, admin=True),
        "binding:profile": Attr(_dict, update=True, admin=True),
        "binding:vnic_type": Attr(_str, update=True),
        "dns_name": Attr(_none_only, update=True),
        "qos_policy_id": Attr(_none_only, update=True),
    }, required=("network_id",),
        columns={"id": "id", "network_id": "network_id", "device_id": "device_id",
                 "project_id": "project_id", "tenant_id": "project_id",
                 "binding:host_id": "binding_host_id", "mac_address": "mac_address"}),
    Resource("security-groups", "security_group", {
        **COMMON, "stateful": Attr(_bool, update=True),
    }, columns={"id": "id", "name": "name"}),
    Resource("security-group-rules", "security_group_rule", {
        "description": Attr(_str), "project_id": Attr(_str), "tenant_id": Attr(_str),
        "security_group_id": Attr(_str), "direction": Attr(_str),
        "ethertype": Attr(_str), "protocol": Attr(lambda v: v),
        "port_range_min": Attr(_int_or_none), "port_range_max": Attr(_int_or_none),
        "remote_ip_prefix": Attr(_str_or_none), "remote_group_id": Attr(_str_or_none),
        "remote_address_group_id": Attr(_none_only),
    }, required=("security_group_id", "direction"),
        columns={"id": "id", "security_group_id": "security_group_id"}),
]}


def _extension(name: str, alias: str, description: str, updated: str) -> dict:
    return {"name": name, "alias": alias, "description": description,
            "updated": updated, "links": []}


#: The extensions whose attributes and resources this service really serves.
EXTENSIONS = [
    _extension("Neutron L2 Network", "network", "Core network resources", "2012-01-01T10:00:00-00:00"),
    _extension("Security Group", "security-group", "The security groups extension.",
               "2012-10-05T10:00:00-00:00"),
    _extension("Port Binding", "binding", "Expose port bindings of a virtual port to "
               "external application", "2014-02-03T10:00:00-00:00"),
    _extension("Provider Network", "provider", "Expose mapping of virtual networks to "
               "physical networks", "2012-09-07T10:00:00-00:00"),
    _extension("Neutron external network", "external-net", "Adds external network "
               "attribute to network resource.", "2013-01-14T10:00:00-00:00"),
    _extension("Port Security", "port-security", "Provides port security",
               "2012-07-23T10:00:00-00:00"),
    _extension("Network MTU", "net-mtu", "Provides MTU attribute for a network resource.",
               "2015-03-25T10:00:00-00:00"),
    _extension("Network MTU (writable)", "net-mtu-writable", "Provides a writable MTU "
               "attribute for a network resource.", "2017-07-12T00:00:00-00:00"),
    _extension("Allowed Address Pairs", "allowed-address-pairs", "Provides allowed address "
               "pairs", "2013-07-23T10:00:00-00:00"),
    _extension("standard-attr-description", "standard-attr-description", "Extension to "
               "add descriptions to standard attributes", "2016-02-10T10:00:00-00:00"),
    _extension("Resource timestamps", "standard-attr-timestamp", "Adds created_at and "
               "updated_at fields to all Neutron resources that have Neutron standard "
               "attributes.", "2016-09-12T10:00:00-00:00"),
    _extension("Resource revision numbers", "standard-attr-revisions", "This extension "
               "will display the revision number of neutron resources.",
               "2016-04-11T10:00:00-00:00"),
    _extension("project_id field enabled", "project-id", "Extension that indicates that "
               "project_id field is enabled.", "2016-09-09T09:09:09-09:09"),
    _extension("Pagination support", "pagination", "Extension that indicates that "
               "pagination is enabled.", "2016-06-12T00:00:00-00:00"),
    _extension("Sorting support", "sorting", "Extension that indicates that sorting is "
               "enabled.", "2016-06-12T00:00:00-00:00"),
    _extension("Filter parameters validation", "filter-validation", "Provides validation "
               "on filter parameters.", "2018-03-21T10:00:00-00:00"),
    _extension("Fields parameter validation", "fields-validation", "", ""),
    _extension("Stateful security group", "stateful-security-group", "Indicates if the "
               "security group is stateful or not", "2019-11-26T09:00:00-00:00"),
]


class NetworkServiceAPI:
    """``NetworkServiceAPI(store, authenticator).resource()`` is what a Site serves."""

    app = Klein()

    def __init__(self, store: NetworkStore, authenticator: Any):
        self.store = store
        self.authenticator = authenticator

    def resource(self):
        return self.app.resource()

    # -- errors ----------------------------------------------------------------------

    @app.handle_errors(errors.NeutronError)
    def _neutron_error(self, request: IRequest, failure) -> bytes:
        error = failure.value
        return json_body(request, error.code, error.body())

    @app.handle_errors(NotAuthenticated)
    def _unauthorized(self, request: IRequest, failure) -> bytes:
        for name, value in failure.value.headers.items():
            request.setHeader(name.encode(), value.encode())
        return json_body(request, 401, errors.NotAuthorized().body())

    @app.handle_errors(NotFound)
    def _not_found(self, request: IRequest, failure) -> bytes:
        return json_body(request, 404, errors.HTTPNotFound().body())

    @app.handle_errors(MethodNotAllowed)
    def _not_allowed(self, request: IRequest, failure) -> bytes:
        request.setHeader(b"allow", ", ".join(failure.value.valid_methods or []).encode())
        return json_body(request, 405, errors.HTTPMethodNotAllowed().body())

    @app.handle_errors(Exception)
    def _internal(self, request: IRequest, failure) -> bytes:
        LOG.error("Network API error on %s %s: %s", request.method.decode(),
                  request.uri.decode(errors="replace"), failure.getTraceback())
        return json_body(request, 500, errors.NeutronError().body())

    # -- discovery -------------------------------------------------------------------

    @app.route("/", methods=["GET"])
    def root(self, request: IRequest) -> bytes:
        return json_body(request, 200, {"versions": [{
            "id": "v2.0", "status": "CURRENT",
            "links": [{"href": base_url(request) + "/v2.0/", "rel": "self"}]}]})

    @app.route("/v2.0", methods=["GET"])
    @app.route("/v2.0/", methods=["GET"])
    async def resources(self, request: IRequest) -> bytes:
        await authenticate(self.authenticator, request)
        base = base_url(request) + "/v2.0/"
        return json_body(request, 200, {"resources": [
            {"name": r.singular.replace("_", "-") if "-" in r.collection else r.singular,
             "collection": r.collection,
             "links": [{"href": base + r.collection, "rel": "self"}]}
            for r in RESOURCES.values()]})

    @app.route("/v2.0/extensions", methods=["GET"])
    async def extensions(self, request: IRequest) -> bytes:
        await authenticate(self.authenticator, request)
        return json_body(request, 200, {"extensions": EXTENSIONS})

    @app.route("/v2.0/extensions/<alias>", methods=["GET"])
    async def extension(self, request: IRequest, alias: str) -> bytes:
        await authenticate(self.authenticator, request)
        for extension in EXTENSIONS:
            if extension["alias"] == alias:
                return json_body(request, 200, {"extension": extension})
        raise errors.HTTPNotFound(f"Extension with alias {alias} does not exist")

    # -- resources -------------------------------------------------------------------

    @staticmethod
    def _resource(collection: str) -> Resource:
        collection = collection.removesuffix(".json")
        if collection not in RESOURCES:
            raise errors.HTTPNotFound()
        return RESOURCES[collection]

    @app.route("/v2.0/<collection>", methods=["GET"])
    async def list(self, request: IRequest, collection: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        resource = self._resource(collection)
        query = args(request)
        filters, fields = self._filters(resource, query)
        where = {resource.columns[k]: v for k, v in filters.items() if k in resource.columns}
        items = await resource.method(self.store, "list")(context, where)
        items = [i for i in items if _matches(i, filters)]
        items = _sort(items, query)
        page, links = self._page(request, resource, items, query)
        body: dict[str, Any] = {resource.collection.replace("-", "_"):
                                [_fields(i, fields) for i in page]}
        if links:
            body[resource.collection.replace("-", "_") + "_links"] = links
        return json_body(request, 200, body)

    @staticmethod
    def _filters(resource: Resource, query: dict[str, list[str]]
                 ) -> tuple[dict[str, list[str]], list[str]]:
        known = set(resource.attrs) | set(resource.columns) | {
            "id", "status", "subnets", "revision_number", "created_at", "updated_at",
            "mac_address", "binding:vif_type", "security_groups", "stateful", "shared",
            "router:external", "mtu", "admin_state_up", "gateway_ip", "cidr",
            "ip_version", "enable_dhcp", "direction", "ethertype", "protocol",
            "remote_ip_prefix", "remote_group_id", "security_group_id", "network_id",
            "device_id", "device_owner", "fixed_ips", "port_range_min", "port_range_max",
            "ipv6_ra_mode", "ipv6_address_mode", "provider:network_type",
            "provider:physical_network", "provider:segmentation_id",
            "port_security_enabled", "name", "description", "project_id", "tenant_id",
            "binding:host_id", "binding:vnic_type"}
        filters: dict[str, list[str]] = {}
        for name, values in query.items():
            if name in PAGING:
                continue
            if name not in known and name not in TAG_FILTERS:
                raise errors.InvalidFilter(filter=name)
            filters[name] = values
        return filters, query.get("fields", [])

    def _page(self, request: IRequest, resource: Resource, items: list[dict],
              query: dict[str, list[str]]) -> tuple[list[dict], list[dict]]:
        limit = query.get("limit", [None])[-1]
        marker = query.get("marker", [None])[-1]
        reverse = query.get("page_reverse", ["false"])[-1].lower() == "true"
        try:
            limit = int(limit) if limit not in (None, "") else None
        except ValueError:
            raise errors.HTTPBadRequest(f"Limit must be an integer 0 or greater and not "
                                        f"'{limit}'") from None
        if limit is not None and limit < 0:
            raise errors.HTTPBadRequest(f"Limit must be an integer 0 or greater and not "
                                        f"'{limit}'")
        if limit == 0:
            limit = None
        ids = [i["id"] for i in items]
        start, end = 0, len(items)
        if marker:
            if marker not in ids:
                raise errors.HTTPNotFound(
                    f"{resource.singular.replace('_', ' ').capitalize()} {marker} could "
                    "not be found.")
            if reverse:
                end = ids.index(marker)
            else:
                start = ids.index(marker) + 1
        if limit is None:
            return items[start:end], []
        page = items[max(start, end - limit):end] if reverse else items[start:start + limit]
        links = []
        path = base_url(request) + "/v2.0/" + resource.collection
        other = [(k, v) for k, vs in query.items() if k not in ("marker", "page_reverse")
                 for v in vs]
        if page and len(page) == limit and (page[-1]["id"] != ids[-1] or reverse):
            links.append({"href": path + "?" + urllib.parse.urlencode(
                other + [("marker", page[-1]["id"])]), "rel": "next"})
        if page and (marker or reverse):
            links.append({"href": path + "?" + urllib.parse.urlencode(
                other + [("marker", page[0]["id"]), ("page_reverse", "True")]),
                "rel": "previous"})
        return page, links

    def _check_body(self, context: RequestContext, resource: Resource, body: Any,
                    verb: str) -> dict:
        if not isinstance(body, dict):
            raise errors.HTTPBadRequest("Resource body required")
        checked: dict[str, Any] = {}
        unknown = [k for k in body if k not in resource.attrs
                   or (verb == "update" and not resource.attrs[k].update)]
        if unknown:
            if verb == "update" and all(k in resource.attrs for k in unknown):
                raise errors.HTTPBadRequest(
                    f"Cannot update read-only attribute {unknown[0]}")
            raise errors.HTTPBadRequest("Unrecognized attribute(s) '%s'" % ", ".join(unknown))
        for name, value in body.items():
            attr = resource.attrs[name]
            try:
                checked[name] = attr.convert(value)
            except ValueError as e:
                raise errors.InvalidInput(
                    error_message=f"Invalid input for {name}. Reason: {e}.") from None
            if attr.admin and not is_admin(context):
                raise errors.PolicyNotAuthorized(
                    action=f"rule:{verb}_{resource.singular} and "
                    f"rule:{verb}_{resource.singular}:{name}")
        if verb == "create":
            project = checked.pop("tenant_id", None) or checked.pop("project_id", None) \
                or context.project_id
            checked.pop("project_id", None)
            if project != context.project_id and not is_admin(context):
                raise errors.HTTPBadRequest(
                    "Specifying 'project_id' or 'tenant_id' other than the authenticated "
                    "project in request requires admin privileges")
            checked["project_id"] = project
            for name in resource.required:
                if checked.get(name) is None:
                    raise errors.HTTPBadRequest(
                        f"Failed to parse request. Required attribute '{name}' not "
                        "specified")
        if resource.singular == "port" and not is_admin(context) and "mac_address" in body \
                and verb == "update":
            raise errors.PolicyNotAuthorized(action="rule:update_port and "
                                             "rule:update_port:mac_address")
        return checked

    @app.route("/v2.0/<collection>", methods=["POST"])
    async def create(self, request: IRequest, collection: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        resource = self._resource(collection)
        body = self._json(request)
        plural = resource.collection.replace("-", "_")
        create = resource.method(self.store, "create")
        if isinstance(body, dict) and plural in body and isinstance(body[plural], list):
            bodies = [self._check_body(context, resource, b, "create") for b in body[plural]]
            made = [await create(context, b) for b in bodies]
            return json_body(request, 201, {plural: made})
        if not isinstance(body, dict) or resource.singular not in body:
            raise errors.HTTPBadRequest("Resource body required")
        checked = self._check_body(context, resource, body[resource.singular], "create")
        return json_body(request, 201, {resource.singular: await create(context, checked)})

    @app.route("/v2.0/<collection>/<item_id>", methods=["GET"])
    async def show(self, request: IRequest, collection: str, item_id: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        resource = self._resource(collection)
        item = await resource.method(self.store, "get")(context, item_id.removesuffix(".json"))
        fields = args(request).get("fields", [])
        return json_body(request, 200, {resource.singular: _fields(item, fields)})

    @app.route("/v2.0/<collection>/<item_id>", methods=["PUT"])
    async def update(self, request: IRequest, collection: str, item_id: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        resource = self._resource(collection)
        body = self._json(request)
        if not isinstance(body, dict) or resource.singular not in body:
            raise errors.HTTPBadRequest("Resource body required")
        checked = self._check_body(context, resource, body[resource.singular], "update")
        item = await resource.method(self.store, "update")(
            context, item_id.removesuffix(".json"), checked)
        return json_body(request, 200, {resource.singular: item})

    @app.route("/v2.0/<collection>/<item_id>", methods=["DELETE"])
    async def delete(self, request: IRequest, collection: str, item_id: str) -> bytes:
        context = await authenticate(self.authenticator, request)
        resource = self._resource(collection)
        await resource.method(self.store, "delete")(context, item_id.removesuffix(".json"))
        request.setResponseCode(204)
        return b""

    @staticmethod
    def _json(request: IRequest) -> Any:
        try:
            return read_json(request)
        except ValueError as e:
            raise errors.HTTPBadRequest(f"Malformed request body: {e}") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _matches(item: dict, filters: dict[str, list[str]]) -> bool:
    for name, wanted in filters.items():
        if name in TAG_FILTERS:
            if name in ("tags", "tags-any"):
                return False  # nothing is tagged
            continue
        if name == "fixed_ips":
            for condition in wanted:
                key, _, value = condition.partition("=")
                if not any(_text(f.get(key)) == value for f in item.get("fixed_ips", ())):
                    return False
            continue
        key = "project_id" if name == "tenant_id" else name
        value = item.get(key)
        if isinstance(value, list):
            if not any(_text(v) in wanted for v in value):
                return False
        elif _text(value) not in [w.lower() if isinstance(value, bool) else w
                                  for w in wanted]:
            return False
    return True


def _sort(items: list[dict], query: dict[str, list[str]]) -> list[dict]:
    keys = query.get("sort_key", [])
    dirs = query.get("sort_dir", [])
    if dirs and len(dirs) != len(keys):
        raise errors.HTTPBadRequest("The number of sort_keys and sort_dirs must be same")
    for i, key in reversed(list(enumerate(keys))):
        direction = dirs[i] if dirs else "asc"
        if direction not in ("asc", "desc"):
            raise errors.HTTPBadRequest(f"{direction} is invalid attribute for sort_dirs")
        if items and key not in items[0]:
            raise errors.HTTPBadRequest(f"{key} is invalid attribute for sort_keys")
        items = sorted(items, key=lambda item: _sort_value(item.get(key)),
                       reverse=direction == "desc")
    return items


def _sort_value(value: Any) -> tuple:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (False, value)
    return (value is None, _text(value))


def _fields(item: dict, fields: list[str]) -> dict:
    return {k: v for k, v in item.items() if k in fields} if fields else item
