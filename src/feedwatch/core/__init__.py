"""The pure core: bytes and values in, values out. No network, database, clock or SMTP."""
