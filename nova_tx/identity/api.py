"""The embedded identity service: the Keystone v3 subset clients need, on Klein.

Routes (Keystone's answers, bodies and status codes):

- ``GET /`` (300, the versions) and ``GET /v3`` (200, version v3.14): keystoneauth's
  discovery.
- ``POST /v3/auth/tokens``: the ``password`` (user by id, or by name and domain) and
  ``token`` methods; scoped to a project (id, or name and domain), to the system
  (``{"system": {"all": true}}``, for users with the admin role), or unscoped
  (``"scope": "unscoped"``; without a scope the user's default project, as Keystone).
  201 with ``X-Subject-Token`` and the token body; ``?nocatalog`` leaves the catalog out.
- ``GET``/``HEAD /v3/auth/tokens``: validation of ``X-Subject-Token`` for the holder of
  ``X-Auth-Token`` (the subject's own user, or an ``admin`` or ``service`` role);
  404 when the subject is unknown, expired or revoked. ``DELETE`` revokes (204).
- ``GET /v3/auth/catalog``, ``/v3/auth/projects``, ``/v3/auth/domains`` and
  ``/v3/auth/system``: what the caller's token may see and scope to.
- ``GET /v3/projects/<id>`` and ``GET /v3/users/<id>`` for the caller's own project
  and user (or any, for an admin), ``GET /v3/users/<id>/projects``, and the lists
  ``GET /v3/projects``, ``GET /v3/users``, ``GET /v3/roles``, ``GET /v3/domains`` for
  admins, read-only.

Errors are Keystone's body (``{"error": {"code", "message", "title"}}``); a 401 also
names the service in ``WWW-Authenticate: Keystone uri="..."``.
"""
from __future__ import annotations

import datetime
import json
import logging
import math
from urllib.parse import parse_qsl

import jsonschema
from klein import Klein
from twisted.web.iweb import IRequest
from werkzeug.exceptions import MethodNotAllowed as RoutingMethodNotAllowed
from werkzeug.exceptions import NotFound as RoutingNotFound

from nova_tx.context import generate_request_id
from nova_tx.identity import catalog, errors
from nova_tx.identity.directory import Directory, Project, User
from nova_tx.identity.tokens import Token, TokenStore

LOG = logging.getLogger(__name__)

#: The Identity API version Keystone Zed reports.
VERSION_ID = "v3.14"
VERSION_UPDATED = "2020-04-07T00:00:00Z"
MEDIA_TYPE = "application/vnd.openstack.identity-v3+json"

#: Roles allowed to validate, and revoke, the tokens of others.
PRIVILEGED_ROLES = frozenset({"admin", "service"})

_NAME_DOMAIN = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "domain": {"type": "object",
                   "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
    },
}

#: Keystone's ``keystone.auth.schema.token_issue``, trusts and application
#: credentials left out.
TOKEN_ISSUE_SCHEMA = {
    "type": "object",
    "properties": {
        "identity": {
            "type": "object",
            "properties": {
                "methods": {"type": "array", "items": {"type": "string"}},
                "password": {
                    "type": "object",
                    "properties": {"user": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string"},
                            "name": {"type": "string"},
                            "password": {"type": "string"},
                            "domain": {"type": "object", "properties": {
                                "id": {"type": "string"}, "name": {"type": "string"}}},
                        },
                    }},
                },
                "token": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}},
                    "required": ["id"],
                },
            },
            "required": ["methods"],
        },
        "scope": {
            "type": ["object", "string"],
            "properties": {
                "project": _NAME_DOMAIN,
                "domain": {"type": "object", "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"}}},
                "system": {"type": "object",
                           "properties": {"all": {"type": "boolean"}}},
            },
        },
    },
    "required": ["identity"],
}

SUPPORTED_METHODS = ("password", "token")


