"""The seed's example, as a runnable stream service."""
