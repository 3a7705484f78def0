"""Adapters, one per outside thing: HTTP, the database, mail."""
