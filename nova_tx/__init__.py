"""nova-tx: OpenStack Compute (Nova) rebuilt on Twisted."""
