"""The ``nova-api-metadata`` daemon: its service tree.

Issue by issue its children arrive here (RPC servers, periodic tasks, listeners); the
tree is what ``twistd nova-api-metadata``, the ``nova-api-metadata`` console script and the all-in-one run.
"""
from nova_tx.service import make_plain_service

make_service = make_plain_service("nova-api-metadata")
