#!/usr/bin/env bash
# The project's one test command (README): installs what the tests need on a fresh
# machine, then runs every test. CI (.ci/run) calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser test drives Debian's Chromium through chromedriver; it never skips itself.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "installing chromium and chromium-driver for the browser test"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null
fi

cargo test --locked "$@"
