"""The demo: a stream service that adds one to every reading."""
