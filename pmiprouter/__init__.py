"""pmiprouter: a Proxy Mobile IPv6 router appliance (LMA and MAG)."""

__version__ = '0.1.0'
