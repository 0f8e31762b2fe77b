"""What the key pair, quota, limits and zone resources share in one API process,
kept in ``req.app.components`` and made on first use when the process did not
provide them:

- ``quota``: the ``nova_tx.quota.QuotaEngine`` over ``api_db`` (the compute API
  registers its instance counter on it; until then instances, cores and ram are
  counted in the cell databases);
- ``cell_engines``: a ``nova_tx.db.cells.CellEngines`` (one Engine per cell database);
- ``project_verifier``: what says whether a project exists (``verify(context,
  project_id)``; Keystone with ``[api] auth_strategy = keystone``, nothing with
  noauth2).
"""
from __future__ import annotations

from nova_tx.api.project_verifier import make_project_verifier
from nova_tx.db.cells import CellEngines
from nova_tx.quota import QuotaEngine


def cell_engines(req) -> CellEngines:
    components = req.app.components
    cells = components.get("cell_engines")
    if cells is None:
        cells = components["cell_engines"] = CellEngines(req.conf)
    return cells


def quota_engine(req) -> QuotaEngine:
    components = req.app.components
    engine = components.get("quota")
    if engine is None:
        api_db = components.get("api_db")
        engine = components["quota"] = QuotaEngine(
            req.conf, api_db, cells=cell_engines(req) if api_db is not None else None)
    return engine


_UNSET = object()


async def verify_project_id(req, project_id: str) -> None:
    """400 when the identity service says ``project_id`` does not exist."""
    components = req.app.components
    verifier = components.get("project_verifier", _UNSET)
    if verifier is _UNSET:
        verifier = components["project_verifier"] = make_project_verifier(req.conf)
    if verifier is not None:
        await verifier.verify(req.context, project_id)
