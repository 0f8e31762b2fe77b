"""Placement's queries, one module per group of tables (Buildbot's connector layout).

Every function takes a ``sqlalchemy.Connection`` and works in the caller's
transaction, returning dataclasses of ``nova_tx.placement.objects``: the REST handlers
run them through the database thread pool (``pool.do(inventories.replace_all, ...)``),
so one request is one transaction.
"""
