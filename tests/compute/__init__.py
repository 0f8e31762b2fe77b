"""Tests of the compute host: its manager and the conductor gateway it uses."""
