"""``nova-manage placement heal_allocations`` and ``placement audit`` (spec G §3.4).

``heal_allocations`` gives every instance of the (non-cell0) cells that is on a host,
is not in a task and has no allocations in placement the allocations its flavor asks
for (``ResourceRequest``: VCPU or PCPU, MEMORY_MB, DISK_GB and the flavor's
``resources:*``) against its compute node's provider; allocations whose project or
user is not the instance's (written before placement 1.8 without them) get the
instance's. ``audit`` looks at the allocations
of every provider (or one) and reports those whose consumer is neither an instance nor
a migration; ``--delete`` removes them.

Placement is reached with ``nova_tx.cmd.placement.BlockingPlacement`` (no reactor).
Port allocations (QoS ports) are not healed: nova-tx's networks report no port
resource requests, so the neutron steps (exit codes 5, 6, 7) never apply;
``--skip-port-allocations`` is accepted and changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa

from nova_tx import exception
from nova_tx.db.api import cell_mappings, instance_mappings
from nova_tx.db.main import compute_nodes, models
from nova_tx.db.main import instances as instances_db
from nova_tx.objects.cell_mapping import CellMapping
from nova_tx.objects.request_spec import RequestSpec
from nova_tx.scheduler.resource_request import ResourceRequest

#: heal_allocations' exit statuses (spec G).
HEALED, MAX_COUNT_REACHED, NO_COMPUTE_NODE, ALLOCATION_FAILED, NOTHING_HEALED = 0, 1, 2, 3, 4
INVALID_INPUT = 127
#: audit's.
AUDIT_CLEAN, AUDIT_ERROR, AUDIT_ORPHANS, AUDIT_DELETED = 0, 1, 3, 4

ALLOCATIONS_VERSION = "1.28"
BATCH = 50
#: The resource classes of a compute's own allocations (audit looks at no others).
COMPUTE_RESOURCES = frozenset({"VCPU", "PCPU", "MEMORY_MB", "DISK_GB"})


class _Stop(Exception):
    """Ends heal_allocations with a status and a message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def flavor_resources(instance: Any) -> dict[str, int]:
    """What the instance's flavor asks placement for (Nova's ``resources_from_flavor``)."""
    spec = RequestSpec(flavor=instance.flavor, instance_uuid=instance.uuid)
    resources = ResourceRequest.from_request_spec(spec).merged_resources()
    return {rc: int(amount) for rc, amount in resources.items() if amount}


