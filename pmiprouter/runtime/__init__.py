"""Twisted adapters: the only place with sockets, the reactor and threads (design.md)."""
