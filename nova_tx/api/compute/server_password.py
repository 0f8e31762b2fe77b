"""``/servers/{server_id}/os-server-password``: the password the guest posted to the
metadata service, encrypted with the server's key pair (Nova's
ServerPasswordController).

``GET`` shows it (``""`` when none); ``DELETE`` clears it (204) so that the guest may
post a new one. Both for the owner or an admin (``os_compute_api:os-server-password``).
"""
from __future__ import annotations

from nova_tx import policy
from nova_tx.api.compute import wsgi
from nova_tx.api.compute._components import cell_engines
from nova_tx.api.compute.servers import get_server
from nova_tx.metadata import password

routes = wsgi.Routes()

POLICY_ROOT = "os_compute_api:os-server-password:%s"
BASE = "/servers/{server_id}/os-server-password"


async def _authorized(req, server_id: str, rule: str):
    located = await get_server(req, server_id, expected_attrs=("system_metadata",))
    policy.authorize(req.context, POLICY_ROOT % rule,
                     target={"project_id": located.instance.project_id})
    return located


@routes.get(BASE)
async def index(req, server_id):
    located = await _authorized(req, server_id, "show")
    return {"password": password.extract(located.instance.system_metadata or {}) or ""}


def _clear_in_cell(api_conn, cells, cell_url: str, instance_uuid: str) -> None:
    with cells.engine(cell_url).begin() as conn:
        password.clear(conn, instance_uuid)


@routes.delete(BASE, status=204)
async def clear(req, server_id):
    located = await _authorized(req, server_id, "clear")
    if located.cell is None:
        # Still a build request: no guest has posted anything to clear.
        return None
    await req.app.components["api_db"].do(_clear_in_cell, cell_engines(req),
                                          located.cell.database_connection,
                                          located.instance.uuid)
    return None
