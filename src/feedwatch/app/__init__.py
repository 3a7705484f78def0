"""Application shells: they read the clock, open clients and processes, and call the core."""
