"""Tests of the embedded Placement service (nova_tx.placement)."""