class HealAllocations:
    def __init__(self, dbs: Any, placement: Any, output: Callable[[str], None], *,
                 dry_run: bool = False, force: bool = False):
        self.dbs = dbs
        self.placement = placement
        self.output = output
        self.dry_run = dry_run
        self.force = force

    def _cells(self, cell_uuid: str | None, instance_uuid: str | None) -> list[CellMapping]:
        with self.dbs.api().connect() as conn:
            if instance_uuid:
                try:
                    mapping = instance_mappings.get_by_instance_uuid(
                        conn, instance_uuid, base_urls=self.dbs.base_urls)
                except exception.NotFound:
                    mapping = None
                if mapping is None or mapping.cell_mapping is None:
                    raise _Stop(INVALID_INPUT, (
                        "Unable to find cell for instance %s, is it mapped? Try running "
                        "'nova-manage cell_v2 verify_instance' or 'nova-manage cell_v2 "
                        "map_instances'." % instance_uuid))
                return [mapping.cell_mapping]
            if cell_uuid:
                try:
                    return [cell_mappings.get_by_uuid(conn, cell_uuid,
                                                      base_urls=self.dbs.base_urls)]
                except exception.CellMappingNotFound:
                    raise _Stop(INVALID_INPUT,
                                "Cell with uuid %s was not found." % cell_uuid) from None
            return [c for c in cell_mappings.get_all(conn, base_urls=self.dbs.base_urls)
                    if not c.is_cell0]

    def _instances(self, conn: sa.Connection, instance_uuid: str | None) -> Iterator[Any]:
        if instance_uuid:
            yield instances_db.get(conn, instance_uuid, expected_attrs=["flavor"])
            return
        marker = None
        while True:
            batch = instances_db.get_all_by_filters_sort(
                conn, {"deleted": False}, limit=BATCH, marker=marker,
                sort_keys=["created_at", "id"], sort_dirs=["asc", "asc"],
                expected_attrs=["flavor"])
            yield from batch
            if len(batch) < BATCH:
                return
            marker = batch[-1].uuid

    def run(self, max_count: int | None, cell_uuid: str | None,
            instance_uuid: str | None) -> int:
        try:
            cells = self._cells(cell_uuid, instance_uuid)
        except _Stop as e:
            print(e)
            return e.status
        if not cells:
            self.output("No cells to process.")
            return NOTHING_HEALED
        healed = 0
        try:
            for cell in cells:
                self.output("Looking for instances in cell: %s(%s)"
                            % (cell.name, cell.uuid))
                with self.dbs.cell(cell).connect() as conn:
                    for instance in self._instances(conn, instance_uuid):
                        if max_count is not None and healed >= max_count:
                            self.output("Max count reached. Processed %d instances."
                                        % healed)
                            return MAX_COUNT_REACHED
                        if self._heal(conn, instance):
                            healed += 1
        except _Stop as e:
            print(e)
            return e.status
        except exception.InstanceNotFound as e:
            print(e.format_message())
            return INVALID_INPUT
        self.output("Processed %d instances." % healed)
        if self.dry_run:
            return NOTHING_HEALED
        return HEALED if healed else NOTHING_HEALED

    def _heal(self, conn: sa.Connection, instance: Any) -> bool:
        if instance.task_state is not None:
            self.output("Instance %s is undergoing a task state transition: %s"
                        % (instance.uuid, instance.task_state))
            return False
        if instance.node is None:
            self.output("Instance %s is not on a host." % instance.uuid)
            return False
        status, body, text = self.placement.request(
            "GET", "/allocations/%s" % instance.uuid, version=ALLOCATIONS_VERSION)
        if status != 200 or not isinstance(body, dict):
            raise _Stop(ALLOCATION_FAILED, "Allocation retrieval failed for instance %s: "
                        "%s" % (instance.uuid, text))
        allocations = body.get("allocations") or {}
        if allocations and not self.force:
            if (body.get("project_id"), body.get("user_id")) == (instance.project_id,
                                                                  instance.user_id):
                self.output("Instance %s already has allocations." % instance.uuid)
                return False
            # Written before placement 1.8 (placement filled in its incomplete
            # consumer project and user): the instance's are set, nothing else.
            payload = {"allocations": {rp: {"resources": a["resources"]}
                                       for rp, a in allocations.items()},
                       "project_id": instance.project_id, "user_id": instance.user_id,
                       "consumer_generation": body.get("consumer_generation")}
            return self._put(instance, payload, "Successfully updated allocations")
        node_uuid = self._node_uuid(conn, instance)
        payload = {"allocations": {node_uuid: {"resources": flavor_resources(instance)}},
                   "project_id": instance.project_id, "user_id": instance.user_id,
                   "consumer_generation": body.get("consumer_generation")}
        return self._put(instance, payload, "Successfully created allocations")

    def _node_uuid(self, conn: sa.Connection, instance: Any) -> str:
        for node in compute_nodes.get_full_by_host(conn, instance.host):
            if node.hypervisor_hostname == instance.node:
                return node.uuid
        raise _Stop(NO_COMPUTE_NODE, (
            "Unable to find matching compute_nodes record for instance %s: host %s, "
            "node %s." % (instance.uuid, instance.host, instance.node)))

    def _put(self, instance: Any, payload: dict[str, Any], done: str) -> bool:
        if self.dry_run:
            self.output("[dry-run] Update allocations for instance %s: %s"
                        % (instance.uuid, payload["allocations"]))
            return True
        status, _body, text = self.placement.request(
            "PUT", "/allocations/%s" % instance.uuid, payload, version=ALLOCATIONS_VERSION)
        if status != 204:
            raise _Stop(ALLOCATION_FAILED, (
                "Failed to create allocations for instance %s. Error: %s"
                % (instance.uuid, text)))
        self.output("%s for instance %s: %s" % (done, instance.uuid,
                                                payload["allocations"]))
        return True


