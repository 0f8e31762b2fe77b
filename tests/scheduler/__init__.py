"""Tests of the scheduler (nova_tx.scheduler) and its request spec."""
