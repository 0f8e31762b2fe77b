"""twistd plugins of the nova-tx daemons: ``twistd -n nova-api --config-file ...``."""
from nova_tx.service import ServiceMaker

nova_api = ServiceMaker("nova-api", "OpenStack Compute API (nova-tx)")
nova_api_metadata = ServiceMaker("nova-api-metadata", "Metadata service for guests (nova-tx)")
nova_conductor = ServiceMaker("nova-conductor", "Conductor (nova-tx)")
nova_scheduler = ServiceMaker("nova-scheduler", "Scheduler (nova-tx)")
nova_compute = ServiceMaker("nova-compute", "Compute node (nova-tx)")
nova_allinone = ServiceMaker("nova-allinone", "Every nova-tx service in one process")
nova_tx_placement = ServiceMaker("nova-tx-placement", "Placement API (nova-tx, embedded)")
nova_tx_identity = ServiceMaker("nova-tx-identity", "Identity API (nova-tx, embedded)")
nova_tx_image = ServiceMaker("nova-tx-image", "Image store, a Glance v2 subset (nova-tx, embedded)")
nova_tx_network = ServiceMaker("nova-tx-network",
                               "Flat network service, a Neutron subset (nova-tx, embedded)")
