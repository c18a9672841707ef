"""The ``stream`` command: run, develop, publish to and document stream services.

The entry point is :func:`stream.cli.main.main`; the commands live in
:mod:`stream.cli._app`. Nothing is imported here, so the command starts fast.
"""

__all__ = ()
