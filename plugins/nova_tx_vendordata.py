"""The built-in vendordata providers, as plugins (``[api] vendordata_providers`` names)."""
from nova_tx.metadata.dynamic_vendordata import DynamicJSON as _DynamicJSON
from nova_tx.metadata.vendordata import StaticJSON as _StaticJSON

StaticJSON = _StaticJSON()
DynamicJSON = _DynamicJSON()
