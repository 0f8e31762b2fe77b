"""``nova-manage placement sync_aggregates [--verbose]``: mirror nova host aggregates
into placement (each member host's compute node provider joins the placement
aggregate whose uuid is the nova aggregate's). Only additions are made.

nova-manage runs no reactor, so placement is reached here with a small blocking
client (``http.client``) that authenticates as ``nova_tx.placement.client`` does:
``[placement] auth_type = password`` gets a Keystone token for ``[placement]``'s
user, otherwise the noauth2 token ``<username>:<project_name>`` with the admin role.
The endpoint is ``[placement] endpoint_override``, else the embedded Placement's
``[embedded] placement_listen``/``placement_port``.

Exit statuses (spec G):

- 0: done;
- 1: a host has more than one compute node record (abort at once);
- 2: placement answered something unexpected, or could not be reached (abort);
- 3: a provider's aggregates could not be updated (abort);
- 4, 5, 6: hosts without a host mapping, without a compute node record, or whose
  provider placement does not know; these are collected while the others are
  processed, every applicable message is printed, and the last of 4, 5, 6 that
  applies is the status.
"""
from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from oslo_config import cfg

from nova_tx import exception
from nova_tx.cmd.common import args
from nova_tx.db.api import aggregates as aggregates_db
from nova_tx.db.api import host_mappings
from nova_tx.db.main import compute_nodes
from nova_tx.placement.aggregates_client import AGGREGATES_VERSION

OK, TOO_MANY_COMPUTES, PLACEMENT_ERROR, UPDATE_FAILED = 0, 1, 2, 3
UNMAPPED_HOSTS, NO_COMPUTE_NODES, NO_PROVIDERS = 4, 5, 6


class PlacementUnavailable(Exception):
    """Placement could not be reached or answered something unusable."""


