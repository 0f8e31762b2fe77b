"""nova-scheduler: host selection for select_destinations."""
