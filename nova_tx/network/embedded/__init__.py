"""The embedded network service: a flat Neutron v2.0 API subset over its own tables."""
