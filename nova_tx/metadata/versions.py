"""The dated versions of the two metadata trees (Nova's ``nova/api/metadata/base.py``)."""
from __future__ import annotations

#: EC2 versions, oldest first; ``latest`` is the last.
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
                "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04")

FOLSOM = "2012-08-10"
GRIZZLY = "2013-04-04"
HAVANA = "2013-10-17"
LIBERTY = "2015-10-15"
NEWTON_ONE = "2016-06-30"
NEWTON_TWO = "2016-10-06"
OCATA = "2017-02-22"
ROCKY = "2018-08-27"
VICTORIA = "2020-10-14"

OPENSTACK_VERSIONS = (FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA,
                      ROCKY, VICTORIA)

LATEST = "latest"


def at_least(required: str, version: str) -> bool:
    """Dates compare as strings; EC2's ``1.0`` sorts before every date."""
    return version >= required