class _Abort(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class BlockingPlacement:
    """The few calls sync_aggregates makes, without a reactor."""

    def __init__(self, conf: cfg.ConfigOpts, *, timeout: float | None = None):
        options = conf.placement
        self.options = options
        endpoint = options.endpoint_override
        if not endpoint:
            host = conf.embedded.placement_listen
            if host in ("0.0.0.0", "::", ""):
                host = "127.0.0.1"
            if ":" in host:
                host = f"[{host}]"
            endpoint = f"http://{host}:{conf.embedded.placement_port}"
        self.endpoint = urlsplit(endpoint.rstrip("/"))
        self.timeout = timeout or options.timeout or 30
        self._token: str | None = None

    def _connection(self, url) -> http.client.HTTPConnection:
        cls = (http.client.HTTPSConnection if url.scheme == "https"
               else http.client.HTTPConnection)
        return cls(url.hostname, url.port, timeout=self.timeout)

    def _send(self, url, method: str, path: str, body: Any, headers: dict[str, str]
              ) -> tuple[int, dict[str, str], bytes]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        if data is not None:
            headers = {**headers, "content-type": "application/json"}
        connection = self._connection(url)
        try:
            connection.request(method, url.path + path, body=data, headers=headers)
            response = connection.getresponse()
            return (response.status, {k.lower(): v for k, v in response.getheaders()},
                    response.read())
        except OSError as e:
            raise PlacementUnavailable(
                f"{method} {url.geturl()}{path}: {e.strerror or e}") from None
        finally:
            connection.close()

    def _auth_headers(self) -> dict[str, str]:
        o = self.options
        if o.auth_type == "password" and o.auth_url:
            if self._token is None:
                self._token = self._keystone_token()
            return {"x-auth-token": self._token}
        return {"x-auth-token": "%s:%s" % (o.username or "nova", o.project_name or "service"),
                "x-roles": "admin,service"}

    def _keystone_token(self) -> str:
        from nova_tx.placement.client import KeystonePassword

        keystone = KeystonePassword(self.options, clock=object())
        url = urlsplit(keystone.url)
        status, headers, _content = self._send(url, "POST", "/auth/tokens?nocatalog",
                                               keystone.body(), {})
        token = headers.get("x-subject-token")
        if status != 201 or not token:
            raise PlacementUnavailable(f"Keystone at {keystone.url} refused [placement] "
                                       f"username {self.options.username!r}: HTTP {status}")
        return token

    def request(self, method: str, path: str, body: Any = None, *,
                version: str = AGGREGATES_VERSION) -> tuple[int, Any, str]:
        headers = {"accept": "application/json",
                   "openstack-api-version": f"placement {version}",
                   **self._auth_headers()}
        status, _headers, content = self._send(self.endpoint, method, path, body, headers)
        text = content.decode("utf-8", "replace")
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return status, parsed, text


class PlacementCommands:
    """Placement-related commands."""

    def __init__(self, ctx: Any):
        self._ctx = ctx
        #: How placement is reached (tests give a client of their own).
        self.placement: BlockingPlacement | None = None

    @args("--verbose", action="store_true", dest="verbose", default=False,
          help="Provide verbose output during execution.")
    def sync_aggregates(self, verbose: bool = False) -> int:
        """Synchronize nova host aggregates with placement resource providers.

        Return codes: 0 success; 1 a host has more than one compute node record; 2 an
        unexpected error from the placement API; 3 provider aggregates could not be
        updated; 4 host mappings not found for aggregate members; 5 compute node
        records not found for hosts; 6 resource providers not found by uuid.
        """
        def output(message: str) -> None:
            if verbose:
                print(message)

        placement = self.placement or BlockingPlacement(self._ctx.conf)
        dbs = self._ctx.dbs
        output("Filling in missing placement aggregate information...")
        host_to_rp: dict[str, str] = {}
        unmapped: list[str] = []
        no_computes: list[str] = []
        no_providers: dict[str, str] = {}
        with dbs.api().connect() as api_conn:
            aggregates = aggregates_db.get_all(api_conn)
            try:
                for aggregate in aggregates:
                    output("Processing aggregate: %s" % aggregate.name)
                    for host in aggregate.hosts:
                        output("Processing host: %s" % host)
                        rp_uuid = host_to_rp.get(host)
                        if rp_uuid is None:
                            try:
                                rp_uuid = self._rp_uuid_for_host(api_conn, host)
                            except exception.HostMappingNotFound:
                                if host not in unmapped:
                                    unmapped.append(host)
                                continue
                            except exception.ComputeHostNotFound:
                                if host not in no_computes:
                                    no_computes.append(host)
                                continue
                            host_to_rp[host] = rp_uuid
                        if _add_to_aggregate(placement, host, rp_uuid, aggregate.uuid):
                            output("Successfully added host (%s) and provider (%s) to "
                                   "aggregate (%s)." % (host, rp_uuid, aggregate.uuid))
                        else:
                            no_providers[host] = rp_uuid
            except _Abort as e:
                print(e)
                return e.status
            except PlacementUnavailable as e:
                print("An error occurred while working with the placement API: %s" % e)
                return PLACEMENT_ERROR
        status = OK
        if unmapped:
            print("The following hosts were found in nova host aggregates but no host "
                  "mappings were found in the nova API DB. Run \"nova-manage cell_v2 "
                  "discover_hosts\" and then retry. Missing: %s" % ",".join(unmapped))
            status = UNMAPPED_HOSTS
        if no_computes:
            print("Unable to find matching compute_nodes record entries in the cell "
                  "database for the following hosts; does the nova-compute service on "
                  "each host need to be restarted? Missing: %s" % ",".join(no_computes))
            status = NO_COMPUTE_NODES
        if no_providers:
            print("Unable to find matching resource provider record in placement with "
                  "uuid for the following hosts: %s. Try restarting the nova-compute "
                  "service on each host and then retry." % ",".join(
                      "(%s, %s)" % (host, no_providers[host]) for host in sorted(no_providers)))
            status = NO_PROVIDERS
        if status == OK:
            output("Done.")
        return status

    @args("--max-count", metavar="<max_count>", dest="max_count",
          help="Maximum number of instances to process. If not specified, all "
          "instances in each cell will be mapped in batches of 50. If you have a large "
          "number of instances, consider specifying a custom value and run the "
          "command until it exits with 0 or 4.")
    @args("--verbose", action="store_true", dest="verbose", default=False,
          help="Provide verbose output during execution.")
    @args("--dry-run", action="store_true", dest="dry_run", default=False,
          help="Runs the command and prints output but does not commit any changes. "
          "The return code should be 4.")
    @args("--instance", metavar="<instance_uuid>", dest="instance_uuid",
          help="UUID of a specific instance to process. If specified --max-count has "
          "no effect. The --cell and --instance options are mutually exclusive.")
    @args("--skip-port-allocations", action="store_true", dest="skip_port_allocations",
          default=False, help="Skip the healing of the resource allocations of bound "
          "ports.")
    @args("--cell", metavar="<cell_uuid>", dest="cell_uuid",
          help="Heal allocations within a specific cell. The --cell and --instance "
          "options are mutually exclusive.")
    @args("--force", action="store_true", dest="force", default=False,
          help="Force heal allocations. Requires the --instance argument.")
    def heal_allocations(self, max_count: str | None = None, verbose: bool = False,
                         skip_port_allocations: bool = False, dry_run: bool = False,
                         instance_uuid: str | None = None, cell_uuid: str | None = None,
                         force: bool = False) -> int:
        """Heals instance allocations in the Placement service

        Return codes:

        * 0: Command completed successfully and allocations were created.
        * 1: --max-count was reached and there are more instances to process.
        * 2: Unable to find a compute node record for a given instance.
        * 3: Unable to create (or update) allocations for an instance against its
          compute node resource provider.
        * 4: Command completed successfully but no allocations were created.
        * 127: Invalid input.
        """
        from nova_tx.cmd.placement_heal import (
            ALLOCATION_FAILED,
            INVALID_INPUT,
            HealAllocations,
        )

        if cell_uuid and instance_uuid:
            print("The --cell and --instance options are mutually exclusive.")
            return INVALID_INPUT
        if force and not instance_uuid:
            print("The --instance flag is required when using --force flag.")
            return INVALID_INPUT
        limit = None
        if max_count is not None and not instance_uuid:
            try:
                limit = int(max_count)
            except ValueError:
                limit = -1
            if limit < 1:
                print("Must supply a positive integer for --max-count.")
                return INVALID_INPUT

        def output(message: str) -> None:
            if verbose:
                print(message)

        placement = self.placement or BlockingPlacement(self._ctx.conf)
        try:
            return HealAllocations(self._ctx.dbs, placement, output, dry_run=dry_run,
                                   force=force).run(limit, cell_uuid, instance_uuid)
        except PlacementUnavailable as e:
            print("Allocation retrieval failed: %s" % e)
            return ALLOCATION_FAILED

    @args("--verbose", action="store_true", dest="verbose", default=False,
          help="Provide verbose output during execution.")
    @args("--delete", action="store_true", dest="delete", default=False,
          help="Deletes orphaned allocations that were found.")
    @args("--resource_provider", "--resource-provider", metavar="<provider_uuid>",
          dest="provider_uuid", help="UUID of a specific resource provider to verify.")
    def audit(self, verbose: bool = False, delete: bool = False,
              provider_uuid: str | None = None) -> int:
        """Audits orphaned allocations that are no longer corresponding to existing
        instance resources. This command requires that the [api_database]/connection
        and [placement] configuration options are set.

        Return codes: 0 no orphaned allocations were found; 1 an unexpected error
        occurred; 3 orphaned allocations were found; 4 all found orphaned allocations
        were deleted; 127 invalid input.
        """
        from nova_tx.cmd.placement_heal import AUDIT_ERROR, Audit

        def output(message: str) -> None:
            if verbose:
                print(message)

        placement = self.placement or BlockingPlacement(self._ctx.conf)
        try:
            return Audit(self._ctx.dbs, placement, output).run(delete, provider_uuid)
        except PlacementUnavailable as e:
            print("An error occurred while working with the placement API: %s" % e)
            return AUDIT_ERROR

    def _rp_uuid_for_host(self, api_conn: sa.Connection, host: str) -> str:
        """The uuid of the host's only compute node (its provider's uuid)."""
        mapping = host_mappings.get_by_host(api_conn, host,
                                            base_urls=self._ctx.dbs.base_urls)
        with self._ctx.dbs.cell(mapping.cell_mapping).connect() as conn:
            nodes = compute_nodes.get_full_by_host(conn, host)
        if not nodes:
            raise exception.ComputeHostNotFound(host=host)
        if len(nodes) > 1:
            raise _Abort(TOO_MANY_COMPUTES,
                         "Unexpected number of compute node records (%d) found for host "
                         "%s. There should only be a one-to-one mapping."
                         % (len(nodes), host))
        return nodes[0].uuid


def _add_to_aggregate(placement: BlockingPlacement, host: str, rp_uuid: str,
                      agg_uuid: str) -> bool:
    """Add the provider to the aggregate (nothing to do when it is there); False when
    placement has no such provider. Conflicts are retried as the API's mirroring does.
    """
    from nova_tx.placement.aggregates_client import ATTEMPTS

    path = "/resource_providers/%s/aggregates" % rp_uuid
    for attempt in range(1, ATTEMPTS + 1):
        status, body, text = placement.request("GET", path)
        if status == 404:
            return False
        if status != 200 or not isinstance(body, dict):
            raise _Abort(PLACEMENT_ERROR,
                         "Failed to retrieve aggregates from placement API for resource "
                         "provider with UUID %s. Got %d: %s." % (rp_uuid, status, text))
        aggregates = set(body["aggregates"])
        if agg_uuid in aggregates:
            return True
        status, _body, text = placement.request("PUT", path, {
            "aggregates": sorted(aggregates | {agg_uuid}),
            "resource_provider_generation": body["resource_provider_generation"]})
        if status == 200:
            return True
        if status == 409 and attempt < ATTEMPTS:
            continue
        raise _Abort(UPDATE_FAILED,
                     "Failed updating provider aggregates for host (%s), provider (%s) "
                     "and aggregate (%s). Error: %s" % (host, rp_uuid, agg_uuid, text))
    raise AssertionError("unreachable")

