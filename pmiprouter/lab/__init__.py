"""`pmiprouter lab`: a PMIPv6 network in network namespaces, for trying configs and the demo."""
