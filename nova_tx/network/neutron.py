"""The network port's adapter: a Neutron v2.0 client over HTTP (treq).

It talks to a real Neutron or to the embedded network service alike. The endpoint is
``[neutron] endpoint_override``, else the caller's service catalog, else the embedded
service at ``[embedded] network_listen`` / ``network_port``. User actions carry the
caller's token; admin actions (port bindings, as Nova's) carry the token of Nova's
service user when ``[neutron] auth_type`` is ``password`` (or ``v3password``: a
Keystone v3 password login with ``auth_url``, ``username``, ``password``, their
domains and ``project_name``), else the caller's own.
"""
from __future__ import annotations

import json
from typing import Any

from oslo_config import cfg
from twisted.internet import defer
from zope.interface import implementer

from nova_tx import exception, log
from nova_tx.conf import embedded_services
from nova_tx.conf import neutron as neutron_conf
from nova_tx.context import RequestContext
from nova_tx.http_client import ServiceClient, ServiceUnavailable, local_url
from nova_tx.network import api

LOG = log.getLogger(__name__)

#: Seconds before its expiry a service token is renewed.
TOKEN_MARGIN = 120.0


@implementer(api.INetworkAPI)
class NeutronNetworkAPI:
    def __init__(self, conf: cfg.ConfigOpts, *, reactor: Any = None):
        neutron_conf.register_opts(conf)
        embedded_services.register_opts(conf)
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.conf = conf
        fallback = [local_url(conf.embedded.network_listen, conf.embedded.network_port)]
        self.client = ServiceClient(conf.neutron, fallback, reactor=reactor,
                                    retries=conf.neutron.http_retries,
                                    version_suffix="/v2.0")
        self._service_token: tuple[str, float] | None = None

    def close(self) -> defer.Deferred:
        return self.client.close()

    # -- plumbing --------------------------------------------------------------------

    async def _call(self, context: RequestContext, method: str, path: str, *,
                    body: Any = None, params: Any = None) -> Any:
        try:
            response = await self.client.request(context, method, path, prefix="/v2.0",
                                                 body=body, params=params)
        except ServiceUnavailable as e:
            raise api.NetworkServiceUnavailable(server=e.url, reason=e.reason) from None
        content = await self.client.json(response)
        if response.code >= 400:
            raise _error(response.code, content, path)
        return content

    async def admin_context(self, context: RequestContext) -> RequestContext:
        """The context of admin actions: Nova's service user's, or the caller's."""
        auth_type = (self.conf.neutron.auth_type or "").lower()
        if auth_type not in ("password", "v3password"):
            return context
        token = await self._service_user_token()
        return RequestContext(user_id=self.conf.neutron.username,
                              project_id=self.conf.neutron.project_id, roles=["admin"],
                              auth_token=token, request_id=context.request_id,
                              global_request_id=context.global_request_id,
                              service_catalog=context.service_catalog)

    async def _service_user_token(self) -> str:
        now = self.reactor.seconds()
        if self._service_token and self._service_token[1] - TOKEN_MARGIN > now:
            return self._service_token[0]
        from nova_tx.api.keystone import identity_url, parse_time, password_user

        group = self.conf.neutron
        user = password_user(group)
        if group.system_scope:
            scope: dict[str, Any] = {"system": {group.system_scope: True}}
        elif group.project_id:
            scope = {"project": {"id": group.project_id}}
        else:
            scope = {"project": {"name": group.project_name, "domain": (
                {"id": group.project_domain_id} if group.project_domain_id
                else {"name": group.project_domain_name or "Default"})}}
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": user}},
                         "scope": scope}}
        url = identity_url(group.auth_url) + "/auth/tokens"
        try:
            response = await self.client._http.post(
                url, data=json.dumps(body).encode(),
                headers={"content-type": ["application/json"]})
        except Exception as e:
            raise api.NetworkServiceUnavailable(server=url, reason=str(e)) from None
        content = await self.client.json(response)
        token = (response.headers.getRawHeaders("x-subject-token") or [None])[0]
        if response.code != 201 or not token:
            raise api.NetworkForbidden(reason=f"Nova's service user could not log in to "
                                       f"{url}: {response.code}")
        expires = parse_time(content["token"]["expires_at"])
        self._service_token = (token, expires)
        return token

    # -- resources -------------------------------------------------------------------

    async def get_extensions(self, context: RequestContext) -> list[dict]:
        return (await self._call(context, "GET", "/extensions"))["extensions"]

    async def list_networks(self, context: RequestContext, **filters: Any) -> list[dict]:
        return await self._list(context, "networks", filters)

    async def _list(self, context: RequestContext, collection: str, filters: dict
                    ) -> list[dict]:
        params = []
        for name, value in filters.items():
            for item in value if isinstance(value, (list, tuple, set)) else [value]:
                params.append((name, str(item).lower() if isinstance(item, bool)
                               else str(item)))
        return (await self._call(context, "GET", f"/{collection}",
                                 params=params))[collection.replace("-", "_")]

    async def get_network(self, context: RequestContext, network_id: str) -> dict:
        try:
            return (await self._call(context, "GET", f"/networks/{network_id}"))["network"]
        except api.NetworkNotFound:
            raise api.NetworkNotFound(network_id=network_id) from None

    async def get_available_networks(self, context: RequestContext,
                                     network_ids: list[str] | None = None) -> list[dict]:
        if network_ids:
            found = {n["id"]: n for n in await self.list_networks(context, id=network_ids)}
            missing = [i for i in network_ids if i not in found]
            if missing:
                raise api.NetworkNotFound(network_id=", ".join(missing))
            return [found[i] for i in dict.fromkeys(network_ids)]
        own = await self.list_networks(context, tenant_id=context.project_id, shared=False)
        shared = await self.list_networks(context, shared=True)
        networks = [n for n in own if not n.get("router:external")] + shared
        return list({n["id"]: n for n in networks}.values())

    async def list_subnets(self, context: RequestContext, **filters: Any) -> list[dict]:
        return await self._list(context, "subnets", filters)

    async def create_port(self, context: RequestContext, port: dict) -> dict:
        return (await self._call(context, "POST", "/ports", body={"port": port}))["port"]

    async def show_port(self, context: RequestContext, port_id: str) -> dict:
        try:
            return (await self._call(context, "GET", f"/ports/{port_id}"))["port"]
        except api.PortNotFound:
            raise api.PortNotFound(port_id=port_id) from None

    async def list_ports(self, context: RequestContext, **filters: Any) -> list[dict]:
        return await self._list(context, "ports", filters)

    async def update_port(self, context: RequestContext, port_id: str, changes: dict, *,
                          admin: bool = False) -> dict:
        if admin:
            context = await self.admin_context(context)
        return (await self._call(context, "PUT", f"/ports/{port_id}",
                                 body={"port": changes}))["port"]

    async def delete_port(self, context: RequestContext, port_id: str) -> None:
        try:
            await self._call(context, "DELETE", f"/ports/{port_id}")
        except api.PortNotFound:
            LOG.debug("Port %s was already gone", port_id)

    async def list_security_groups(self, context: RequestContext, **filters: Any
                                   ) -> list[dict]:
        return await self._list(context, "security-groups", filters)

    # -- servers ---------------------------------------------------------------------

    async def _security_group_ids(self, context: RequestContext, project_id: str,
                                  names: list[str] | None) -> list[str] | None:
        if not names:
            return None
        groups = await self.list_security_groups(context, tenant_id=project_id)
        ids = []
        for name in names:
            by_id = [g for g in groups if g["id"] == name]
            by_name = [g for g in groups if g["name"] == name]
            if by_id:
                ids.append(by_id[0]["id"])
            elif len(by_name) == 1:
                ids.append(by_name[0]["id"])
            elif by_name:
                raise api.NetworkConflict(reason=f"Multiple security groups named {name}")
            else:
                raise api.SecurityGroupNotFound(security_group_id=name)
        return ids

    async def allocate_for_instance(self, context: RequestContext, instance_uuid: str, *,
                                    project_id: str, host: str | None = None,
                                    requested_networks: list[dict] | None = None,
                                    security_groups: list[str] | None = None
                                    ) -> list[dict]:
        requests = [r for r in requested_networks or () if r.get("network_id")
                    or r.get("port_id")]
        if not requests:
            available = await self.get_available_networks(context)
            if not available:
                return []
            if len(available) > 1:
                raise api.NetworkAmbiguous()
            requests = [{"network_id": available[0]["id"]}]
        group_ids = await self._security_group_ids(context, project_id, security_groups)
        created: list[str] = []
        claimed: list[str] = []
        binding = {"device_id": instance_uuid, "device_owner": api.DEVICE_OWNER_COMPUTE}
        if host:
            binding["binding:host_id"] = host
        try:
            for request in requests:
                if request.get("port_id"):
                    port = await self.show_port(context, request["port_id"])
                    if port.get("device_id") and port["device_id"] != instance_uuid:
                        raise api.PortInUse(port_id=port["id"])
                    await self.update_port(context, port["id"], binding, admin=True)
                    claimed.append(port["id"])
                    continue
                body: dict[str, Any] = {"network_id": request["network_id"],
                                        "project_id": project_id,
                                        "device_id": instance_uuid,
                                        "device_owner": api.DEVICE_OWNER_COMPUTE}
                address = request.get("address") or request.get("fixed_ip")
                if address:
                    body["fixed_ips"] = [{"ip_address": str(address)}]
                if group_ids is not None:
                    body["security_groups"] = group_ids
                try:
                    port = await self.create_port(context, body)
                except api.NetworkConflict as e:
                    raise _allocation_error(e, request, address, instance_uuid) from None
                created.append(port["id"])
                if host:
                    await self.update_port(context, port["id"],
                                           {"binding:host_id": host}, admin=True)
        except BaseException:
            await self._roll_back(context, created, claimed)
            raise
        return await self.get_instance_nw_info(context, instance_uuid,
                                               preserve=set(claimed))

    async def _roll_back(self, context: RequestContext, created: list[str],
                         claimed: list[str]) -> None:
        for port_id in created:
            try:
                await self.delete_port(context, port_id)
            except Exception as e:
                LOG.warning("Could not delete port %s while rolling back: %s", port_id, e)
        for port_id in claimed:
            try:
                await self._release(context, port_id)
            except Exception as e:
                LOG.warning("Could not release port %s while rolling back: %s", port_id, e)

    async def _release(self, context: RequestContext, port_id: str) -> None:
        await self.update_port(context, port_id, {
            "device_id": "", "device_owner": "", "binding:host_id": None,
            "binding:profile": {}}, admin=True)

    async def deallocate_for_instance(self, context: RequestContext, instance_uuid: str, *,
                                      network_info: list[dict] | None = None) -> None:
        keep = {vif["id"] for vif in network_info or () if vif.get("preserve_on_delete")}
        for port in await self.list_ports(context, device_id=instance_uuid):
            if port["id"] in keep:
                await self._release(context, port["id"])
            else:
                await self.delete_port(context, port["id"])

    async def bind_ports_to_host(self, context: RequestContext, instance_uuid: str,
                                 host: str) -> list[dict]:
        for port in await self.list_ports(context, device_id=instance_uuid):
            await self.update_port(context, port["id"], {"binding:host_id": host},
                                   admin=True)
        return await self.get_instance_nw_info(context, instance_uuid)

    async def get_instance_nw_info(self, context: RequestContext, instance_uuid: str, *,
                                   preserve: set[str] | None = None) -> list[dict]:
        ports = await self.list_ports(context, device_id=instance_uuid)
        network_ids = list(dict.fromkeys(p["network_id"] for p in ports))
        if not network_ids:
            return []
        admin = await self.admin_context(context)
        networks = {n["id"]: n for n in await self.list_networks(admin, id=network_ids)}
        subnets = {s["id"]: s for s in await self.list_subnets(admin,
                                                                network_id=network_ids)}
        bridge = self.conf.neutron.ovs_bridge
        return [api.vif_from_port(port, networks.get(port["network_id"], {
            "id": port["network_id"]}), subnets, preserve=port["id"] in (preserve or ()),
            bridge=bridge) for port in ports]


