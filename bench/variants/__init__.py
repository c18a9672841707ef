"""The three implementations of the benchmark job, each run as its own process.

Every variant reads its settings from ``BENCH_*`` environment variables (see
:mod:`bench.variants.common`), so the harness starts them all the same way.
"""
