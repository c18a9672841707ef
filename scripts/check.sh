#!/usr/bin/env bash
# The one test command (README, CI): install what the tests need when it is missing, then
# lint, format check, mypy --strict, the documentation site (a warning fails it), then
# every test.
# Tests that need Kafka start a real single-node broker themselves (or use
# STREAM_KAFKA_BOOTSTRAP). Extra arguments go to pytest, e.g. `-m "not kafka"`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages, installed only when their command is missing: headless Chromium renders
# the AsyncAPI page in its tests, and Node.js with npm runs the official AsyncAPI parser.
apt_install() {
  # apt_install [--no-install-recommends] PACKAGE...: as root, or with password-less sudo.
  # Returns 2 when it cannot run apt-get at all, 1 when apt-get failed.
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 2
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null 2>&1 || return 2
  if [[ -z ${apt_updated:-} ]]; then
    "${sudo[@]}" apt-get update -qq || return 1
    apt_updated=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need() {
  # need COMMAND WHY APT-ARGUMENT...: installs COMMAND's package when COMMAND is missing.
  local command=$1 why=$2 status=0
  shift 2
  command -v "$command" >/dev/null 2>&1 && return 0
  echo "check.sh: $command is missing ($why); installing it: apt-get install -y $*" >&2
  apt_install "$@" || status=$?
  command -v "$command" >/dev/null 2>&1 && return 0
  if [[ $status -eq 2 ]]; then
    echo "check.sh: cannot install $command here: that needs root (or sudo) and apt-get." >&2
  else
    echo "check.sh: apt-get did not install $command (see above)." >&2
  fi
  echo "check.sh: install it with \`sudo apt-get install -y $*\`; until then the" \
    "tests that need it fail." >&2
}

need chromium "the AsyncAPI page tests run it headless" chromium
# A Node.js from elsewhere (nodesource, nvm) brings its own npm: then only npm could be missing.
need node "the AsyncAPI parser tests run on it" --no-install-recommends nodejs npm
need npm "it installs the AsyncAPI parser from tests/asyncapi/parser" --no-install-recommends npm

# The AsyncAPI parser's packages, from the committed lock file: the first install is slow
# on a fresh machine, so it happens here rather than inside a test's timeout.
parser=tests/asyncapi/parser
if command -v npm >/dev/null 2>&1 && [[ ! -f $parser/node_modules/.package-lock.json ]]; then
  (cd "$parser" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
    echo "check.sh: npm ci in $parser failed; the AsyncAPI parser tests will fail" >&2
fi

command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
uv sync --all-packages --all-groups --frozen --quiet
uv run --frozen ruff check .
uv run --frozen ruff format --check .
uv run --frozen mypy
NO_MKDOCS_2_WARNING=1 uv run --frozen mkdocs build --strict --quiet --site-dir site
uv run --frozen pytest "$@"
