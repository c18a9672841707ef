"""How the harness starts the variants asked for by name (no broker needed to build a command)."""

from __future__ import annotations

from bench.launch import command_for


def test_the_observed_variant_runs_tracing_and_metrics_with_http() -> None:
    command = command_for("stream_observed", "127.0.0.1:9092")
    assert "bench.variants.stream_traced:ObservedService" in command.argv
    assert command.argv[-2:] == ("--http", "127.0.0.1:0")
    assert command.ready.search("INFO ObservedService started")
