"""Transports: one protocol, several wires (native RMR, librmr, gRPC E2 relay, in-memory, replay)."""

from ricsdk.transport.base import Message, Transport, TransportStats

__all__ = ["Message", "Transport", "TransportStats"]
