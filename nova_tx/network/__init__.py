"""The network port (``api.INetworkAPI``), its Neutron v2.0 client and the embedded
flat network service."""
