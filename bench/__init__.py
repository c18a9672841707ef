"""Benchmarks: the same Kafka job done by stream, FastStream and a raw aiokafka loop.

Run ``uv run python -m bench`` (full) or ``uv run python -m bench --quick`` (what CI runs).
See ``docs/bench/results.md`` for the last full run and ``bench/README.md`` for the method.
"""
