"""Tests of the metadata service, vendordata, passwords and config drives (issue 12)."""
