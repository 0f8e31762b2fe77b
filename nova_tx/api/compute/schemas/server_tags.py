"""Body schemas of ``/servers/{id}/tags`` (Nova Zed's, 2.26)."""
from nova_tx.api.validation import parameter_types

#: Nova's limit of tags per server.
MAX_TAG_COUNT = 50

update_all = {
    "type": "object",
    "properties": {
        "tags": {"type": "array", "items": parameter_types.tag, "maxItems": MAX_TAG_COUNT},
    },
    "required": ["tags"],
    "additionalProperties": False,
}
