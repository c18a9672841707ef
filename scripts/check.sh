#!/usr/bin/env bash
# The one test command (README, CI): lint, format check, mypy --strict, the documentation
# site (a warning fails it), then every test.
# Tests that need Kafka start a real single-node broker themselves (or use
# STREAM_KAFKA_BOOTSTRAP). Extra arguments go to pytest, e.g. `-m "not kafka"`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
uv sync --all-packages --all-groups --frozen --quiet
uv run --frozen ruff check .
uv run --frozen ruff format --check .
uv run --frozen mypy
NO_MKDOCS_2_WARNING=1 uv run --frozen mkdocs build --strict --quiet --site-dir site
uv run --frozen pytest "$@"
