#!/usr/bin/env bash
# Runs the CX platform on this machine: builds the services (release), starts
# each on 127.0.0.1 with its data under ./data and its log in ./data/logs, and
# prints where they are.
#   deploy/run-local.sh          build and start (restarts what is running)
#   deploy/run-local.sh stop     stop them (SIGTERM: accepted calls finish)
#   deploy/run-local.sh status   cxctl health all
# Environment: CX_DATA_DIR (default ./data), CX_BUILD (release or debug).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data=${CX_DATA_DIR:-$root/data}
config=${CX_BUILD:-release}
services=(profiles loyalty journey feedback)
run="$data/run"

stop() {
  local stopped=0
  for s in "${services[@]}"; do
    pidfile="$run/$s.pid"
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      stopped=$((stopped + 1))
    fi
    rm -f "$pidfile"
  done
  echo "stopped $stopped service(s)"
}

case "${1:-start}" in
  stop) stop; exit 0 ;;
  status) exec "$(swift build -c "$config" --show-bin-path)/cxctl" health all ;;
  start) ;;
  *) echo "usage: deploy/run-local.sh [start|stop|status]" >&2; exit 64 ;;
esac

bash scripts/install-deps.sh
echo "building ($config; the first build takes several minutes)..."
swift build -c "$config" >/dev/null
bin=$(swift build -c "$config" --show-bin-path)

[ -d "$run" ] && stop >/dev/null
mkdir -p "$data/logs" "$run"
port=7101
for s in "${services[@]}"; do
  var="CX_$(echo "$s" | tr a-z A-Z)_ADDR"
  addr=${!var:-127.0.0.1:$port}
  rm -f "$run/$s.addr"
  nohup "$bin/cx-$s" --listen "$addr" --data-dir "$data" --address-file "$run/$s.addr" \
    >>"$data/logs/$s.log" 2>&1 &
  echo $! >"$run/$s.pid"
  port=$((port + 1))
done
for s in "${services[@]}"; do
  for _ in $(seq 1 100); do [ -s "$run/$s.addr" ] && break; sleep 0.1; done
  if [ ! -s "$run/$s.addr" ]; then
    echo "cx-$s did not start; its log:" >&2
    tail -n 20 "$data/logs/$s.log" >&2
    exit 1
  fi
done

echo
for s in "${services[@]}"; do printf '  %-9s %s   log: %s\n' "$s" "$(cat "$run/$s.addr")" "$data/logs/$s.log"; done
echo
"$bin/cxctl" health all || true
echo
echo "cxctl is $bin/cxctl. Stop with: deploy/run-local.sh stop"
