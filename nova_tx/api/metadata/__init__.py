"""nova-api-metadata: the metadata service for guests."""
