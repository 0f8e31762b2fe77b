"""Service groups: services record themselves, heartbeat, and are judged up or down."""
