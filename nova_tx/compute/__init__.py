"""nova-compute: one hypervisor host and its instances."""
