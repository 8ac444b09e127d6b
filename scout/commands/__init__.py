"""CLI command modules; each has ``register(group)``."""
