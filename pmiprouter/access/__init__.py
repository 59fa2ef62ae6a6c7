"""The access link of a MAG, as pure codecs: Neighbor Discovery (RS/RA) and DHCPv4.

No sockets here; the runtime sends and receives, these modules build and parse bytes.
"""
