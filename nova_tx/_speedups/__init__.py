"""Compiled kernels (built from the top-level ``_speedups/`` sources)."""
