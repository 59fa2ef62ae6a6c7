"""PMIPv6 protocol logic (pure: no clock, no sockets, no Twisted).

Engines take events and `now` (seconds) and return actions; see design.md "The core".
"""
