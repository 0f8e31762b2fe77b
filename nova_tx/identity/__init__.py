"""The embedded identity service: a Keystone v3 subset for the all-in-one.

``api.IdentityAPI`` serves it (Klein), ``service.make_service`` is the
``nova-tx-identity`` daemon, ``clouds.write_clouds_yaml`` writes the clients'
``clouds.yaml``. Users, projects and roles come from ``[embedded] identity_users``.
"""
