"""The image port (``api.IImageAPI``), its Glance v2 client and the embedded store."""
