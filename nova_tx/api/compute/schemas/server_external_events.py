"""Request schemas of ``POST /os-server-external-events`` (Nova Zed's): each
microversion adds the event names its services started to send."""
import copy

from nova_tx.compute.external_events import EVENT_STATUSES

create = {
    "type": "object",
    "properties": {
        "events": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "server_uuid": {"type": "string", "format": "uuid"},
                    "name": {
                        "type": "string",
                        "enum": ["network-changed", "network-vif-plugged",
                                 "network-vif-unplugged", "network-vif-deleted"],
                    },
                    "status": {"type": "string", "enum": list(EVENT_STATUSES)},
                    "tag": {"type": "string", "maxLength": 255},
                },
                "required": ["server_uuid", "name"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["events"],
    "additionalProperties": False,
}


def _adding(schema: dict, name: str) -> dict:
    new = copy.deepcopy(schema)
    new["properties"]["events"]["items"]["properties"]["name"]["enum"].append(name)
    return new


create_v251 = _adding(create, "volume-extended")
create_v276 = _adding(create_v251, "power-update")
create_v282 = _adding(create_v276, "accelerator-request-bound")
create_v293 = _adding(create_v282, "volume-reimaged")
