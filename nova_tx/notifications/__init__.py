"""Nova's versioned notifications: payload objects in their wire form
(``nova_object.name/namespace/version/data``), sent through ``nova_tx.bus.notifier``."""
