#!/usr/bin/env bash
# Runs every test: unit tests, loopback RPC tests, the real executables end to
# end, and the Python client written from proto-spec/. Installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
swift build --build-tests
swift test --skip-build "$@"
