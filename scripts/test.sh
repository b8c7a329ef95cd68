#!/usr/bin/env bash
# Runs every test: unit tests, loopback RPC tests, the real executables end to
# end, and the Python client written from proto-spec/. Installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
bash scripts/check-deploy.sh
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The tests are XCTest; Swift Testing would only add a "0 tests" line.
status=0
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log" || status=$?
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
  total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
  failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
  echo "tests: $((total - failed)) passed, $failed failed"
fi
# What the README tells a new user, exactly: run-local.sh (a release build,
# about 4 minutes on 2 cores), cxctl demo, cxctl profiles list.
if [ "$#" -eq 0 ]; then
  bash scripts/check-local-run.sh || status=1
fi
exit "$status"
