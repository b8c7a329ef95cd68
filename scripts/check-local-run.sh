#!/usr/bin/env bash
# Does what the README tells a new user, on this clone: start the platform with
# deploy/run-local.sh, fill it with `cxctl demo`, and find the demo customers in
# `cxctl profiles list`. It keeps its data, cxctl config and ports (27101-27104)
# to itself, so a platform already running here is left alone, and stops what it
# started however it ends.
#   scripts/check-local-run.sh        (CX_BUILD=debug uses a debug build instead)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d)
export CX_DATA_DIR="$work/data" XDG_CONFIG_HOME="$work/config"
unset CX_CONFIG CX_TOKEN
export CX_PROFILES_ADDR=127.0.0.1:27101 CX_LOYALTY_ADDR=127.0.0.1:27102 \
  CX_JOURNEY_ADDR=127.0.0.1:27103 CX_FEEDBACK_ADDR=127.0.0.1:27104
finish() {
  status=$?
  bash deploy/run-local.sh stop >/dev/null 2>&1 || true
  if [ $status -ne 0 ]; then
    for log in "$CX_DATA_DIR"/logs/*.log; do [ -f "$log" ] && { echo "--- $log"; tail -n 20 "$log"; }; done
  fi
  rm -rf "$work"
  exit $status
}
trap finish EXIT

started=$(date +%s)
bash deploy/run-local.sh >"$work/run.out" 2>&1 || { cat "$work/run.out"; exit 1; }
cxctl=$(sed -n 's/^cxctl is \([^;]*\);.*/\1/p' "$work/run.out")
[ -x "$cxctl" ] || { echo "check-local-run: run-local.sh did not say where cxctl is"; cat "$work/run.out"; exit 1; }

"$cxctl" demo --customers 120 >"$work/demo.out" 2>&1 || { cat "$work/demo.out"; exit 1; }
"$cxctl" profiles list --page-size 500 >"$work/list.out" 2>&1 || { cat "$work/list.out"; exit 1; }
customers=$(($(wc -l <"$work/list.out") - 1))
if [ "$customers" -lt 120 ]; then
  echo "check-local-run: cxctl profiles list shows $customers customers after cxctl demo --customers 120"
  cat "$work/demo.out" "$work/list.out"
  exit 1
fi
# Persian names made it through the whole path (demo -> wire -> store -> list).
if ! python3 -c 'import sys; sys.exit(not any("\u0600" <= c <= "\u06ff" for c in open(sys.argv[1], encoding="utf-8").read()))' "$work/list.out"; then
  echo "check-local-run: no Persian name in cxctl profiles list"
  exit 1
fi
# The services told each other everything (with the peer token): every
# outbox empties, nothing refused.
for _ in $(seq 1 60); do
  "$cxctl" outbox -o json >"$work/outbox.json" 2>&1 || { cat "$work/outbox.json"; exit 1; }
  if python3 -c 'import json, sys
services = json.load(open(sys.argv[1]))
sys.exit(any(d["pending"] or d["refused"] for s in services for d in s.get("destinations", [])))' "$work/outbox.json"; then
    break
  fi
  sleep 0.5
done
if ! python3 -c 'import json, sys
services = json.load(open(sys.argv[1]))
sys.exit(any(d["pending"] or d["refused"] for s in services for d in s.get("destinations", [])))' "$work/outbox.json"; then
  echo "check-local-run: the outboxes did not empty after cxctl demo:"
  "$cxctl" outbox --refused
  exit 1
fi
echo "check-local-run: run-local.sh, cxctl demo and cxctl profiles list: $customers customers in $(($(date +%s) - started)) s"
