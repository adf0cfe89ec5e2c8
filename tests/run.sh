#!/usr/bin/env bash
# The project's one test command (README): installs what the tests need on a fresh
# machine, then runs every test. CI (.ci/run) calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked "$@"
