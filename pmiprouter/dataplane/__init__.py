"""PMIPv6 data plane: one interface, three backends (kernel, userspace, memory)."""
