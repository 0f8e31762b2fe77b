"""nova-tx's version, and the Nova release and API range it is compatible with."""

version_string = "0.1.0"
#: The Nova release whose behaviour, options and schemas we follow.
nova_release = "26.0.0 (Zed)"