def _error(code: int, content: Any, path: str) -> Exception:
    fault = content.get("NeutronError", {}) if isinstance(content, dict) else {}
    kind = fault.get("type", "")
    message = fault.get("message") or str(content)
    if code == 404:
        if path.startswith("/networks"):
            return api.NetworkNotFound(network_id=path.rsplit("/", 1)[-1])
        if path.startswith("/ports"):
            return api.PortNotFound(port_id=path.rsplit("/", 1)[-1])
        if kind == "SecurityGroupNotFound":
            return api.SecurityGroupNotFound(security_group_id=message)
        if kind == "NetworkNotFound":
            return api.NetworkNotFound(network_id=message)
        return exception.NotFound(message)
    if code in (401, 403):
        return api.NetworkForbidden(reason=message)
    if code == 409:
        error = api.NetworkConflict(reason=message)
        error.neutron_type = kind
        return error
    if code == 400:
        return api.NetworkBadRequest(reason=message)
    return api.NetworkServiceUnavailable(server="neutron", reason=f"{code}: {message}")


def _allocation_error(error: api.NetworkConflict, request: dict, address: Any,
                      instance_uuid: str) -> Exception:
    kind = getattr(error, "neutron_type", "")
    if kind == "IpAddressGenerationFailure":
        return api.NoMoreFixedIps(net=request.get("network_id"))
    if kind == "IpAddressAlreadyAllocated":
        return api.FixedIpAlreadyInUse(address=address, instance_uuid=instance_uuid)
    return error
