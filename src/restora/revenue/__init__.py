"""Revenue streams: land quotas, carbon sinks, surplus earth and stone, land rights, operations."""
