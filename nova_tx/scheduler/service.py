"""The ``nova-scheduler`` daemon: its service tree.

Issue by issue its children arrive here (RPC servers, periodic tasks, listeners); the
tree is what ``twistd nova-scheduler``, the ``nova-scheduler`` console script and the all-in-one run.
"""
from nova_tx.service import make_plain_service

make_service = make_plain_service("nova-scheduler")
