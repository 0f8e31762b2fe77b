"""Cross-Origin Resource Sharing, as oslo.middleware's CORS middleware does it.

Off unless ``[cors] allowed_origin`` is set. Then a preflight (``OPTIONS`` with
``Origin`` and ``Access-Control-Request-Method``) is answered here, 200 with the
``Access-Control-*`` headers when the origin, method and headers are allowed and
without them otherwise; an actual request from an allowed origin gets
``Access-Control-Allow-Origin`` (and the credentials and exposed headers) added.
"""
from __future__ import annotations

from nova_tx.placement.api.wire import PlacementRequest, PlacementResponse

#: Headers a browser may always send (CORS's simple headers).
SIMPLE_HEADERS = {"cache-control", "content-language", "content-type", "expires",
                  "last-modified", "pragma"}


class CORS:
    def __init__(self, options):
        self.origins = [o.strip() for o in (options.allowed_origin or []) if o.strip()]
        self.allow_credentials = options.allow_credentials
        self.expose_headers = list(options.expose_headers or [])
        self.max_age = options.max_age
        self.allow_methods = [m.upper() for m in options.allow_methods or []]
        self.allow_headers = {h.lower() for h in options.allow_headers or []}

    @classmethod
    def from_conf(cls, conf) -> CORS | None:
        if conf is None or "cors" not in conf or not conf.cors.allowed_origin:
            return None
        return cls(conf.cors)

    def _allowed(self, origin: str | None) -> bool:
        return origin is not None and (origin in self.origins or "*" in self.origins)

    def preflight(self, req: PlacementRequest) -> PlacementResponse | None:
        """The answer to a preflight request, or None when ``req`` is not one."""
        origin = req.header("origin")
        method = req.header("access-control-request-method")
        if req.method != "OPTIONS" or origin is None or method is None:
            return None
        response = PlacementResponse(status=200, headers={"Vary": "Origin"})
        if not self._allowed(origin) or method.upper() not in self.allow_methods:
            return response
        requested = [h.strip() for h in (req.header("access-control-request-headers")
                                         or "").split(",") if h.strip()]
        if any(h.lower() not in self.allow_headers | SIMPLE_HEADERS for h in requested):
            return response
        response.headers.update({
            "Access-Control-Allow-Origin": origin if "*" not in self.origins else "*",
            "Access-Control-Allow-Methods": method.upper(),
            "Access-Control-Max-Age": str(self.max_age),
        })
        if requested:
            response.headers["Access-Control-Allow-Headers"] = ",".join(requested)
        if self.allow_credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        return response

    def decorate(self, req: PlacementRequest, response: PlacementResponse) -> None:
        """Add the CORS headers of an actual request from an allowed origin."""
        origin = req.header("origin")
        if not self._allowed(origin):
            return
        response.headers["Access-Control-Allow-Origin"] = (
            origin if "*" not in self.origins else "*")
        response.headers["Vary"] = "Origin"
        if self.allow_credentials:
            response.headers["Access-Control-Allow-Credentials"] = "true"
        if self.expose_headers:
            response.headers["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
