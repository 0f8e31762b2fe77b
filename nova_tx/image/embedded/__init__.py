"""The embedded image store: a Glance v2 API subset over SQL tables and files."""
