"""The embedded Placement service: resource providers, inventories, allocations,
traits, aggregates and allocation candidates, with OpenStack Placement's REST API."""
