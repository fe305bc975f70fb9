"""E2 traces: capture formats (sans-I/O), recording and replay."""
