"""The message bus: transports (memory, AMQP), RPC, notifications."""
