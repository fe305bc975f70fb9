"""A1: policies from the Non-RT RIC (OSC A1 mediator over RMR, or the standalone A1-P REST endpoint)."""