def isotime(seconds: float) -> str:
    """Keystone's ``utils.isotime(subsecond=True)``: ``2015-11-05T22:00:11.000000Z``."""
    # Truncated, never rounded up: a token is never shown to live longer than it does.
    whole, micro = divmod(math.floor(seconds * 1_000_000), 1_000_000)
    moment = datetime.datetime.fromtimestamp(whole, datetime.UTC).replace(microsecond=micro)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class IdentityAPI:
    """One embedded identity service: its directory, its tokens and its catalog."""

    app = Klein()

    def __init__(self, conf, *, clock=None, directory: Directory | None = None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.conf = conf
        self.directory = directory if directory is not None else Directory.from_conf(conf)
        self.tokens = TokenStore(clock, conf.embedded.identity_token_expiration)
        catalog.build(conf)  # a bad [embedded] identity_catalog fails the start

    @property
    def catalog(self) -> list[dict]:
        """The catalog as the configuration says now (SIGHUP may have changed it)."""
        return catalog.render(catalog.build(self.conf), self.conf.embedded.identity_region)

    def reload(self) -> None:
        """Re-read the users and the token lifetime (after SIGHUP); an unreadable
        configuration raises ConfigError and leaves the current one in place."""
        directory = Directory.from_conf(self.conf)
        catalog.build(self.conf)
        self.directory = directory
        self.tokens.lifetime = self.conf.embedded.identity_token_expiration

    def resource(self):
        return self.app.resource()

    # -- versions -------------------------------------------------------------------

    @app.route("/", methods=["GET"])
    def versions(self, request: IRequest) -> bytes:
        request.setResponseCode(300)
        return _json(request, {"versions": {"values": [self._version(request)]}})

    @app.route("/v3", methods=["GET"])
    @app.route("/v3/", methods=["GET"])
    def version(self, request: IRequest) -> bytes:
        return _json(request, {"version": self._version(request)})

    def _version(self, request: IRequest) -> dict:
        return {
            "id": VERSION_ID,
            "status": "stable",
            "updated": VERSION_UPDATED,
            "links": [{"rel": "self", "href": _base_url(request) + "/v3/"}],
            "media-types": [{"base": "application/json", "type": MEDIA_TYPE}],
        }

    # -- tokens ---------------------------------------------------------------------

    @app.route("/v3/auth/tokens", methods=["POST"])
    def issue_token(self, request: IRequest) -> bytes:
        body = _json_body(request)
        _validate(body, TOKEN_ISSUE_SCHEMA)
        identity = body["identity"]
        methods = identity["methods"]
        if not methods:
            raise errors.ValidationError.expecting("methods", "identity")
        for method in methods:
            if method not in identity:
                raise errors.ValidationError.expecting(method, "identity")
            if method not in SUPPORTED_METHODS:
                raise errors.Unauthorized()
        _check_scope(body.get("scope"))
        user, parent = self._authenticate(identity, methods)
        project, system = self._scope(user, body.get("scope"))
        all_methods = list(dict.fromkeys(
            (list(parent.methods) if parent is not None else []) + list(methods)))
        token = self.tokens.issue(user.id, all_methods,
                                  project_id=project.id if project else None,
                                  system=system, parent=parent)
        LOG.info("Issued a token to %s (%s)", user.name,
                 "project " + project.name if project else
                 "system" if system else "unscoped")
        request.setResponseCode(201)
        request.setHeader(b"X-Subject-Token", token.id.encode("ascii"))
        return _json(request, self._render_token(token, not _has_arg(request, b"nocatalog")))

    @app.route("/v3/auth/tokens", methods=["GET"])
    def validate_token(self, request: IRequest) -> bytes:
        token = self._subject(request, "identity:validate_token")
        request.setHeader(b"X-Subject-Token", token.id.encode("ascii"))
        return _json(request, self._render_token(token, not _has_arg(request, b"nocatalog")))

    @app.route("/v3/auth/tokens", methods=["DELETE"])
    def revoke_token(self, request: IRequest) -> bytes:
        token = self._subject(request, "identity:revoke_token")
        self.tokens.revoke(token.id)
        request.setResponseCode(204)
        return b""

    def _authenticate(self, identity: dict, methods: list[str]
                      ) -> tuple[User, Token | None]:
        """The user every method names (401 unless they all name the same one), and
        the token the token method presented."""
        user: User | None = None
        parent: Token | None = None
        for method in methods:
            if method == "password":
                found = self._password_user(identity["password"])
            else:
                parent = self.tokens.get(identity["token"]["id"])
                if parent is None:
                    raise errors.Unauthorized()
                found = self.directory.find_user(user_id=parent.user_id)
            if found is None or (user is not None and found.id != user.id):
                raise errors.Unauthorized()
            user = found
        assert user is not None
        return user, parent

    def _password_user(self, data: dict) -> User | None:
        info = data.get("user")
        if not isinstance(info, dict):
            raise errors.ValidationError.expecting("user", "password")
        if "password" not in info:
            raise errors.ValidationError.expecting("password", "user")
        if "id" in info:
            user = self.directory.find_user(user_id=info["id"])
        elif "name" in info:
            if "domain" not in info:
                raise errors.ValidationError.expecting("domain", "user")
            domain = info["domain"]
            if "id" not in domain and "name" not in domain:
                raise errors.ValidationError.expecting("id or name", "domain")
            if self.directory.find_domain(domain) is None:
                raise errors.Unauthorized()
            user = self.directory.find_user(name=info["name"])
        else:
            raise errors.ValidationError.expecting("id or name", "user")
        if user is None or not user.check_password(info["password"]):
            raise errors.Unauthorized()
        return user

    def _scope(self, user: User, scope) -> tuple[Project | None, bool]:
        """(project, system) of the token ``scope`` asks for (401 where the user has
        no role); without a scope, the user's default project as in Keystone."""
        if scope is None:
            project = self.directory.find_project(project_id=user.default_project_id)
            if project and self.directory.roles_of(user.id, project.id):
                return project, False
            return None, False
        if isinstance(scope, str):
            return None, False
        if "project" in scope:
            ref = scope["project"]
            if "id" in ref:
                project = self.directory.find_project(project_id=ref["id"])
            else:
                if self.directory.find_domain(ref["domain"]) is None:
                    raise errors.Unauthorized()
                project = self.directory.find_project(name=ref["name"])
            if project is None or not self.directory.roles_of(user.id, project.id):
                raise errors.Unauthorized()
            return project, False
        if "system" in scope:
            if not self.directory.system_roles_of(user.id):
                raise errors.Unauthorized()
            return None, True
        # Domain-scoped and trust-scoped tokens: nobody has roles on a domain here.
        raise errors.Unauthorized()

    def _caller(self, request: IRequest) -> Token:
        """The token of ``X-Auth-Token``; 401 when it is missing or not valid."""
        token = self.tokens.get(_header(request, b"x-auth-token"))
        if token is None:
            raise errors.Unauthorized()
        return token

    def _subject(self, request: IRequest, action: str) -> Token:
        """The token of ``X-Subject-Token`` the caller may see (401, 403, 404)."""
        caller = self._caller(request)
        subject_id = _header(request, b"x-subject-token")
        subject = self.tokens.get(subject_id)
        if subject is None or self.directory.find_user(user_id=subject.user_id) is None:
            raise errors.TokenNotFound(subject_id)
        if subject.user_id != caller.user_id and not self._privileged(caller):
            raise errors.Forbidden.action(action)
        return subject

    def _privileged(self, token: Token) -> bool:
        return bool(PRIVILEGED_ROLES & {r["name"] for r in self._roles(token)})

    def _roles(self, token: Token) -> list[dict]:
        if token.project_id is not None:
            roles = self.directory.roles_of(token.user_id, token.project_id)
        elif token.system:
            roles = self.directory.system_roles_of(token.user_id)
        else:
            roles = []
        return [{"id": r.id, "name": r.name} for r in roles]

    def _render_token(self, token: Token, with_catalog: bool) -> dict:
        user = self.directory.find_user(user_id=token.user_id)
        assert user is not None
        body: dict = {
            "methods": list(token.methods),
            "user": {"domain": user.domain.ref(), "id": user.id, "name": user.name,
                     "password_expires_at": None},
            "audit_ids": list(token.audit_ids),
            "expires_at": isotime(token.expires_at),
            "issued_at": isotime(token.issued_at),
        }
        if token.project_id is not None:
            project = self.directory.find_project(project_id=token.project_id)
            if project is None:
                raise errors.TokenNotFound(token.id)
            body["project"] = {"domain": project.domain.ref(), "id": project.id,
                               "name": project.name}
            body["is_domain"] = False
        if token.system:
            body["system"] = {"all": True}
        if token.scoped:
            roles = self._roles(token)
            if not roles:  # the assignment is gone from the configuration
                raise errors.TokenNotFound(token.id)
            body["roles"] = roles
            if with_catalog:
                body["catalog"] = self.catalog
        return {"token": body}

    # -- what a token may see -------------------------------------------------------

    @app.route("/v3/auth/catalog", methods=["GET"])
    def auth_catalog(self, request: IRequest) -> bytes:
        token = self._caller(request)
        if not token.scoped:
            raise errors.Forbidden(
                "A project-scoped token is required to produce a service catalog.")
        return _json(request, {"catalog": self.catalog,
                               "links": self._links(request, "auth/catalog")})

    @app.route("/v3/auth/projects", methods=["GET"])
    def auth_projects(self, request: IRequest) -> bytes:
        token = self._caller(request)
        projects = self.directory.projects_of(token.user_id)
        return _json(request, {
            "projects": [self._project(request, p) for p in projects],
            "links": self._links(request, "auth/projects")})

    @app.route("/v3/auth/domains", methods=["GET"])
    def auth_domains(self, request: IRequest) -> bytes:
        # Domain roles do not exist here: no token may be scoped to a domain.
        self._caller(request)
        return _json(request, {"domains": [], "links": self._links(request, "auth/domains")})

    @app.route("/v3/auth/system", methods=["GET"])
    def auth_system(self, request: IRequest) -> bytes:
        token = self._caller(request)
        system = [{"all": True}] if self.directory.system_roles_of(token.user_id) else []
        return _json(request, {"system": system, "links": self._links(request, "auth/system")})

    # -- read-only directory --------------------------------------------------------

    @app.route("/v3/projects", methods=["GET"])
    def list_projects(self, request: IRequest) -> bytes:
        self._require_admin(request, "identity:list_projects")
        name = _arg(request, b"name")
        projects = [p for p in self.directory.projects.values()
                    if name is None or p.name == name]
        return _json(request, {"projects": [self._project(request, p) for p in projects],
                               "links": self._links(request, "projects")})

    @app.route("/v3/projects/<project_id>", methods=["GET"])
    def get_project(self, request: IRequest, project_id: str) -> bytes:
        token = self._caller(request)
        project = self.directory.find_project(project_id=project_id)
        if project is None:
            if not self._privileged(token):
                raise errors.Forbidden.action("identity:get_project")
            raise errors.NotFound(f"Could not find project: {project_id}.")
        if token.project_id != project.id and not self._privileged(token):
            raise errors.Forbidden.action("identity:get_project")
        return _json(request, {"project": self._project(request, project)})

    @app.route("/v3/users", methods=["GET"])
    def list_users(self, request: IRequest) -> bytes:
        self._require_admin(request, "identity:list_users")
        name = _arg(request, b"name")
        users = [u for u in self.directory.users.values() if name is None or u.name == name]
        return _json(request, {"users": [self._user(request, u) for u in users],
                               "links": self._links(request, "users")})

    @app.route("/v3/users/<user_id>", methods=["GET"])
    def get_user(self, request: IRequest, user_id: str) -> bytes:
        token = self._caller(request)
        if token.user_id != user_id and not self._privileged(token):
            raise errors.Forbidden.action("identity:get_user")
        user = self.directory.find_user(user_id=user_id)
        if user is None:
            raise errors.NotFound(f"Could not find user: {user_id}.")
        return _json(request, {"user": self._user(request, user)})

    @app.route("/v3/users/<user_id>/projects", methods=["GET"])
    def list_user_projects(self, request: IRequest, user_id: str) -> bytes:
        token = self._caller(request)
        if token.user_id != user_id and not self._privileged(token):
            raise errors.Forbidden.action("identity:list_user_projects")
        if self.directory.find_user(user_id=user_id) is None:
            raise errors.NotFound(f"Could not find user: {user_id}.")
        projects = self.directory.projects_of(user_id)
        return _json(request, {
            "projects": [self._project(request, p) for p in projects],
            "links": self._links(request, f"users/{user_id}/projects")})

    @app.route("/v3/roles", methods=["GET"])
    def list_roles(self, request: IRequest) -> bytes:
        self._require_admin(request, "identity:list_roles")
        base = _base_url(request)
        return _json(request, {"roles": [{
            "id": r.id, "name": r.name, "domain_id": None, "description": None,
            "options": {}, "links": {"self": f"{base}/v3/roles/{r.id}"},
        } for r in self.directory.roles.values()], "links": self._links(request, "roles")})

    @app.route("/v3/domains", methods=["GET"])
    def list_domains(self, request: IRequest) -> bytes:
        self._require_admin(request, "identity:list_domains")
        domain = self.directory.domain
        base = _base_url(request)
        return _json(request, {"domains": [{
            "id": domain.id, "name": domain.name, "description": "The default domain",
            "enabled": True, "tags": [], "options": {},
            "links": {"self": f"{base}/v3/domains/{domain.id}"},
        }], "links": self._links(request, "domains")})

    def _require_admin(self, request: IRequest, action: str) -> Token:
        token = self._caller(request)
        if not self._privileged(token):
            raise errors.Forbidden.action(action)
        return token

    def _project(self, request: IRequest, project: Project) -> dict:
        return {
            "id": project.id, "name": project.name, "domain_id": project.domain.id,
            "description": "", "enabled": True, "parent_id": project.domain.id,
            "is_domain": False, "tags": [], "options": {},
            "links": {"self": f"{_base_url(request)}/v3/projects/{project.id}"},
        }

    def _user(self, request: IRequest, user: User) -> dict:
        return {
            "id": user.id, "name": user.name, "domain_id": user.domain.id,
            "default_project_id": user.default_project_id, "enabled": True,
            "password_expires_at": None, "options": {},
            "links": {"self": f"{_base_url(request)}/v3/users/{user.id}"},
        }

    @staticmethod
    def _links(request: IRequest, path: str) -> dict:
        return {"self": f"{_base_url(request)}/v3/{path}", "previous": None, "next": None}

    # -- errors ---------------------------------------------------------------------

    @app.handle_errors(errors.IdentityError)
    def identity_error(self, request: IRequest, failure) -> bytes:
        return self._error(request, failure.value)

    @app.handle_errors(RoutingNotFound)
    def not_found(self, request: IRequest, failure) -> bytes:
        return self._error(request, errors.NotFound())

    @app.handle_errors(RoutingMethodNotAllowed)
    def method_not_allowed(self, request: IRequest, failure) -> bytes:
        allowed = failure.value.valid_methods or []
        if allowed:
            request.setHeader(b"Allow", ", ".join(allowed).encode("ascii"))
        return self._error(request, errors.MethodNotAllowed())

    @app.handle_errors(Exception)
    def unexpected_error(self, request: IRequest, failure) -> bytes:
        LOG.error("Identity request %s %s failed: %s", request.method.decode(),
                  request.path.decode("latin-1"), failure.getTraceback())
        return self._error(request, errors.IdentityError())

    def _error(self, request: IRequest, error: errors.IdentityError) -> bytes:
        request.setResponseCode(error.code)
        if error.code == 401:
            request.setHeader(b"WWW-Authenticate",
                              f'Keystone uri="{_base_url(request)}"'.encode("latin-1"))
        return _json(request, error.body())


# -- request and answer helpers -------------------------------------------------------

def _header(request: IRequest, name: bytes) -> str | None:
    value = request.getHeader(name)
    return value.decode("latin-1") if value is not None else None


def _arg(request: IRequest, name: bytes) -> str | None:
    values = (request.args or {}).get(name)
    return values[0].decode("utf-8", "replace") if values else None


def _has_arg(request: IRequest, name: bytes) -> bool:
    """Whether the query names ``name``, with or without a value (``?nocatalog``)."""
    query = request.uri.partition(b"?")[2]
    return name in {k for k, _ in parse_qsl(query, keep_blank_values=True)}


def _check_scope(scope) -> None:
    """Keystone's checks of the scope's shape, made before authenticating (400)."""
    if scope is None:
        return
    if isinstance(scope, str):
        if scope not in ("unscoped", ""):
            raise errors.ValidationError.expecting("unscoped", "scope")
        return
    kinds = [k for k in ("project", "domain", "system", "OS-TRUST:trust") if k in scope]
    if len(kinds) != 1:
        raise errors.ValidationError.expecting(
            "project, domain, OS-TRUST:trust or system", "scope")
    if "project" in scope:
        ref = scope["project"]
        if "id" not in ref:
            if "name" not in ref:
                raise errors.ValidationError.expecting("id or name", "project")
            if "domain" not in ref:
                raise errors.ValidationError.expecting("domain", "project")
            if "id" not in ref["domain"] and "name" not in ref["domain"]:
                raise errors.ValidationError.expecting("id or name", "domain")
    if "system" in scope and scope["system"].get("all") is not True:
        raise errors.ValidationError.expecting("all", "system")


def _base_url(request: IRequest) -> str:
    """The URL the client reached us at, without a trailing slash (the Host header
    whole, as a proxy's clients see it)."""
    scheme = b"https" if request.isSecure() else b"http"
    host = request.getHeader(b"host")
    if not host:
        address = request.getHost()
        host = ("%s:%d" % (address.host, address.port)).encode("ascii")
    return (scheme + b"://" + host).decode("ascii", "replace")


def _json(request: IRequest, body: dict) -> bytes:
    request.setHeader(b"Content-Type", b"application/json")
    request.setHeader(b"Vary", b"X-Auth-Token")
    request.setHeader(b"x-openstack-request-id", generate_request_id().encode("ascii"))
    return json.dumps(body).encode("utf-8")


def _json_body(request: IRequest):
    """What the request body's ``auth`` holds, with Keystone's 400s for a body that
    is not a JSON object."""
    raw = request.content.read() if request.content is not None else b""
    content_type = (_header(request, b"content-type") or "").split(";")[0].strip().lower()
    if raw and content_type not in ("", "application/json"):
        raise errors.ValidationError.expecting("application/json", "Content-Type header")
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise errors.ValidationError.expecting("valid JSON", "request body") from None
    if not isinstance(body, dict):
        raise errors.ValidationError.expecting("valid JSON object", "request body")
    # Keystone validates what ``auth`` holds, an empty object when it is missing.
    return body.get("auth") or {}


def _validate(body: dict, schema: dict) -> None:
    """Keystone's schema validation error text (``Invalid input for field ...``)."""
    try:
        jsonschema.validate(body, schema)
    except jsonschema.ValidationError as e:
        if e.path:
            path = "/".join(map(str, e.path))
            detail = f"Invalid input for field '{path}': {e.message}"
        else:
            detail = e.message
        raise errors.SchemaValidationError(detail) from None
