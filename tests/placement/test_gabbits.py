"""Placement's own gabbi files against nova-tx's embedded Placement.

The same files and fixtures pass against the real OpenStack Placement
(``test_gabbits_real``), so what they check is Placement's behaviour. Files and
requests left out are in ``gabbi_runner.EXCLUDED`` / ``SKIPPED_STEPS`` and
``docs/placement-gabbits.md``.
"""
from tests.placement import api_fixture, gabbi_runner


class OurPlacementGabbits(gabbi_runner.gabbi_testcase(api_fixture.fresh_placement)):
    """One test per gabbi file, run against our Placement in this reactor."""
