"""Placement's REST API on Klein: the same URLs, microversions (1.0 to 1.39), bodies,
headers and error answers as OpenStack Placement."""
