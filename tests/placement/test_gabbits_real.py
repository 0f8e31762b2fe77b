"""Placement's own gabbi files against the real OpenStack Placement.

They must pass here, against ``openstack-placement`` itself (started by
:mod:`tests.placement.real_placement`), before they can say anything about ours: this
proves that the fixtures of :mod:`tests.placement.gabbi_fixtures` are equivalent to
upstream's. Files left out are in ``gabbi_runner.EXCLUDED``.
"""
from twisted.internet import threads

from tests.placement import gabbi_runner, real_placement


def fresh_real_placement(testcase, config: str):
    # The servers outlive the test (they stop at exit); starting one takes a second,
    # off the reactor thread.
    return threads.deferToThread(real_placement.fresh_url, config)


class RealPlacementGabbits(gabbi_runner.gabbi_testcase(
        fresh_real_placement, require=real_placement.require_real_placement)):
    """One test per gabbi file, run against the real Placement."""
