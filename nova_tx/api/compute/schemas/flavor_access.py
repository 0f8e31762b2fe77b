"""Request bodies of the ``addTenantAccess`` and ``removeTenantAccess`` actions."""


def _tenant_action(name: str) -> dict:
    return {
        "type": "object",
        "properties": {
            name: {
                "type": "object",
                "properties": {
                    "tenant": {"type": "string", "minLength": 1, "maxLength": 255},
                },
                "required": ["tenant"],
                "additionalProperties": False,
            },
        },
        "required": [name],
        "additionalProperties": False,
    }


add_tenant_access = _tenant_action("addTenantAccess")
remove_tenant_access = _tenant_action("removeTenantAccess")
