"""The HTTP adapter: the shared client, the address policy and robots.txt (the only httpx user)."""
