#!/usr/bin/env bash
# The main job: the demo service on a local Apache Kafka broker. `stream dev` starts the
# broker itself when none answers on localhost:9092 (first run downloads it with Maven).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
uv sync --all-packages --frozen --quiet
exec uv run --frozen stream dev demo.app:Service "$@"