class Audit:
    def __init__(self, dbs: Any, placement: Any, output: Callable[[str], None]):
        self.dbs = dbs
        self.placement = placement
        self.output = output
        self._cells: list[CellMapping] | None = None

    def run(self, delete: bool, provider_uuid: str | None) -> int:
        if provider_uuid:
            status, body, text = self.placement.request(
                "GET", "/resource_providers/%s" % provider_uuid, version="1.14")
            if status == 404:
                print("Resource provider with UUID %s does not exist." % provider_uuid)
                return INVALID_INPUT
            if status != 200:
                print("Unable to get resource provider %s: %s" % (provider_uuid, text))
                return AUDIT_ERROR
            providers = [body]
        else:
            status, body, text = self.placement.request("GET", "/resource_providers",
                                                        version="1.14")
            if status != 200:
                print("Unable to get resource providers: %s" % text)
                return AUDIT_ERROR
            providers = body["resource_providers"]
        orphans = deleted = 0
        for provider in providers:
            rp_uuid = provider["uuid"]
            status, body, text = self.placement.request(
                "GET", "/resource_providers/%s/allocations" % rp_uuid, version="1.14")
            if status != 200:
                print("Unable to get allocations of resource provider %s: %s"
                      % (rp_uuid, text))
                return AUDIT_ERROR
            for consumer, allocation in sorted(body["allocations"].items()):
                if not COMPUTE_RESOURCES & set(allocation["resources"]):
                    continue
                if not self._is_orphan(consumer):
                    continue
                orphans += 1
                print("Allocations were set against consumer UUID %s but no existing "
                      "instances or active migrations are related." % consumer)
                if not delete:
                    continue
                if not self._delete(consumer, rp_uuid):
                    return AUDIT_ERROR
                deleted += 1
                print("Deleted allocations for consumer UUID %s on Resource Provider %s: "
                      "%s" % (consumer, rp_uuid, allocation["resources"]))
            self.output("Processed resource provider %s." % rp_uuid)
        if not orphans:
            self.output("No orphaned allocations found.")
            return AUDIT_CLEAN
        return AUDIT_DELETED if deleted == orphans else AUDIT_ORPHANS

    def _all_cells(self) -> list[CellMapping]:
        if self._cells is None:
            with self.dbs.api().connect() as conn:
                self._cells = cell_mappings.get_all(conn, base_urls=self.dbs.base_urls)
        return self._cells

    def _is_orphan(self, consumer: str) -> bool:
        """Neither a live instance (through its mapping) nor a migration of a cell."""
        with self.dbs.api().connect() as conn:
            try:
                mapping = instance_mappings.get_by_instance_uuid(
                    conn, consumer, base_urls=self.dbs.base_urls)
            except exception.NotFound:
                mapping = None
        if mapping is not None and mapping.cell_mapping is not None:
            with self.dbs.cell(mapping.cell_mapping).connect() as conn:
                try:
                    instances_db.get(conn, consumer)
                    return False
                except exception.InstanceNotFound:
                    pass
        migrations = models.Migration.__table__
        for cell in self._all_cells():
            with self.dbs.cell(cell).connect() as conn:
                found = conn.execute(sa.select(migrations.c.id).where(
                    migrations.c.uuid == consumer).where(migrations.c.deleted == 0)
                ).first()
            if found is not None:
                return False
        return True

    def _delete(self, consumer: str, rp_uuid: str) -> bool:
        """Remove the consumer's allocations against this provider only."""
        status, body, text = self.placement.request(
            "GET", "/allocations/%s" % consumer, version=ALLOCATIONS_VERSION)
        if status != 200:
            print("Unable to get allocations of consumer %s: %s" % (consumer, text))
            return False
        allocations = body.get("allocations") or {}
        rest = {rp: {"resources": a["resources"]} for rp, a in allocations.items()
                if rp != rp_uuid}
        if rest:
            status, _body, text = self.placement.request(
                "PUT", "/allocations/%s" % consumer,
                {"allocations": rest, "project_id": body.get("project_id"),
                 "user_id": body.get("user_id"),
                 "consumer_generation": body.get("consumer_generation")},
                version=ALLOCATIONS_VERSION)
        else:
            status, _body, text = self.placement.request(
                "DELETE", "/allocations/%s" % consumer, version=ALLOCATIONS_VERSION)
        if status != 204:
            print("Failed to delete allocations for consumer UUID %s on Resource "
                  "Provider %s: %s" % (consumer, rp_uuid, text))
            return False
        return True
