"""Configuration: YAML files -> validated frozen values (the only pydantic users)."""
