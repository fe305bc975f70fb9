"""Test doubles and helpers that are public API: a fake E2 node, capture helpers, a pytest plugin."""
