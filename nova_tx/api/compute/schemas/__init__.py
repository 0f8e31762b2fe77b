"""Request schemas of the compute API, one module per resource (as Nova's
``nova/api/openstack/compute/schemas/``), built from ``nova_tx.api.validation.parameter_types``."""
